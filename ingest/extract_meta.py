"""Article metadata that publishers state explicitly: JSON-LD NewsArticle, og:/article: meta, itemprop, <time>."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from dateutil import parser as dateparser
from lxml.html import HtmlElement

from newsmon.core.text import clean_title

# schema.org types whose datePublished/author describe the article itself (not the site or a video).
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "liveblogposting",
        "socialmediaposting",
        "report",
        "scholarlyarticle",
        "techarticle",
    }
)
# Earliest plausible date for a web news article; anything older is a parsing accident.
MIN_PUBLISHED_AT = datetime(1995, 1, 1, tzinfo=UTC)
# Clock skew and publishers' time-zone mistakes put honest dates a few hours in the future.
MAX_FUTURE_SKEW = timedelta(days=1)
# A date written without a zone is read as UTC but marked with this tzinfo (compare with `is`), so the
# publisher's day is never shifted as if UTC had been stated.
UNZONED = timezone(timedelta(0), "UTC (no zone stated)")

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "og:published_time",
    "published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
    "article.published",
    "cxenseparse:recs:publishtime",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "article:modified",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
    "lastmod",
)
# Zone abbreviations that the monitored outlets print; dateutil knows none of them without help.
_ZONE_OFFSETS_S = {
    "UTC": 0, "GMT": 0, "WET": 0, "WEST": 3600, "BST": 3600, "CET": 3600, "CEST": 7200,
    "EET": 7200, "EEST": 10800, "MSK": 10800, "EST": -18000, "EDT": -14400, "CST": -21600,
    "CDT": -18000, "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
}
_FULL_ISO_DAY_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:$|[T ])")
_NUMERIC_DATE_RE = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2\d{2,4}\b")
_YEAR_ONLY_RE = re.compile(r"^\d{4}(?:-\d{1,2})?$")
_JSON_GARBAGE_RE = re.compile(r"^\s*(?:<!--|<!\[CDATA\[|//\s*<!\[CDATA\[)|(?:-->|\]\]>|//\s*\]\]>)\s*$")
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_URLISH_RE = re.compile(r"^(?:https?:)?//|^www\.", re.IGNORECASE)
_LANG_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


@dataclass
class PageMeta:
    """Metadata the page states about itself; every field None/empty when the page does not say."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None  # in the publisher's own offset; callers convert to UTC
    published_source: str | None = None
    modified_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image: str | None = None
    description: str | None = None
    found: list[str] = field(default_factory=list)


def parse_datetime(value: object, *, now: datetime | None = None) -> datetime | None:
    """Parse a publisher's date string to aware UTC; None when it is not a plausible publication date.

    A date without a zone is read as UTC (keeps the publisher's calendar day, which is what readers see).
    """
    parsed = parse_local_datetime(value, now=now)
    return parsed.astimezone(UTC) if parsed is not None else None


