"""Untrusted text from feeds and pages made safe to store, mail and print: controls, invisible marks, NFC, lengths."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# Caps on metadata fields (the article text itself is bounded by the page size limit). The longest of the
# ~1,800 real headlines in the shared feed corpus has 282 characters (99th percentile: 141), so 1,000
# cuts no real title while a 7 MB JSON-LD "headline" cannot become a 7 MB title and mail subject.
MAX_TITLE_CHARS = 1000
# Mail clients show well under 100 characters of a subject; 300 still fits every real headline whole.
MAX_SUBJECT_TITLE_CHARS = 300
# Meta descriptions run to ~300 characters; a longer "summary" is the article text, which `text` holds.
MAX_SUMMARY_CHARS = 2000
# Person names and outlet names (extract_meta already drops author "names" over 80 characters).
MAX_NAME_CHARS = 100
MAX_SITE_NAME_CHARS = 200
# A byline with more names than this is a list of something else (tags, related authors).
MAX_AUTHORS = 20

# Terminal control sequences (ECMA-48) introduced by ESC: CSI ... final byte; OSC/DCS/SOS/PM/APC strings up
# to BEL or ST (or the next ESC or the end when unterminated, which a terminal would keep swallowing); the
# other ESC sequences. OSC 52 writes the clipboard. The 8-bit C1 introducers are removed one by one with
# the other controls: that defuses them, and a cp1252 page read as Latin-1 has them in its text (0x9E is ž).
_ESCAPE_SEQUENCE_RE = re.compile(
    "\x1b\\[[0-?]*[ -/]*[@-~]"
    "|\x1b[\\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"
    "|\x1b[ -/]*[0-~]"
)
_LINE_BREAK_RE = re.compile("\r\n?|[\x0b\x0c\x85]")
# C0 controls except tab and newline, DEL, and C1 controls.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional formatting characters: they reorder what a reader sees (U+202E shows "gpj.exe" as "exe.jpg").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Zero-width and other invisible format characters: soft hyphen, ZWSP/ZWNJ/ZWJ, word joiner and invisible
# operators, BOM, and the tag characters that can smuggle invisible ASCII.
_ZERO_WIDTH = "\u00ad\u200b-\u200d\u2060-\u2064\ufeff\U000e0000-\U000e007f"
_BIDI_RE = re.compile(f"[{_BIDI}]")
_INVISIBLE_RE = re.compile(f"[{_BIDI}{_ZERO_WIDTH}]")
# What JSON output escapes beyond what json.dumps already does (C0): DEL, C1 and bidi controls.
_JSON_UNSAFE_RE = re.compile(f"[\x7f-\x9f{_BIDI}]")


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters; tab, newline and printable text stay.

    Line-breaking controls (CR, VT, FF, NEL) become a newline, so words stay apart and a lone CR cannot
    make a line overwrite what was printed before it.
    """
    text = _ESCAPE_SEQUENCE_RE.sub("", text)
    return _CONTROL_RE.sub("", _LINE_BREAK_RE.sub("\n", text))


def drop_invisible(text: str) -> str:
    """Remove bidi controls and zero-width characters; every letter, digit and space stays.

    Inside a word they split it for the tokenizers (`\\w+` and FTS5's unicode61 both treat them as
    separators), so `Lukašen\\u200dka` would never be found as `Lukašenka`; nothing in the project's
    languages needs them (ZWNJ/ZWJ matter to Persian and Indic scripts, and to emoji sequences, whose
    parts still show).
    """
    return _INVISIBLE_RE.sub("", text)


def compose_accents(text: str) -> str:
    """text in Unicode NFC: an accent sent as a separate combining mark ("u" + U+0328, as some CMSs and Mac-made
    copy send it) joined to its letter ("ų"); text already in NFC, nearly all of it, comes back as it is.

    trafilatura's text output is NFC, its Python output (which extraction reads) is not. A separate mark is not
    a word character for `\\w`, with which the tagger, alert rules, story signals and the line clean-up read
    words: `Lukašenka` typed with a mark would be two words that no rule or term typed normally matches.
    """
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def truncate(text: str, max_chars: int) -> str:
    """At most max_chars characters, cut at a word boundary near the limit and marked with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= max_chars * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _one_line(text: str) -> str:
    return " ".join(compose_accents(drop_invisible(strip_controls(text))).split())


def clean_title(text: str | None, max_chars: int = MAX_TITLE_CHARS) -> str | None:
    """A title fit to store and show: one line, no controls or invisible marks, accents composed (NFC), at most
    max_chars; None if empty."""
    if text is None:
        return None
    return truncate(_one_line(text), max_chars) or None


def subject_title(text: str | None) -> str:
    """The article title as it goes into an alert subject (one line, invisible marks dropped, capped)."""
    return clean_title(text, MAX_SUBJECT_TITLE_CHARS) or ""


def clean_name(text: str | None, max_chars: int = MAX_NAME_CHARS) -> str | None:
    """An author or outlet name: one line, no controls or invisible marks, capped; None if empty."""
    return clean_title(text, max_chars)


def clean_names(names: Iterable[str]) -> tuple[str, ...]:
    """Cleaned, de-duplicated author names, at most MAX_AUTHORS of them."""
    cleaned = (clean_name(name) for name in names)
    return tuple(dict.fromkeys(name for name in cleaned if name))[:MAX_AUTHORS]


def clean_summary(text: str | None) -> str | None:
    """A summary: controls and invisible marks dropped, accents composed, paragraphs kept, capped at MAX_SUMMARY_CHARS."""
    if text is None:
        return None
    return truncate(compose_accents(drop_invisible(strip_controls(text))).strip(), MAX_SUMMARY_CHARS) or None


def printable(text: object, *, multiline: bool = False) -> str:
    """Text safe to write to a terminal: no escape sequences, controls or bidi overrides.

    One line unless multiline (then newlines and tabs stay, for article text and listings).
    """
    value = _BIDI_RE.sub("", strip_controls(str(text)))
    return value if multiline else value.replace("\n", " ").replace("\t", " ")


def markup(text: object, *, multiline: bool = False) -> str:
    """printable() text escaped for Rich markup, so `[/]` in a URL is shown, not parsed."""
    from rich.markup import escape

    return escape(printable(text, multiline=multiline))


def json_dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps(ensure_ascii=False) that also writes DEL, C1 and bidi controls as \\u escapes.

    The data is unchanged (a JSON reader gets the same strings); only the terminal is spared them.
    """
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
