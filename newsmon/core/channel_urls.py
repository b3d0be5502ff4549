"""How an alert channel URL may be shown (scheme and a stable hash, never a secret) and which of its pieces are secret.

Config validation, the CLI and the delivery channels all show channels this one way.
"""

from __future__ import annotations

import hashlib
import re
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