def parse_local_datetime(value: object, *, now: datetime | None = None) -> datetime | None:
    """Like parse_datetime but keeps the publisher's own UTC offset (its calendar day is the one readers saw).

    Without a stated zone the result carries UNZONED: the written day is kept as the publisher's day.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64 or not any(ch.isdigit() for ch in text):
        return None
    parsed: datetime | None = None
    if _YEAR_ONLY_RE.match(text):
        return None  # "2024" or "2024-06": no day, and a day would be invented
    try:
        if not _FULL_ISO_DAY_RE.match(text):
            raise ValueError("not a full ISO calendar date")
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        try:
            if not _FULL_ISO_DAY_RE.match(text):
                raise ValueError("not a full ISO calendar date")
            parsed = dateparser.isoparse(text)
        except (ValueError, OverflowError):
            try:
                # Free-form dates ("Tue, 03 Jun 2025 10:00:00 +0200"). dateutil fills missing parts from
                # `default`, so parse with two different defaults: if the day changes, the text had no day.
                numeric = _NUMERIC_DATE_RE.match(text)
                dayfirst = bool(numeric and numeric.group(2) == ".")  # 03.06.2024 is 3 June everywhere it is used
                if numeric and not dayfirst and numeric.group(1) != numeric.group(3) and max(
                    int(numeric.group(1)), int(numeric.group(3))
                ) <= 12:
                    return None  # 03/06/2024: March or June depends on the country, so we do not guess
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
                    parsed = dateparser.parse(
                        text, default=datetime(2001, 1, 1), tzinfos=_ZONE_OFFSETS_S, dayfirst=dayfirst
                    )
                    probe = dateparser.parse(
                        text, default=datetime(2002, 2, 2), tzinfos=_ZONE_OFFSETS_S, dayfirst=dayfirst
                    )
                if parsed.date() != probe.date():
                    return None
            except (ValueError, OverflowError, TypeError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UNZONED)
    try:
        in_utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    limit = (now or datetime.now(UTC)) + MAX_FUTURE_SKEW
    if not MIN_PUBLISHED_AT <= in_utc <= limit:
        return None
    return parsed


def normalise_language(value: object) -> str | None:
    """'lt-LT', 'ru_RU', 'en' → 'lt', 'ru', 'en'; None for anything that is not a language tag."""
    if not isinstance(value, str):
        return None
    match = _LANG_RE.match(value.strip())
    if not match:
        return None
    code = match.group(1).lower()
    return code if code not in {"und", "mul", "zxx", "xx"} else None


def _clean(value: object) -> str | None:
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return None


def _load_json_ld(raw: str) -> object | None:
    raw = _CONTROL_CHARS_RE.sub(" ", raw)
    lines = [line for line in raw.strip().splitlines() if not _JSON_GARBAGE_RE.fullmatch(line.strip())]
    text = "\n".join(lines).strip().rstrip(";")
    if not text:
        return None
    try:
        return json.loads(text, strict=False)
    except ValueError:
        # Some CMSs concatenate several objects or leave a trailing comma; take the first complete value.
        try:
            value, _ = json.JSONDecoder(strict=False).raw_decode(text)
        except ValueError:
            return None
        return value


def _walk_json_ld(node: object, depth: int = 0) -> Iterator[dict]:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_json_ld(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in node:
                yield from _walk_json_ld(node[key], depth + 1)


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1].lower() for k in kinds if isinstance(k, str)}


def _person_names(value: object) -> list[str]:
    names: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, list):
            names.extend(n for n in (_clean(x) for x in name) if n)
            continue
        text = _clean(name)
        if text and not _URLISH_RE.match(text) and len(text) < 100:
            names.append(text)
    return names


_AUTHOR_SPLIT_RE = re.compile(r"\s*[;,|/]\s*|\s+(?:and|und|og|ir|и|i|et|y|e|&)\s+")
_INITIALS_RE = re.compile(r"\s*\((?:[\w.]{1,5})\)\s*$")


def clean_authors(names: Iterable[str]) -> tuple[str, ...]:
    """One name per entry: split "A und B, C", drop bracketed initials, e-mail addresses, URLs and bare numbers.

    An outlet credited as author ("ORF.at", "dpa") stays: that is what the page says about who wrote it.
    """
    out: list[str] = []
    for raw in names:
        for part in _AUTHOR_SPLIT_RE.split(raw):
            name = _INITIALS_RE.sub("", " ".join(part.split())).strip(" -–")
            if (
                len(name) < 2
                or len(name) > 80
                or not any(ch.isalpha() for ch in name)
                or "@" in name
                or _URLISH_RE.match(name)
            ):
                continue
            out.append(name)
    return tuple(dict.fromkeys(out))


def _image_url(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return _clean(value)


def _url_of(node: dict) -> str | None:
    for key in ("url", "@id", "mainEntityOfPage"):
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str):
            return value
    return None


def _same_page(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False

    def key(u: str) -> str:
        return re.sub(r"^https?://(www\.)?", "", u.split("#")[0].split("?")[0]).rstrip("/").lower()

    return key(a) == key(b)


def _pick_article(tree: HtmlElement, url: str | None) -> dict | None:
    articles: list[dict] = []
    for script in tree.iterfind(".//script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        data = _load_json_ld(script.text or "")
        if data is None:
            continue
        articles.extend(node for node in _walk_json_ld(data) if _types(node) & ARTICLE_TYPES)
    if not articles:
        return None
    # Pages list related stories as Article objects too: the one naming this URL wins, else the first.
    for node in articles:
        if _same_page(_url_of(node), url):
            return node
    return articles[0]


def _meta_values(tree: HtmlElement) -> dict[str, str]:
    values: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "").strip().lower()
        content = meta.get("content")
        if key and content and key not in values:
            values[key] = content.strip()
    return values


def _itemprop_date(tree: HtmlElement, prop: str) -> str | None:
    for node in tree.xpath(f'.//*[@itemprop="{prop}"]'):
        value = node.get("datetime") or node.get("content")
        if value:
            return value
    return None


def read_page_meta(tree: HtmlElement, url: str | None, *, now: datetime | None = None) -> PageMeta:
    """Collect what the page declares about itself, preferring JSON-LD, then og:/article: meta, then markup."""
    meta = PageMeta()
    article = _pick_article(tree, url)
    tags = _meta_values(tree)

    if article is not None:
        meta.found.append("json-ld")
        meta.title = _clean(article.get("headline")) or _clean(article.get("name"))
        meta.authors = tuple(dict.fromkeys(_person_names(article.get("author") or article.get("creator"))))
        meta.published_at = parse_local_datetime(article.get("datePublished"), now=now) or parse_local_datetime(
            article.get("dateCreated"), now=now
        )
        if meta.published_at is not None:
            meta.published_source = "json-ld"
        meta.modified_at = parse_datetime(article.get("dateModified"), now=now)
        meta.language = normalise_language(article.get("inLanguage"))
        publisher = article.get("publisher")
        if isinstance(publisher, dict):
            meta.site_name = _clean(publisher.get("name"))
        meta.image = _image_url(article.get("image") or article.get("thumbnailUrl"))
        meta.description = _clean(article.get("description"))

    meta.title = meta.title or _clean(tags.get("og:title")) or _clean(tags.get("twitter:title"))
    if meta.published_at is None:
        for key in _PUBLISHED_META:
            parsed = parse_local_datetime(tags.get(key), now=now)
            if parsed is not None:
                meta.published_at, meta.published_source = parsed, f"meta:{key}"
                break
    if meta.published_at is None:
        parsed = parse_local_datetime(_itemprop_date(tree, "datePublished"), now=now)
        if parsed is not None:
            meta.published_at, meta.published_source = parsed, "itemprop"
    if meta.modified_at is None:
        for key in _MODIFIED_META:
            parsed = parse_datetime(tags.get(key), now=now)
            if parsed is not None:
                meta.modified_at = parsed
                break
        else:
            meta.modified_at = parse_datetime(_itemprop_date(tree, "dateModified"), now=now)
    if not meta.authors:
        author = _clean(tags.get("author")) or _clean(tags.get("article:author")) or _clean(tags.get("dc.creator"))
        if author and not _URLISH_RE.match(author):
            meta.authors = (author,)
    meta.site_name = meta.site_name or _clean(tags.get("og:site_name")) or _clean(tags.get("application-name"))
    meta.image = meta.image or _clean(tags.get("og:image")) or _clean(tags.get("twitter:image"))
    meta.description = meta.description or _clean(tags.get("og:description")) or _clean(tags.get("description"))
    root_lang = tree.getroottree().getroot().get("lang") if tree is not None else None
    meta.language = (
        meta.language
        or normalise_language(root_lang)
        or normalise_language(tags.get("og:locale"))
        or normalise_language(tags.get("content-language"))
        or normalise_language(tags.get("language"))
    )
    for link in tree.iterfind(".//link"):
        if (link.get("rel") or "").strip().lower() == "canonical" and link.get("href"):
            meta.canonical_url = link.get("href", "").strip() or None
            break
    meta.canonical_url = meta.canonical_url or _clean(tags.get("og:url"))
    meta.authors = clean_authors(meta.authors)
    # Capped here already: a megabyte "headline" would otherwise be compared with every line of the text.
    meta.title = clean_title(meta.title)
    return meta
