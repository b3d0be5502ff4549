"""The sentences of an article that hold a rule's own words, split into segments with those words marked."""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsmon.alerts.match import ArticleView, occurrences, query_tokens
from newsmon.alerts.message import Segment
from newsmon.core.config import AlertRule
from newsmon.core.query import TEXT_FIELDS, AllOf, AnyOf, Node, TextTerm, compile_query
from newsmon.enrich.textnorm import tokenize

# The article text first (it has the context), then the summary, then the title: the first field with a hit.
FIELD_ORDER = ("text", "summary", "title")
# A sentence ends at . ! ? … (and closing quotes or brackets) before white space, or at a line break.
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'»”’)\]]*\s+|\n+")
# A sentence longer than this (a run-on page without full stops) is cut to a window around its first hit.
MAX_PASSAGE_CHARS = 320

Passage = tuple[Segment, ...]


def rule_terms(node: Node | None) -> Iterator[TextTerm]:
    """The rule's own text terms: every TextTerm outside a NOT (a negated word is never what made it fire)."""
    if isinstance(node, AllOf | AnyOf):
        for part in node.parts:
            yield from rule_terms(part)
    elif isinstance(node, TextTerm):
        yield node
    # Negated, KeywordTerm, DateRange and None hold no words to show.


def passages(rule: AlertRule, view: ArticleView, max_sentences: int = 2) -> tuple[Passage, ...]:
    """Up to `max_sentences` sentences (in text order) of the first field holding the rule's words, marked."""
    terms = list(rule_terms(compile_query(rule.query)))
    if not terms:
        return ()
    for field in FIELD_ORDER:
        text = view.doc.get(field) or ""
        hits = _hit_spans(terms, view, field, text)
        if hits:
            return tuple(_passage(text, start, end, hits) for start, end in _sentences_with(text, hits)[:max_sentences])
    return ()


def _token_spans(text: str) -> list[tuple[int, int]]:
    # The spans of exactly the tokens match.py compares (textnorm.tokenize), found in order in the text.
    spans, at = [], 0
    for token in tokenize(text):
        start = text.index(token, at)
        spans.append((start, start + len(token)))
        at = start + len(token)
    return spans


def _hit_spans(terms: list[TextTerm], view: ArticleView, field: str, text: str) -> list[tuple[int, int]]:
    """Character spans of the field's text that the terms match, merged where they touch or overlap."""
    if field not in TEXT_FIELDS or not text:
        return []
    tokens = view.fields[field]
    spans: list[tuple[int, int]] | None = None
    found = []
    for term in terms:
        if term.field not in (None, field):
            continue
        folded, stems = query_tokens(term.text, view.language)
        for first in occurrences(tokens, folded, stems, term.prefix):
            spans = spans if spans is not None else _token_spans(text)
            found.append((spans[first][0], spans[first + len(folded) - 1][1]))
    return _merge(found)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _sentences(text: str) -> list[tuple[int, int]]:
    bounds, at = [], 0
    for end in _SENTENCE_END_RE.finditer(text):
        bounds.append((at, end.end()))
        at = end.end()
    if at < len(text):
        bounds.append((at, len(text)))
    return bounds


def _sentences_with(text: str, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(s, e) for s, e in _sentences(text) if any(h < e and s < t for h, t in hits)]


def _passage(text: str, start: int, end: int, hits: list[tuple[int, int]]) -> Passage:
    start, end, lead, tail = _window(text, start, end, hits)
    segments, at = [], start
    for h, t in hits:
        h, t = max(h, start), min(t, end)
        if h >= t:
            continue
        if h > at:
            segments.append(Segment(text[at:h]))
        segments.append(Segment(text[h:t], hit=True))
        at = t
    if at < end:
        segments.append(Segment(text[at:end]))
    return _tidy(segments, lead, tail)


def _window(text: str, start: int, end: int, hits: list[tuple[int, int]]) -> tuple[int, int, bool, bool]:
    """The sentence, or a word-aligned window of MAX_PASSAGE_CHARS around its first hit; and whether it was cut."""
    if end - start <= MAX_PASSAGE_CHARS:
        return start, end, False, False
    first = next(h for h, t in hits if h < end and start < t)
    low = max(start, first - MAX_PASSAGE_CHARS // 3)
    high = min(end, low + MAX_PASSAGE_CHARS)
    while low > start and not text[low - 1].isspace():
        low -= 1
    while high < end and not text[high].isspace():
        high += 1
    return low, high, low > start, high < end


def _tidy(segments: list[Segment], lead: bool, tail: bool) -> Passage:
    """White space collapsed inside each segment, the passage stripped at its ends, "…" where it was cut."""
    out = [Segment(re.sub(r"\s+", " ", s.text), s.hit) for s in segments]
    if out:  # hits are whole words, so only a plain segment has white space at an end
        out[0] = Segment(out[0].text.lstrip(), out[0].hit)
        out[-1] = Segment(out[-1].text.rstrip(), out[-1].hit)
    return tuple(s for s in ([Segment("… ")] if lead else []) + out + ([Segment(" …")] if tail else []) if s.text)
