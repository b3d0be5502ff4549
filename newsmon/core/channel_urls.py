"""How an alert channel URL may be shown (scheme and a stable hash, never a secret) and which of its pieces are secret.

Config validation, the CLI and the delivery channels all show channels this one way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, unquote

SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_ADDRESS_RE = re.compile(r"[^\s@:/?#,]+@[^\s@:/?#,]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_MIN_SECRET_LEN = 3  # shorter URL pieces ("to", "25") say nothing and would garble every message they occur in


def shows_path(scheme: str, rest: str) -> bool:
    """file: and mailto:addr (the NEWSMON_SMTP_* form) carry a local path or recipient addresses, never a credential."""
    if scheme == "file":
        return True
    path = rest.split("?", 1)[0]
    return scheme == "mailto" and not rest.startswith("//") and all(
        _ADDRESS_RE.fullmatch(a) for a in unquote(path).split(","))


def _without_password(url: str) -> str:
    # The hash leaves the password out: a short public hash of a guessable password would let anyone holding a
    # log confirm guesses offline. Tokens elsewhere in Apprise URLs are long and random, so hashing them is safe.
    head, sep, rest = url.partition("://")
    netloc, tail = re.match(r"([^/?#]*)(.*)", rest, re.S).groups()  # type: ignore[union-attr]
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    return f"{head}{sep}{netloc}{tail}"


def describe_channel(url: str) -> str:
    """The only way a channel is shown (check, errors, counts, logs): its scheme and a short stable hash.

    `slack://#3f2a9c1e`: enough to tell a rule's channels apart and match an error to `alerts check`, never
    a token, password or user name. file: and mailto: channels show their path or addresses. Never raises.
    """
    match = SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else "channel"
    rest = url[match.end():] if match else url
    if shows_path(scheme, rest):
        return _CONTROL_RE.sub(" ", re.split(r"[?#]", url, maxsplit=1)[0])
    digest = hashlib.sha256(_without_password(url).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{scheme}://#{digest}"


def url_pieces(url: str) -> set[str]:
    """Every part of a channel URL that may be a secret: userinfo, host, path segments, query values, fragment."""
    match = SCHEME_RE.match(url)
    rest = url[match.end():] if match else url
    if match and shows_path(match.group(1).lower(), rest):
        return set()
    pieces = {url, rest}
    netloc, path, query, fragment = re.match(  # type: ignore[union-attr]
        r"(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", rest, re.S).groups()
    userinfo, _, host = (netloc or "").rpartition("@")
    pieces |= {netloc or "", userinfo, host, *userinfo.split(":", 1), *host.split(":")}
    pieces |= set(path.split("/"))
    for pair in (query or "").split("&"):
        value = pair.partition("=")[2]
        pieces |= {value, *value.split(",")}
    pieces.add(fragment or "")
    for piece in list(pieces):
        pieces |= set(piece.split(":")) | {unquote(piece), quote(unquote(piece), safe="", errors="replace")}
    pieces.discard(match.group(1) if match else "")  # the scheme is shown anyway
    return {p for p in pieces if len(p) >= _MIN_SECRET_LEN}


def channel_url_problem(url: str, number: int) -> str | None:
    """What is wrong with channel `number` (1-based) of a list, in words that never show a secret; None if nothing.

    Alert rules (alerts.yaml) and the operator channels (NEWSMON_OPERATOR_CHANNELS) are checked the same way.
    """
    if "://" not in url and not url.startswith(("file:", "mailto:")):
        return (f"channel {number} is not a URL: use file:alerts.jsonl, smtp://host:port/?to=a@example.org, "
                "mailto:a@example.org, or an Apprise URL such as json://host/path")
    # A line break (even as %0D%0A) in from=, to= or any other part would end up inside a mail or HTTP
    # header, where it either injects a header or makes every delivery fail.
    if any(ord(c) < 32 or ord(c) == 127 for c in url + unquote(url)):
        return (f"channel {number} ({describe_channel(url)}) contains a line break or another control "
                "character (perhaps as %0A or %0D); remove it")
    return None


# ---------------------------------------------------------------- channels as alerts.yaml writes them

# Schemes newsmon delivers itself (newsmon/alerts/channels.py); every other scheme must be one Apprise knows, and
# only those load Apprise (over a second: it imports every plugin).
OWN_SCHEMES = frozenset({"file", "smtp", "smtps", "mailto", "json", "jsons"})
# Schemes whose host and path name the receiver, not a credential: a webhook on your own server, mail. Any
# other Apprise scheme (slack://, tgram://, workflow://, discord:// …) carries its token in the host or path.
_ADDRESS_SCHEMES = frozenset({*OWN_SCHEMES, "mailtos", "json", "jsons", "xml", "xmls", "form", "forms"})
# Query parameters that hold a credential in Apprise and newsmon URLs.
_SECRET_PARAMS = frozenset({"pass", "password", "pwd", "token", "secret", "key", "apikey", "api_key", "auth",
                            "signature", "sig", "webhook", "access_token", "bot_token"})
ENV_REF_RE = re.compile(r"\$\{([^}]*)\}")
# Only NEWSMON_ variables: whoever edits alerts.yaml must not be able to mail AWS_SECRET_ACCESS_KEY or an
# Airflow connection string to a webhook of their choice.
_ENV_NAME_RE = re.compile(r"NEWSMON_[A-Z0-9_]+")
# Microsoft retired Office 365 connectors; Apprise 2.x reaches Teams through Power Automate workflows.
_RENAMED = {"msteams": "Microsoft Teams channels are workflow://host/workflow/signature in Apprise 2.x"}


def _only_references(text: str) -> bool:
    """True when every non-separator character of `text` is inside a ${…} reference."""
    return not re.sub(r"[\s:/@.,;&=+-]", "", ENV_REF_RE.sub("", text))


def written_secret(raw: str) -> str | None:
    """What secret a channel string as written in alerts.yaml holds literally (None: none, or only ${VAR}s)."""
    match = SCHEME_RE.match(raw)
    if match is None:
        return None
    scheme, rest = match.group(1).lower(), raw[match.end():]
    if shows_path(scheme, rest):
        return None
    netloc, path, query = re.match(r"(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?", rest, re.S).groups()  # type: ignore[union-attr]
    userinfo = (netloc or "").rpartition("@")[0]
    if ":" in userinfo and not _only_references(userinfo.split(":", 1)[1]):
        return "a password"
    for pair in (query or "").split("&"):
        name, _, value = pair.partition("=")
        # Apprise's json://, xml:// and form:// set request headers with +Name=value (+Authorization=Bearer …).
        bare = name.lstrip("+-:").lower()
        header = name.startswith("+") and any(w in bare for w in ("auth", "token", "key", "secret"))
        if (bare in _SECRET_PARAMS or header) and value and not _only_references(value):
            return f"a {name}= value"
    if scheme not in _ADDRESS_SCHEMES and "${" not in f"{netloc or ''}{path}":
        return f"its token (the part after {scheme}://)"
    return None


def suggested_variable(rule: str | None, url_or_raw: str) -> str:
    """A variable name to suggest for a channel: NEWSMON_<RULE>_<SCHEME>."""
    match = SCHEME_RE.match(url_or_raw)
    parts = [rule or "alert", match.group(1) if match else "channel"]
    return "NEWSMON_" + "_".join(re.sub(r"[^A-Z0-9]+", "_", p.upper()).strip("_") for p in parts)


def expand_channel(raw: str, number: int, environ: Mapping[str, str], rule: str | None = None) -> str:
    """The channel URL alerts.yaml means: ${NEWSMON_…} references replaced from `environ`.

    Raises ValueError (naming the channel by number and variable, never a value) for a secret written into
    the file, a reference to another variable or to one that is not set."""
    # An unknown scheme first: what looks like a token in it may be a typo in the scheme (slakc://…).
    problem = scheme_problem(raw, number) if SCHEME_RE.match(raw) else None
    if problem:
        raise ValueError(problem)
    secret = written_secret(raw)
    if secret is not None:
        scheme = SCHEME_RE.match(raw).group(1).lower()  # type: ignore[union-attr]
        raise ValueError(
            f"channel {number} ({scheme}:) has {secret} written into alerts.yaml, where anyone who reads the file "
            f"or its history sees it; put it in an environment variable: channel: ${{{suggested_variable(rule, raw)}}} "
            f"(the whole URL), or ${{NEWSMON_…}} in place of the secret part")

    def value(ref: re.Match[str]) -> str:
        name = ref.group(1)
        if not _ENV_NAME_RE.fullmatch(name):
            raise ValueError(f"channel {number}: ${{{name[:40]}}} is not a NEWSMON_ variable; channel URLs may only "
                             "use variables named NEWSMON_<SOMETHING> (upper case, digits, _)")
        if name not in environ:
            raise ValueError(f"channel {number}: the environment variable {name} is not set; set it to the "
                             "channel URL (or the part it stands for) where newsmon runs")
        return environ[name]

    return ENV_REF_RE.sub(value, raw)


@lru_cache(maxsize=1)
def apprise_schemes() -> frozenset[str]:
    """Every URL scheme the installed Apprise can send to."""
    import apprise  # imported on first use: it loads every plugin, and most commands never need it

    schemes: set[str] = set()
    for plugin in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            names = plugin.get(key) or ()
            schemes.update([names] if isinstance(names, str) else names)
    return frozenset(s.lower() for s in schemes)


def scheme_problem(url: str, number: int) -> str | None:
    """Why channel `number` has a scheme nothing can deliver to (None: newsmon's own, or one Apprise knows)."""
    match = SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme in OWN_SCHEMES or scheme in apprise_schemes():
        return None
    hint = _RENAMED.get(scheme, "use file:, smtp://, mailto:, json:// (a webhook) or a scheme from the Apprise URL list "
                                "(slack://, tgram://, workflow:// for Teams …)")
    return f"channel {number} ({describe_channel(url)}): unknown channel scheme {scheme + '://'!r}; {hint}"
