"""URL canonicalisation: one canonical URL (and so one article id) for every variant of an article's address."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from courlan import normalize_url, scrub_url
from tld import get_fld

from newsmon.core.errors import UserError

# Query parameters that only say how a reader arrived (campaigns, click ids, share buttons) or which
# rendering they got. courlan already drops the common trackers (utm_*, fbclid, gclid, *_source …);
# these are the ones it keeps that news sites in our feeds use.
_TRACKING_PARAMS = frozenset(
    {
        "amp", "amp_js_v", "amp_gsa", "usqp", "outputtype", "output", "print", "printable", "view",
        "share", "shared", "sh", "smid", "cmpid", "cmp", "ocid", "at_medium", "at_campaign", "at_link_id",
        "at_link_origin", "at_link_type", "at_ptr_name", "at_format", "at_bbc_team", "ito", "spm", "ncid",
        "rss", "from", "feature", "mod", "src", "ns_mchannel", "ns_campaign", "ns_source", "ns_linkname",
        "ns_fee", "r", "rm", "_hsenc", "_hsmi", "hsctatracking", "trk", "trkcampaign", "sr_share",
        "mbid", "cid", "ftag", "taid", "tpcc", "s_cid", "soc_src", "soc_trk", "wt_mc", "wt.mc_id",
        "yclid", "ysclid", "_openstat", "rb_clickid", "sub_rt", "ref_src", "ref_url", "fr", "page_from",
        "fbclid", "igshid", "mc_cid", "mc_eid", "dicbo", "__twitter_impression", "d_id", "tblci",
        "mibextid", "s", "twclid", "xtor", "_ga", "_gl", "custom_click",
    }
)
# Of those, parameter values that select a variant rendering (?view=print, ?output=amp) are only
# dropped for these values, because `view`/`output`/`from` can carry meaning on some sites.
_VARIANT_VALUED_PARAMS = {
    "view": {"print", "amp", "mobile", "full", "article"},
    "output": {"print", "amp"},
    "outputtype": {"amp", "print"},
    "from": {"rss", "feed", "telegram", "twitter", "facebook", "fb", "tg", "vk", "push", "main", "home", "newsletter"},
    "mod": {"rss", "amp"},
    "src": {"rss", "feed", "amp", "telegram", "twitter", "facebook"},
    "fr": {"rss", "feed"},
    "r": {"rss", "feed"},
    "s": {"rss", "feed", "tw", "fb"},
    "feature": {"share", "rss", "shared"},
}
# Host labels that only select a rendering of the same site (mobile, AMP, print) and can be stripped
# when what remains is still the registered domain or a subdomain of it.
_VARIANT_HOST_LABELS = frozenset({"www", "www1", "www2", "ww2", "m", "mobile", "mobil", "amp", "touch", "pda", "print"})
# Path segments and suffixes that select a rendering of the same article.
_VARIANT_SEGMENTS = frozenset({"amp", "amp.html", "print", "print.html", "printable", "index.html", "index.htm", "index.php", "index.shtml"})
_VARIANT_SUFFIX_RE = re.compile(r"(?:[./-]amp|\.amp\.html?|[./-]print(?:able)?)$", re.I)
# Google's and Bing's AMP caches serve https://example.com/a as https://example-com.cdn.ampproject.org/c/s/example.com/a
_AMP_CACHE_RE = re.compile(r"^/(?:[a-z]/)*(?:(s)/)?(?P<rest>[^/]+\..+)$", re.I)


class UrlError(UserError, ValueError):
    """A string that is not an http(s) URL with a host; the caller counts the item as skipped."""


def _split(url: str) -> SplitResult:
    cleaned = scrub_url(url.strip())
    parts = urlsplit(cleaned)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise UrlError(f"not an http(s) URL with a host: {url!r}; check the feed entry link or page URL")
    return parts


def _unwrap_amp_cache(parts: SplitResult) -> SplitResult:
    host = (parts.hostname or "").lower()
    if not (host.endswith(".cdn.ampproject.org") or host.endswith(".bing-amp.com")):
        return parts
    match = _AMP_CACHE_RE.match(parts.path)
    if not match:
        return parts
    scheme = "https" if match.group(1) else "http"
    return urlsplit(f"{scheme}://{match.group('rest')}" + (f"?{parts.query}" if parts.query else ""))


@lru_cache(maxsize=4096)
def _registered_domain(host: str) -> str:
    # Cached: every article URL asks this two to four times, of a few hundred hosts, and tld parses the host as a
    # URL each time.
    fld = get_fld(host, fix_protocol=True, fail_silently=True)
    return (fld or host).lower()


def same_site(url_a: str, url_b: str) -> bool:
    """True when both URLs are on one registered domain (feed.delfi.lt and www.delfi.lt are one site)."""
    host_a, host_b = urlsplit(url_a).hostname, urlsplit(url_b).hostname
    if not host_a or not host_b:
        return False
    return _registered_domain(host_a) == _registered_domain(host_b)


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    registered = _registered_domain(host)
    labels = host.split(".")
    # Strip variant labels from the left only while something beyond the registered domain's own
    # labels remains, so `m.lt` or `www.example` stays intact.
    while len(labels) > len(registered.split(".")) and labels[0] in _VARIANT_HOST_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def _canonical_path(path: str) -> str:
    # Decode then re-encode so `%C5%A0` and `Š` give one id; normalise empty and trailing slashes.
    path = unquote(path)
    segments = [segment for segment in path.split("/") if segment]
    segments = [segment for segment in segments if segment.lower() not in _VARIANT_SEGMENTS]
    # Some CMSs prefix the AMP view's handler: /amp_articleshow/123.cms is /articleshow/123.cms.
    segments = [segment[4:] if segment.lower().startswith("amp_") and len(segment) > 4 else segment for segment in segments]
    if segments:
        last = _VARIANT_SUFFIX_RE.sub("", segments[-1])
        segments[-1] = last
        segments = [segment for segment in segments if segment]
    return "/" + "/".join(segments)


def _canonical_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        lowered = key.lower()
        if lowered.startswith(("utm_", "at_", "ns_", "pk_", "mtm_", "itm_", "ga_", "fb_", "hsa_", "oly_", "vero_")):
            continue
        if lowered in _VARIANT_VALUED_PARAMS:
            if value.lower() in _VARIANT_VALUED_PARAMS[lowered] or (lowered in {"print", "amp"} and value == ""):
                continue
            kept.append((key, value))
            continue
        if lowered in _TRACKING_PARAMS:
            continue
        kept.append((key, value))
    return urlencode(sorted(kept))


def canonical_url(url: str, *, page_canonical: str | None = None) -> str:
    """The normalised URL of an article: https, no tracking parameters, no fragment, no www/m/amp/print variants.

    `page_canonical` (the page's rel=canonical or og:url) wins only when it is trustworthy: an http(s)
    URL on the same registered domain that is neither the home page nor a section page above the
    article (some CMSs point every article's canonical at the front page).
    """
    own = _normalise(url)
    if page_canonical:
        try:
            declared = _normalise(page_canonical)
        except UrlError:
            return own
        if _trustworthy(declared, own):
            return declared
    return own


def _normalise(url: str) -> str:
    parts = _unwrap_amp_cache(_split(url))
    # courlan lower-cases scheme and host, drops default ports, decodes punycode and removes the
    # common trackers; the rest is ours.
    normalised = urlsplit(normalize_url(parts, strict=False, trailing_slash=False))
    host = _canonical_host(normalised.hostname or "")
    if normalised.port and normalised.port not in (80, 443):
        host = f"{host}:{normalised.port}"
    path = _canonical_path(normalised.path)
    query = _canonical_query(normalised.query)
    # https and http serve one article; fragments never select a different article except hashbang routes.
    fragment = normalised.fragment if normalised.fragment.startswith("!") else ""
    return urlunsplit(("https", host, _quote_path(path), query, fragment))


def _quote_path(path: str) -> str:
    return quote(path, safe="/:@!$&'()*+,;=-._~%")


def _trustworthy(declared: str, own: str) -> bool:
    declared_parts, own_parts = urlsplit(declared), urlsplit(own)
    if _registered_domain(declared_parts.hostname or "") != _registered_domain(own_parts.hostname or ""):
        return False
    declared_segments = [s for s in declared_parts.path.split("/") if s]
    own_segments = [s for s in own_parts.path.split("/") if s]
    if not declared_segments and not declared_parts.query:
        return False  # the home page
    # A canonical that is a strict ancestor of the article's own path is a section page, not the article.
    return not (len(declared_segments) < len(own_segments) and own_segments[: len(declared_segments)] == declared_segments and not declared_parts.query)


def article_id(canonical_url: str) -> str:
    """Deterministic 32-hex-digit id of an article: the first 128 bits of SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]
