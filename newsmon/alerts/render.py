"""A Message as each channel shows it: mail subject, text and HTML parts, chat bodies, and the JSON document."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from newsmon.alerts.message import Message, Outlet, StoryEntry
from newsmon.core.text import subject_title

SCHEMA = "newsmon.alert/1"
VILNIUS = ZoneInfo("Europe/Vilnius")
ChatFormat = Literal["markdown", "html", "text"]

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# What Markdown (Slack through Apprise's CommonMark conversion, Teams) would read as markup: a backslash makes each
# literal. `&` is left: Apprise writes it as an entity for Slack, and alone it opens nothing.
_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]|>~<#])")
_AFFILIATIONS = {"state_controlled": "state-controlled", "government": "state-controlled",
                 "public_broadcaster": "public broadcaster"}


@dataclass(frozen=True)
class Rendered:
    """One message in every form the channels send."""

    subject: str
    text: str
    html: str
    document: dict[str, Any]


def one_line(text: str | None) -> str:
    """Text fit for a header, a title or a table cell: every control character and line break is one space."""
    return " ".join(_CONTROL_RE.sub(" ", text or "").split())


def live_link(url: str | None) -> str | None:
    """The URL when a reader may follow it (http or https with a host); None for javascript:, data:, and the rest."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    ok = parts.scheme.lower() in ("http", "https") and parts.netloc and not _CONTROL_RE.search(url)
    return url if ok else None


def affiliation_label(affiliation: str | None) -> str | None:
    """How every alert, digest and `alerts try` names an outlet's affiliation: "state-controlled", "public broadcaster"."""
    if not affiliation:
        return None
    return _AFFILIATIONS.get(affiliation, affiliation.replace("_", " "))


def outlet_label(outlet: Outlet, *, with_language: bool = True) -> str:
    """"BelTA (ru, state-controlled)": the outlet's name, then what is known of its language and affiliation."""
    details = [d for d in ((outlet.language if with_language else None), affiliation_label(outlet.affiliation)) if d]
    name = one_line(outlet.name) or one_line(outlet.feed_id)
    return f"{name} ({', '.join(details)})" if details else name


def published(at: datetime | None) -> str:
    """"2026-11-20 08:00 UTC (10:00 Vilnius)"; the Vilnius date is added when it is another day."""
    if at is None:
        return "publish date unknown"
    utc = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    local = utc.astimezone(VILNIUS)
    local_text = f"{local:%H:%M}" if local.date() == utc.date() else f"{local:%Y-%m-%d %H:%M}"
    return f"{utc:%Y-%m-%d %H:%M} UTC ({local_text} Vilnius)"


def subject(message: Message) -> str:
    """One line: `[newsmon] rule: title` for one story, `[newsmon] rule: N stories (… digest)` for several."""
    entries = message.entries
    stories = len(_groups(entries))
    if message.kind == "digest" or stories > 1:
        more = f" +{message.more} more" if message.more else ""
        what = "story update" if all(e.kind == "update" for e in entries) and stories == 1 else f"{stories} stories"
        text = f"[newsmon] {message.rule}: {what}{more} ({_digest_name(message)})"
    else:
        first = entries[0] if entries else None
        prefix = {"update": "story update: ", "pickup": "pickup: "}.get(first.kind, "") if first else ""
        text = f"[newsmon] {message.rule}: {prefix}{subject_title(first.title) if first else 'no stories'}"
    return one_line(text)


def _digest_name(message: Message) -> str:
    return f"{message.period} digest" if message.period else "digest"


