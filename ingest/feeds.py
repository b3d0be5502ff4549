"""Feed parsing boundary: fetched bytes + headers → ParsedFeed (feedparser for XML, stdlib json for JSON Feed)."""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import json
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from newsmon.records import FeedEntry, ParsedFeed
from newsmon.textclean import clean_title

# A gzip-compressed feed *file* (not Content-Encoding) is unpacked up to this size.
MAX_FEED_DECOMPRESSED_BYTES = 30 * 1024 * 1024
_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_SPACE_RE = re.compile(r"\s+")


class FeedParseError(Exception):
    """The document is not a usable feed (not a feed at all, or no entry we can identify)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def _canonical_or_raw(link: str) -> str:
    try:
        from ingest.urls import canonical_url
    except ImportError:  # ingest/urls.py is another module's job; until it exists identity is the raw link
        return link
    try:
        return canonical_url(link)
    except Exception:
        return link


def entry_identity(guid: str | None, link: str | None, *content: str | None) -> str | None:
    """Entry id: the guid, else the canonical link, else a hash of the entry's text; None for an empty entry.

    RSS 0.9x items may carry only a title or description; hashing that text keeps them identifiable
    (the same text is the same entry), as feed readers do.
    """
    if guid and guid.strip():
        return guid.strip()
    if link:
        return _canonical_or_raw(link)
    text = "\x1f".join((c or "").strip() for c in content)
    if text.strip("\x1f"):
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return None


def _clean_text(value: str | None, *, is_html: bool) -> str | None:
    if value is None:
        return None
    if is_html:
        value = html.unescape(_TAG_RE.sub(" ", value))
    value = _SPACE_RE.sub(" ", value).strip()
    return clean_title(value)


def _http_link(link: str | None, base: str) -> str | None:
    if not link or not link.strip():
        return None
    absolute = urljoin(base, link.strip()) if base else link.strip()
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return absolute


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _iso_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # A date without an offset is ambiguous: RFC 3339 requires one, so we do not guess a zone.
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _maybe_gunzip(body: bytes, source: str) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(body, MAX_FEED_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise FeedParseError(source, f"gzip-compressed feed is corrupt: {exc}") from exc
    if len(out) > MAX_FEED_DECOMPRESSED_BYTES:
        raise FeedParseError(source, f"gzip-compressed feed unpacks to more than {MAX_FEED_DECOMPRESSED_BYTES} bytes")
    return out


def _looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _parse_json_feed(body: bytes, source: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(source, f"not a feed: invalid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedParseError(source, "not a feed: JSON without a jsonfeed.org version")
    base = str(doc.get("feed_url") or doc.get("home_page_url") or source or "")
    problems: list[str] = []
    entries: list[FeedEntry] = []
    feed_language = doc.get("language") if isinstance(doc.get("language"), str) else None
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError(source, "JSON Feed has no items array")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"item {index}: not an object, skipped")
            continue
        link = _http_link(str(item.get("url") or item.get("external_url") or "") or None, base)
        summary = item.get("summary") or item.get("content_text") or item.get("content_html")
        raw_id = item.get("id")
        guid = str(raw_id) if raw_id not in (None, "") else None
        entry_id = entry_identity(guid, link, item.get("title") if isinstance(item.get("title"), str) else None,
                                  summary if isinstance(summary, str) else None)
        if entry_id is None:
            problems.append(f"item {index}: no id, url, title or text, skipped")
            continue
        authors_raw = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        authors = tuple(a["name"].strip() for a in authors_raw if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip())
        entries.append(FeedEntry(
            entry_id=entry_id,
            link=link,
            title=_clean_text(item.get("title") if isinstance(item.get("title"), str) else None, is_html=False),
            summary=summary if isinstance(summary, str) else None,
            published_at=_iso_to_dt(item.get("date_published")),
            updated_at=_iso_to_dt(item.get("date_modified")),
            authors=authors,
            language=item.get("language") if isinstance(item.get("language"), str) else feed_language,
        ))
    if not entries and items:
        raise FeedParseError(source, f"no usable entries: none of the {len(items)} items has an id, url, title or text")
    if not items:
        problems.append("feed has no entries")
    return ParsedFeed(
        source=source,
        title=_clean_text(doc.get("title") if isinstance(doc.get("title"), str) else None, is_html=False),
        link=_http_link(doc.get("home_page_url") if isinstance(doc.get("home_page_url"), str) else None, base),
        language=feed_language,
        entries=tuple(entries),
        problems=tuple(problems),
    )


def _detail_is_html(detail: Any) -> bool:
    return bool(detail) and str(detail.get("type", "")).lower() in ("text/html", "application/xhtml+xml")


def _bozo_problem(exc: BaseException | None) -> str:
    if exc is None:
        return "ill-formed document"
    text = str(exc).strip() or type(exc).__name__
    return f"ill-formed document ({type(exc).__name__}: {text[:200]})"


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse fetched feed bytes. Raises FeedParseError when the document has no usable entries."""
    if not body or not body.strip():
        raise FeedParseError(url, "empty document")
    body = _maybe_gunzip(body, url)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = lowered.get("content-type", "").lower()
    if "json" in content_type or _looks_like_json(body):
        return _parse_json_feed(body, url)
    response_headers = {k: v for k, v in lowered.items() if k in ("content-type", "content-language", "content-location")}
    # Without headers (a local file) feedparser would flag a missing Content-Type; application/xml keeps
    # the XML declaration in charge of the encoding, as RFC 7303 says.
    response_headers.setdefault("content-type", "application/xml")
    # feedparser gets no base URL: it would also "resolve" permalink guids such as "12345" into URLs,
    # changing entry ids whenever the feed moves. We resolve links against the feed URL ourselves.
    base = response_headers.pop("content-location", "") or (url if url.startswith(("http://", "https://")) else "")
    # feedparser never fetches: it gets a byte stream, never a URL string.
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    problems: list[str] = []
    if result.get("bozo"):
        problems.append(_bozo_problem(result.get("bozo_exception")))
    raw_entries = result.get("entries") or []
    version = result.get("version") or ""
    if not version and not raw_entries:
        reason = "not a feed"
        if body.lstrip()[:200].lower().find(b"<html") >= 0 or b"<!doctype html" in body[:500].lower():
            reason = "not a feed: an HTML page (use `newsmon feeds add` to discover its feeds)"
        elif result.get("bozo"):
            reason = f"not a feed: {_bozo_problem(result.get('bozo_exception'))}"
        raise FeedParseError(url, reason)
    feed_meta = result.get("feed") or {}
    if not base.startswith(("http://", "https://")):
        # No fetch URL (a local file): the feed's own rel="self" link says where it lives.
        selfs = [ln.get("href", "") for ln in feed_meta.get("links") or [] if ln.get("rel") == "self"]
        base = next((h for h in selfs if h.startswith(("http://", "https://"))), "")
    feed_language = feed_meta.get("language") or lowered.get("content-language") or None
    entries: list[FeedEntry] = []
    # In RSS the only per-item date besides pubDate is dc:date, which feedparser files under "updated";
    # it is the item's date, so it counts as published. In Atom, <updated> is not a publication date.
    dc_date_is_published = not version.startswith("atom")
    for index, raw in enumerate(raw_entries):
        raw_link = (raw.get("link") or "").strip()
        link = _http_link(raw_link, base)
        if raw_link and link is None:
            problems.append(f"entry {index}: link {raw_link[:80]!r} is not an absolute http(s) URL")
        # An unresolvable link (a relative link in a file with no base URL) still identifies the entry.
        entry_id = entry_identity(raw.get("id"), link or raw_link or None, raw.get("title"), raw.get("summary"))
        if entry_id is None:
            problems.append(f"entry {index}: no guid, link, title or description, skipped")
            continue
        authors = tuple(
            a["name"].strip() for a in raw.get("authors") or [] if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip()
        )
        entries.append(FeedEntry(
            entry_id=entry_id,
            link=link,
            title=_clean_text(raw.get("title"), is_html=_detail_is_html(raw.get("title_detail"))),
            summary=raw.get("summary") or None,
            published_at=_struct_to_dt(raw.get("published_parsed"))
            or (_struct_to_dt(raw.get("updated_parsed")) if dc_date_is_published else None),
            updated_at=_struct_to_dt(raw.get("updated_parsed")),
            authors=authors,
            language=(raw.get("language") or feed_language) or None,
        ))
    if raw_entries and not entries:
        raise FeedParseError(url, f"no usable entries: none of the {len(raw_entries)} entries has a guid, link, title or description")
    if not raw_entries:
        problems.append("feed has no entries")
    return ParsedFeed(
        source=url,
        title=_clean_text(feed_meta.get("title"), is_html=_detail_is_html(feed_meta.get("title_detail"))),
        link=_http_link(feed_meta.get("link"), base),
        language=feed_language,
        entries=tuple(entries),
        problems=tuple(problems),
    )
