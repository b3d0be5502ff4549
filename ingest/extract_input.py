"""Turn raw page bytes into decoded HTML text, or say precisely why the page is not usable HTML."""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Mapping

from charset_normalizer import from_bytes

from newsmon.core.outcomes import ExtractionFailure

# News pages are rarely above 2 MB of HTML; 8 MB leaves room for inline-script-heavy portals while
# keeping lxml + trafilatura under a second or two. Anything larger is a dump, not an article.
MAX_HTML_BYTES = 8 * 1024 * 1024
# Gzip bombs: refuse to inflate beyond the same bound (plus one byte so we can tell it was exceeded).
MAX_INFLATED_BYTES = MAX_HTML_BYTES + 1
# Only the head of the document is sniffed for a <meta charset>, as browsers do (HTML spec: 1024 bytes;
# real pages put long <script> blocks first, so look a little further).
CHARSET_SNIFF_BYTES = 8192

# File signatures of the binary payloads that servers hand out under HTML URLs most often.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"RIFF", "RIFF media (WebP/WAV/AVI)"),
    (b"PK\x03\x04", "ZIP archive (docx/xlsx/zip)"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"ID3", "MP3 audio"),
    (b"\x00\x00\x00", "binary media (MP4/ISO base)"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
    (b"\x7fELF", "executable"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or b > 13)
_HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# A document counts as HTML if one of these tags appears near the start (after scripts/comments).
_HTML_MARKERS_RE = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article|main)[\s>/]", re.IGNORECASE)
# Labels that say "some bytes" rather than what they are: the page is judged by its bytes instead.
UNLABELLED_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown", "unknown/unknown"})
# How the WHATWG MIME Sniffing standard (7.1, "identifying a resource with an unknown MIME type") recognises
# HTML: after leading whitespace, one of these tags followed by a space or ">". A page that only carries a
# <p> somewhere in its middle is not "clearly HTML"; an XHTML page's XML declaration may come first.
_SNIFF_HTML_RE = re.compile(
    rb"^(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*(?:<\?xml[^>]{0,200}\?>[\t\n\x0c\r ]*)?"
    rb"<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[ >]",
    re.IGNORECASE,
)
# Single-byte Western charsets that servers claim by default even when the bytes are UTF-8.
_LATIN_DEFAULTS = {"iso8859-1", "latin-1", "cp1252", "ascii"}