def _groups(entries: tuple[StoryEntry, ...]) -> list[list[StoryEntry]]:
    """Entries by story (their key), in the order each story first appears: an update sits under its story."""
    groups: dict[str, list[StoryEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.key, []).append(entry)
    return list(groups.values())


def _entry_view(entry: StoryEntry) -> dict[str, Any]:
    """What the templates show of one entry; every string still raw publisher text, escaped by each template."""
    return {
        "kind": entry.kind,
        "title": one_line(entry.title) or "(untitled)",
        "outlet": outlet_label(entry.outlet, with_language=False),
        "published": published(entry.published_at),
        "language": entry.language or "language unknown",
        "passages": [[(s.text, s.hit) for s in p] for p in entry.passages],
        "subtopics": [one_line(s) for s in entry.subtopics],
        "link": live_link(entry.url),
        "url": one_line(entry.url),
        "others": [outlet_label(o) for o in entry.other_outlets],
        "note": one_line(entry.note) or None,
    }


def _context(message: Message) -> dict[str, Any]:
    groups = [[_entry_view(e) for e in group] for group in _groups(message.entries)]
    return {"rule": one_line(message.rule), "kind": message.kind, "subject": subject(message), "groups": groups,
            "more": message.more, "key": message.key, "digest": message.kind == "digest" or len(groups) > 1}


def _markdown_escape(value: object) -> str:
    return _MARKDOWN_SPECIAL_RE.sub(r"\\\1", str(value))


def _markdown_link(text: str, url: str | None) -> str:
    if url is None:
        return _markdown_escape(text)
    # The <…> destination form: only < > and white space would end it, and live_link let no white space through.
    target = url.replace("<", "%3C").replace(">", "%3E")
    return f"[{_markdown_escape(text)}](<{target}>)"


@cache
def _environment() -> Environment:
    """The templates of newsmon/alerts/templates: `.html` ones autoescaped; `.txt` is no markup, so nothing is
    escaped; Markdown has no autoescape, so `.md` passes every value through `md` (or link(), which escapes)."""
    env = Environment(loader=PackageLoader("newsmon.alerts", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = _markdown_escape
    env.globals["link"] = _markdown_link
    return env


def text(message: Message) -> str:
    return _environment().get_template("message.txt").render(_context(message))


def html(message: Message) -> str:
    return _environment().get_template("message.html").render(_context(message))


def document(message: Message) -> dict[str, Any]:
    """The versioned JSON document of file and webhook channels (docs/alerts.md): stable keys, the idempotency key."""
    return {
        "schema": SCHEMA,
        "key": message.key,
        "message_id": message.message_id,
        "rule": message.rule,
        "kind": message.kind,
        "created_at": _iso(message.created_at),
        "subject": subject(message),
        "more": message.more,
        "stories": [_entry_document(e) for e in message.entries],
        # Apprise's json:// envelope, so a receiver written for it keeps working.
        "title": subject(message),
        "message": text(message),
        "type": "info",
    }


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _outlet_document(outlet: Outlet) -> dict[str, Any]:
    return {"feed_id": outlet.feed_id, "name": outlet.name, "language": outlet.language,
            "affiliation": outlet.affiliation}


def _entry_document(entry: StoryEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "kind": entry.kind,
        "article_id": entry.article_id,
        "title": entry.title,
        "url": entry.url,
        "link": live_link(entry.url),
        "outlet": _outlet_document(entry.outlet),
        "published_at": _iso(entry.published_at),
        "language": entry.language,
        "subtopics": list(entry.subtopics),
        "passages": [[{"text": s.text, "hit": s.hit} for s in p] for p in entry.passages],
        "other_outlets": [_outlet_document(o) for o in entry.other_outlets],
        "note": entry.note,
    }


def document_json(message: Message) -> str:
    return json.dumps(document(message), ensure_ascii=False, sort_keys=True)


def render(message: Message) -> Rendered:
    return Rendered(subject=subject(message), text=text(message), html=html(message), document=document(message))


# -- chat channels through Apprise ------------------------------------------------------------------

# Which body each Apprise scheme takes: Slack and Teams (Power Automate workflows) read Markdown, Telegram a
# small HTML subset. Any other scheme gets plain text, which Apprise escapes for HTML services itself.
CHAT_FORMATS: dict[str, ChatFormat] = {"slack": "markdown", "workflow": "markdown", "workflows": "markdown",
                                       "msteams": "markdown", "tgram": "html"}


def chat_format(url: str) -> ChatFormat:
    scheme = url.split(":", 1)[0].lower()
    return CHAT_FORMATS.get(scheme, "text")


def chat(message: Message, fmt: ChatFormat) -> str:
    """The body of a chat message in `fmt`; publisher text is escaped for that format."""
    if fmt == "markdown":
        return _environment().get_template("chat.md").render(_context(message))
    if fmt == "html":
        return _environment().get_template("telegram.html").render(_context(message))
    return text(message)
