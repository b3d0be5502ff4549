"""Why a stored document was tagged: its topic decision and every matched term with the words around it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONTEXT_CHARS = 60
MAX_MATCHES = 60
SUMMARY_TERMS = 3
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TermMatch:
    """One pack term found in the document, and where: the field and the text on either side of it."""

    term: str  # the pack's concept id (lithuania, lukashenko, border_crossings …)
    kind: str  # side:<side>, subtopic:<id> or negative:<kind>, as the tagger writes it
    field: str  # title | text
    surface: str  # the words as the document writes them
    start: int  # character offsets into that field
    end: int
    before: str  # up to CONTEXT_CHARS of the same paragraph before the match
    after: str


@dataclass(frozen=True)
class TermEvidence:
    """One pack term with all its matches: how often, in which fields, and its first match for context."""

    term: str
    kind: str
    count: int
    fields: tuple[str, ...]
    first: TermMatch


@dataclass(frozen=True)
class TopicExplanation:
    topic: str | None
    on_topic: bool
    relevance: float
    subtopics: tuple[str, ...]
    entities: tuple[str, ...]
    matches: tuple[TermMatch, ...]
    summary: str  # one line: the decision, then each kind of evidence with its terms

    @property
    def evidence(self) -> tuple[TermEvidence, ...]:
        """The matches grouped by (kind, term), in the order each term first occurs: one line per reason."""
        grouped: dict[tuple[str, str], list[TermMatch]] = {}
        for match in self.matches:
            grouped.setdefault((match.kind, match.term), []).append(match)
        return tuple(TermEvidence(term=term, kind=kind, count=len(items),
                                  fields=tuple(dict.fromkeys(m.field for m in items)), first=items[0])
                     for (kind, term), items in grouped.items())


def explain_document(doc: Mapping[str, Any], *, labels: Mapping[str, str] | None = None,
                     context_chars: int = CONTEXT_CHARS, max_matches: int = MAX_MATCHES) -> TopicExplanation:
    """The explanation of one search document (newsmon.core.documents shape) from its stored `matched` terms.

    `labels` names a side for the summary (`{"lt": "Lithuania"}`, the pack's side labels); the
    matches come in document order, title first. A match whose offsets no longer fit the stored text
    (text edited after tagging) keeps its surface but gets no context.
    """
    fields = {"title": str(doc.get("title") or ""), "text": str(doc.get("text") or "")}
    raw = sorted(doc.get("matched") or (), key=lambda m: (m.get("field") != "title", m.get("start", 0)))
    matches = tuple(_match(m, fields, context_chars) for m in raw[:max_matches])
    on_topic = bool(doc.get("on_topic"))
    relevance = float(doc.get("relevance") or 0.0)
    return TopicExplanation(
        topic=doc.get("topic"),
        on_topic=on_topic,
        relevance=relevance,
        subtopics=tuple(doc.get("subtopics") or ()),
        entities=tuple(doc.get("entities") or ()),
        matches=matches,
        summary=_summary(on_topic, relevance, matches, labels or {}),
    )


def _match(raw: Mapping[str, Any], fields: Mapping[str, str], context_chars: int) -> TermMatch:
    field = str(raw.get("field") or "text")
    start, end = int(raw.get("start") or 0), int(raw.get("end") or 0)
    content = fields.get(field, "")
    surface = str(raw.get("surface") or "")
    before = after = ""
    if 0 <= start <= end <= len(content) and content[start:end] == surface:
        before = content[max(0, start - context_chars):start]
        if start > context_chars and " " in before:  # cut inside a word: start at the next one
            before = "…" + before[before.index(" "):]
        after = content[end:end + context_chars]
        if end + context_chars < len(content) and " " in after:
            after = after[:after.rindex(" ")] + " …"
        before = _one_line(before.rsplit("\n", 1)[-1])
        after = _one_line(after.split("\n", 1)[0])
    return TermMatch(term=str(raw.get("term") or ""), kind=str(raw.get("kind") or ""), field=field,
                     surface=surface, start=start, end=end, before=before, after=after)


def _one_line(text: str) -> str:
    # Runs of spaces and line breaks become one space; one at an edge stays, to part context from match.
    return _SPACES.sub(" ", text)


def kind_label(kind: str, labels: Mapping[str, str] | None = None) -> str:
    """`side:lt` → "Lithuania side" (with the pack's labels), `subtopic:border_crossings` → "subtopic border crossings"."""
    role, _, group = kind.partition(":")
    name = (labels or {}).get(group, group.replace("_", " "))
    if role == "side":
        return f"{name} side"
    if role == "negative":
        return f"against: {name}"
    return f"{role} {name}".strip()


def _summary(on_topic: bool, relevance: float, matches: tuple[TermMatch, ...], labels: Mapping[str, str]) -> str:
    """`on topic (relevance 0.82): Lithuania side: Šalčininkai, Vilnius; Belarus side: Minsk; subtopics: …`."""
    decision = f"{'on topic' if on_topic else 'not on topic'} (relevance {relevance:.2f})"
    sides: dict[str, dict[str, None]] = {}
    others: dict[str, dict[str, None]] = {}
    for match in matches:
        role, _, group = match.kind.partition(":")
        if role == "side":
            sides.setdefault(match.kind, {})[match.surface] = None
        else:
            others.setdefault(role, {})[group.replace("_", " ")] = None
    parts = [f"{kind_label(kind, labels)}: {_few(list(words))}" for kind, words in sides.items()]
    parts += [f"{role}{'s' if len(groups) > 1 else ''}: {_few(list(groups))}" for role, groups in others.items()]
    return f"{decision}: {'; '.join(parts)}" if parts else f"{decision}: no term of the topic pack found"


def _few(words: list[str], shown: int = SUMMARY_TERMS) -> str:
    more = len(words) - shown
    return ", ".join(words[:shown]) + (f" and {more} more" if more > 0 else "")