class InputRejected(Exception):
    """The bytes are not an HTML page we can extract from.

    `category` is the stable kind (the pipeline counts skips by it), `reason` its short wording and
    `detail` the specifics of this page.
    """

    def __init__(self, category: ExtractionFailure, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.category = category
        self.reason = reason
        self.detail = detail


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _inflate(body: bytes) -> bytes:
    """Gunzip a gzip-compressed body (saved pages, misconfigured servers) without inflating a bomb."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, MAX_INFLATED_BYTES)
    except zlib.error as err:
        raise InputRejected(ExtractionFailure.CORRUPT_GZIP, "corrupt gzip data", str(err)) from err
    if len(inflated) >= MAX_INFLATED_BYTES:
        raise InputRejected(ExtractionFailure.TOO_LARGE, "too large", f"gzip body inflates beyond {MAX_HTML_BYTES} bytes")
    return inflated


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("'\"").lower()).name
    except LookupError:
        return None


def _declared_charset(body: bytes, headers: Mapping[str, str] | None) -> str | None:
    content_type = _header(headers, "content-type") or ""
    match = _HEADER_CHARSET_RE.search(content_type)
    if match and (codec := _known_codec(match.group(1))):
        return codec
    match = _CHARSET_RE.search(body[:CHARSET_SNIFF_BYTES])
    if match:
        return _known_codec(match.group(1).decode("ascii", "replace"))
    return None


# A legacy single-byte text almost never forms a valid UTF-8 multi-byte sequence by accident (a capital letter
# followed by і or ў in cp1251 Belarusian does, about once per fifty letters), while a UTF-8 page with a
# broken template or a truncated ad snippet has a few bad bytes among thousands of good sequences. So UTF-8
# decoded with replacement is trusted when its valid non-ASCII characters outnumber the bad sequences this
# many times over: overwhelmingly when nothing says UTF-8, mostly when the page declares it.
UTF8_VALID_PER_INVALID = 20
DECLARED_VALID_PER_INVALID = 4


def _decode_counting(body: bytes, codec: str) -> tuple[str, int, int]:
    """Decode with replacement: (text, bad byte sequences, validly decoded non-ASCII characters)."""
    text = body.decode(codec, errors="replace")
    replaced = text.count("\ufffd")
    genuine = body.count("\ufffd".encode(codec)) if codec == "utf-8" else 0  # U+FFFD written in the page itself
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    invalid = replaced - genuine
    return text, invalid, non_ascii - invalid


def _mostly_utf8(body: bytes, declared: str | None) -> str | None:
    """The page as UTF-8 with replacement characters, when its bytes are UTF-8 apart from a few bad ones."""
    text, invalid, valid = _decode_counting(body, "utf-8")
    needed = DECLARED_VALID_PER_INVALID if declared == "utf-8" else UTF8_VALID_PER_INVALID
    return text if valid >= needed * invalid else None


def _mostly_declared(body: bytes, declared: str) -> str | None:
    """The page in its declared single-byte charset, when only a few bytes are undefined there."""
    text, invalid, valid = _decode_counting(body, declared)
    return text if valid >= DECLARED_VALID_PER_INVALID * invalid else None


def _decode(body: bytes, headers: Mapping[str, str] | None) -> str:
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    declared = _declared_charset(body, headers)
    try:
        utf8_text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8_text = None
    # A page that is valid UTF-8 but declared Latin-1/cp1252 is almost always mislabelled UTF-8:
    # multi-byte UTF-8 sequences essentially never occur by accident in real single-byte text.
    utf8_plausible = declared is None or declared in _LATIN_DEFAULTS or declared.startswith("utf")
    if utf8_text is not None and utf8_plausible:
        return utf8_text
    # The same holds with a few bad bytes: one stray \xff must not send the page to detection.
    if utf8_text is None and utf8_plausible and (text := _mostly_utf8(body, declared)) is not None:
        return text
    if declared and not declared.startswith("utf-16"):
        try:
            return body.decode(declared)
        except UnicodeDecodeError:
            pass  # misdeclared, or a few undefined bytes: see below
    if utf8_text is not None:
        return utf8_text
    if declared and not utf8_plausible:
        for text in (_mostly_utf8(body, None), _mostly_declared(body, declared)):
            if text is not None:
                return text
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        try:
            return body.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return body.decode("utf-8", errors="replace")


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Decode page bytes: BOM, then a declared charset that fits, then UTF-8 (a few bad bytes allowed), then detection.

    NUL characters are dropped, as browsers drop them from text (HTML spec, "in body" insertion mode).
    """
    text = _decode(body, headers)
    return text.replace("\x00", "") if "\x00" in text else text


def html_text_from_input(html: bytes | str, headers: Mapping[str, str] | None = None) -> str:
    """Validate and decode one page; raise InputRejected with a short reason for anything that is not HTML."""
    content_type = (_header(headers, "content-type") or "").split(";")[0].strip().lower()
    unlabelled = content_type in UNLABELLED_TYPES
    if content_type and not unlabelled and not content_type.startswith(_HTML_CONTENT_TYPES) and "html" not in content_type:
        raise InputRejected(ExtractionFailure.NOT_HTML, "not HTML: content type", content_type)
    if isinstance(html, str):
        if len(html) > MAX_HTML_BYTES:
            raise InputRejected(ExtractionFailure.TOO_LARGE, "too large", f"{len(html)} characters of HTML, limit {MAX_HTML_BYTES}")
        text = html
    else:
        body = bytes(html)
        if len(body) > MAX_HTML_BYTES:
            raise InputRejected(ExtractionFailure.TOO_LARGE, "too large", f"{len(body)} bytes of HTML, limit {MAX_HTML_BYTES}")
        if body[:2] == b"\x1f\x8b":
            body = _inflate(body)
        if not body.strip():
            raise InputRejected(ExtractionFailure.EMPTY_PAGE, "empty page")
        head = body[:16].lstrip()
        for magic, kind in _BINARY_MAGIC:
            if head.startswith(magic):
                raise InputRejected(ExtractionFailure.BINARY_CONTENT, f"binary content: {kind}")
        sample = body[:4096]
        utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        # More than a few control bytes (NUL included) means compressed/binary data; one stray NUL does not.
        control_bytes = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        if not utf16 and control_bytes > len(sample) // 50:
            raise InputRejected(ExtractionFailure.BINARY_CONTENT, "binary content: control bytes in what should be HTML")
        if unlabelled and not _SNIFF_HTML_RE.match(body[:1024]):
            raise InputRejected(ExtractionFailure.NOT_HTML, "not HTML: content type",
                                f"{content_type}, and the bytes do not start like an HTML page")
        text = decode_html(body, headers)
    if not text.strip():
        raise InputRejected(ExtractionFailure.EMPTY_PAGE, "empty page")
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        raise InputRejected(ExtractionFailure.NOT_HTML, "not HTML: looks like JSON")
    if not _HTML_MARKERS_RE.search(text[:200_000]):
        raise InputRejected(ExtractionFailure.NOT_HTML, "not HTML: no HTML markup found")
    # lxml refuses str input that still carries an XML encoding declaration (XHTML pages).
    return _XML_DECL_RE.sub("", text, count=1)


__all__ = ["MAX_HTML_BYTES", "InputRejected", "decode_html", "html_text_from_input"]
