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
from feedparser.encodings import convert_to_utf8

from newsmon.core.outcomes import FeedFailure
from newsmon.core.records import FeedEntry, ParsedFeed
from newsmon.core.text import clean_title
from newsmon.ingest.deadline import CpuDeadlineExceeded, cpu_deadline
from newsmon.ingest.markup_scan import MarkupLimits, closing_tags, count_item_tags, scan_feed
from newsmon.ingest.urls import canonical_url

# A gzip-compressed feed *file* (not Content-Encoding) is unpacked up to this size.
MAX_FEED_DECOMPRESSED_BYTES = 30 * 1024 * 1024
# What one feed may cost to parse. feedparser spends 10-40 µs per tag and, on one element, time that grows
# with the square of its attributes; a 10 MB feed can hold 2.4 million tags or 500,000 attributes, which
# took minutes. The markup is scanned first (ingest/markup_scan.py): past these limits the feed is cut
# after its last item that fits, or refused when not even one item fits. The largest feed of the 2,055 in
# the evaluation corpus has 26,530 tags, 195 items, 11 attributes on one element and 18,519 attribute
# pairs; 1,000 items is ten polls' worth at the default `max_entries_per_poll`.
MAX_FEED_ITEMS = 1000
FEED_MARKUP_LIMITS = MarkupLimits(max_tags=50_000, max_attributes=256, max_attribute_pairs=1_000_000,
                                  max_items=MAX_FEED_ITEMS)
# The backstop for whatever the scan cannot see: feedparser runs under this CPU-time deadline. A feed at
# the limits above parses in 1-2 s.
FEED_PARSE_CPU_S = 5.0
_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_SPACE_RE = re.compile(r"\s+")


class FeedParseError(Exception):
    """The document is not a usable feed (not a feed at all, or no entry we can identify).

    `category` is the stable kind (what counters count); `reason` the free-text detail for messages.
    """

    def __init__(self, source: str, reason: str, category: FeedFailure) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.category = category


def _canonical_or_raw(link: str) -> str:
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
    try:
        absolute = urljoin(base, link.strip()) if base else link.strip()
        if urlsplit(absolute).scheme not in ("http", "https"):
            return None
    except ValueError:  # "http://[oops/a": an unbalanced IPv6 bracket, in the link or in the base URL
        return None
    return absolute


def _usable_base(*candidates: Any) -> str:
    """The first candidate that is a URL one can resolve links against ("" if none)."""
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        try:
            urlsplit(candidate.strip())
        except ValueError:  # a malformed feed_url or Content-Location must not cost the feed its links
            continue
        return candidate.strip()
    return ""


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
        raise FeedParseError(source, f"gzip-compressed feed is corrupt: {exc}", FeedFailure.CORRUPT_GZIP) from exc
    if len(out) > MAX_FEED_DECOMPRESSED_BYTES:
        raise FeedParseError(source, f"gzip-compressed feed unpacks to more than {MAX_FEED_DECOMPRESSED_BYTES} bytes",
                             FeedFailure.TOO_LARGE)
    return out


def _looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _json_id(value: Any) -> str | None:
    # JSON Feed ids are strings; numbers are common enough to accept. Anything else is no id.
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return None
    return str(value)


def _json_authors(item: dict) -> tuple[str, ...]:
    raw = item.get("authors")
    if not isinstance(raw, list):
        raw = [item["author"]] if isinstance(item.get("author"), dict) else []
    return tuple(a["name"].strip() for a in raw if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip())


def _load_json(body: bytes, source: str) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except RecursionError as exc:
        raise FeedParseError(source, "not a feed: JSON nested too deeply to read", FeedFailure.TOO_DEEPLY_NESTED) from exc
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError also covers numbers of 4,300+ digits
        raise FeedParseError(source, f"not a feed: invalid JSON ({str(exc)[:200]})", FeedFailure.NOT_A_FEED) from exc


def _parse_json_feed(body: bytes, source: str) -> ParsedFeed:
    doc = _load_json(body, source)
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedParseError(source, "not a feed: JSON without a jsonfeed.org version", FeedFailure.NOT_A_FEED)
    base = _usable_base(doc.get("feed_url"), doc.get("home_page_url"), source)
    problems: list[str] = []
    entries: list[FeedEntry] = []
    feed_language = doc.get("language") if isinstance(doc.get("language"), str) else None
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError(source, "JSON Feed has no items array", FeedFailure.NO_ENTRIES)
    items_not_read = max(len(items) - MAX_FEED_ITEMS, 0)
    if items_not_read:
        problems.append(f"only the first {MAX_FEED_ITEMS} of {len(items)} items were read (parsing limit)")
    for index, item in enumerate(items[:MAX_FEED_ITEMS]):
        if not isinstance(item, dict):
            problems.append(f"item {index}: not an object, skipped")
            continue
        link = _http_link(str(item.get("url") or item.get("external_url") or "") or None, base)
        summary = item.get("summary") or item.get("content_text") or item.get("content_html")
        guid = _json_id(item.get("id"))
        entry_id = entry_identity(guid, link, item.get("title") if isinstance(item.get("title"), str) else None,
                                  summary if isinstance(summary, str) else None)
        if entry_id is None:
            problems.append(f"item {index}: no id, url, title or text, skipped")
            continue
        authors = _json_authors(item)
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
        raise FeedParseError(source, f"no usable entries: none of the {len(items)} items has an id, url, title or text",
                             FeedFailure.NO_ENTRIES)
    if not items:
        problems.append("feed has no entries")
    return ParsedFeed(
        source=source,
        title=_clean_text(doc.get("title") if isinstance(doc.get("title"), str) else None, is_html=False),
        link=_http_link(doc.get("home_page_url") if isinstance(doc.get("home_page_url"), str) else None, base),
        language=feed_language,
        entries=tuple(entries),
        problems=tuple(problems),
        items_not_read=items_not_read,
    )


def _detail_is_html(detail: Any) -> bool:
    return bool(detail) and str(detail.get("type", "")).lower() in ("text/html", "application/xhtml+xml")


def _bozo_problem(exc: BaseException | None) -> str:
    if exc is None:
        return "ill-formed document"
    text = str(exc).strip() or type(exc).__name__
    return f"ill-formed document ({type(exc).__name__}: {text[:200]})"


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse fetched feed bytes. Raises FeedParseError when the document has no usable entries.

    Whatever goes wrong inside the parsers (an exception, a parse past its CPU deadline) is a
    FeedParseError too: one broken or hostile document costs its feed a failed poll, never the batch.
    """
    try:
        with cpu_deadline(FEED_PARSE_CPU_S):
            return _parse_feed(body, url, headers)
    except FeedParseError:
        raise
    except CpuDeadlineExceeded as exc:
        raise FeedParseError(url, f"parsing took {exc} (limit {FEED_PARSE_CPU_S:g} s); the document was not read",
                             FeedFailure.TOO_SLOW) from None
    except RecursionError as exc:
        raise FeedParseError(url, "nested too deeply to parse", FeedFailure.TOO_DEEPLY_NESTED) from exc
    except Exception as exc:  # a parser bug on this document: the feed is unusable, the batch goes on
        raise FeedParseError(url, f"the parser failed on this document ({type(exc).__name__}: {str(exc)[:200]})",
                             FeedFailure.PARSER_FAILED) from exc


def _decoded_as_feedparser_reads_it(body: bytes, response_headers: Mapping[str, str]) -> str:
    # feedparser's own charset decision (BOM, HTTP charset, XML declaration): the markup scan must read the
    # characters feedparser will parse, not bytes a UTF-16 or EBCDIC declaration would disguise.
    return convert_to_utf8(dict(response_headers), body, {}).decode("utf-8", "replace")


def _bounded_document(body: bytes, response_headers: dict[str, str], url: str) -> tuple[bytes, int, str | None]:
    """(document for feedparser, items not read, problem): the body, or its items that fit the limits.

    A cut document is the text up to the first item that does not fit, followed by end tags for the
    elements around the items (so it stays well-formed); it is handed over as UTF-8.
    """
    text = _decoded_as_feedparser_reads_it(body, response_headers)
    scan = scan_feed(text, FEED_MARKUP_LIMITS)
    if scan.cut_at is None:
        return body, 0, None
    kept = sum(1 for start in scan.item_starts if start < scan.cut_at)
    if kept == 0:
        raise FeedParseError(url, f"refused before parsing: the document has {scan.over_limit} before the end of its "
                                  f"first item (a feed is read up to {_limits_phrase()})", FeedFailure.TOO_COMPLEX)
    not_read = count_item_tags(text, scan.cut_at)
    why = "" if scan.over_limit_kind == "items" else f", then the document has {scan.over_limit}"
    problem = (f"only the first {kept} items were read{why}; {not_read} more items not read "
               f"(a feed is read up to {_limits_phrase()})")
    cut_text = text[:scan.cut_at] + closing_tags(scan.item_parents)
    response_headers["content-type"] = "application/xml; charset=utf-8"
    return cut_text.encode("utf-8"), not_read, problem


def _limits_phrase() -> str:
    limits = FEED_MARKUP_LIMITS
    return (f"{limits.max_items} items, {limits.max_tags} tags, {limits.max_attributes} attributes on one element, "
            f"{limits.max_attribute_pairs} attribute pairs")


def _parse_feed(body: bytes, url: str, headers: Mapping[str, str] | None) -> ParsedFeed:
    if not body or not body.strip():
        raise FeedParseError(url, "empty document", FeedFailure.EMPTY)
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
    base = _usable_base(response_headers.pop("content-location", None), url if url.startswith(("http://", "https://")) else None)
    # feedparser never fetches: it gets a byte stream, never a URL string.
    document, items_not_read, cut_problem = _bounded_document(body, response_headers, url)
    result = feedparser.parse(io.BytesIO(document), response_headers=response_headers)
    problems: list[str] = [cut_problem] if cut_problem else []
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
        raise FeedParseError(url, reason, FeedFailure.NOT_A_FEED)
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
        raise FeedParseError(url, f"no usable entries: none of the {len(raw_entries)} entries has a guid, link, title or description",
                             FeedFailure.NO_ENTRIES)
    if not raw_entries:
        problems.append("feed has no entries")
    return ParsedFeed(
        source=url,
        title=_clean_text(feed_meta.get("title"), is_html=_detail_is_html(feed_meta.get("title_detail"))),
        link=_http_link(feed_meta.get("link"), base),
        language=feed_language,
        entries=tuple(entries),
        problems=tuple(problems),
        items_not_read=items_not_read,
    )
