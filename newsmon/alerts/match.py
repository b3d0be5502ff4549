"""Match alert rules (Lucene syntax + filters) against one article in-process.

Terms are compared after the tagger's folding and stemming (newsmon.enrich.textnorm), so a rule behaves the
same whichever search backend is configured: `salcininkai` matches `Šalčininkų`, `Lietuva` matches
`Lietuvoje` where the stemmer joins them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from newsmon.core.config import AlertRule
from newsmon.core.documents import article_to_document, parse_datetime
from newsmon.core.query import (
    TEXT_FIELDS,
    AllOf,
    AnyOf,
    DateRange,
    KeywordTerm,
    Negated,
    Node,
    TextTerm,
    compile_query,
    resolve_bound,
)
from newsmon.core.records import Article
from newsmon.enrich.textnorm import fold, stem, tokenize


@dataclass(frozen=True)
class _Tokens:
    folded: tuple[str, ...]
    stems: tuple[str, ...]


class ArticleView:
    """An article's searchable form, computed once and shared by every rule."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.language = article.language
        self.doc = article_to_document(article)
        self.fields = _FieldTokens(self)

    def tokens(self, text: str | None) -> _Tokens:
        folded = tuple(fold(t) for t in tokenize(text or ""))
        return _Tokens(folded, tuple(stem(t, self.language) for t in folded))


class _FieldTokens(dict):
    """A field's tokens, made the first time a rule reads that field.

    Stemming a whole body is the dearest part of matching, and a rule on `title:` alone never needs it.
    """

    def __init__(self, view: ArticleView) -> None:
        super().__init__()
        self._view = view

    def __missing__(self, name: str) -> _Tokens:
        made = self[name] = self._view.tokens(self._view.doc.get(name))
        return made


def query_tokens(value: str, language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    folded = tuple(fold(t) for t in tokenize(value))
    return folded, tuple(stem(t, language) for t in folded)


def occurrences(tokens: _Tokens, folded: tuple[str, ...], stems: tuple[str, ...], prefix: bool) -> Iterator[int]:
    """Where a term's words occur in a field's tokens (the index of each occurrence's first token).

    A word matches when its folded form or its stem is the same; with `prefix` the last word is a prefix."""
    n = len(folded)
    if n == 0:
        return
    for i in range(len(tokens.folded) - n + 1):
        ok = True
        for j in range(n):
            doc_f, doc_s = tokens.folded[i + j], tokens.stems[i + j]
            last = j == n - 1
            if prefix and last:
                ok = doc_f.startswith(folded[j])
            else:
                ok = doc_f == folded[j] or doc_s == stems[j]
            if not ok:
                break
        if ok:
            yield i


def _contains(tokens: _Tokens, folded: tuple[str, ...], stems: tuple[str, ...], prefix: bool) -> bool:
    # A generator, so matching stops at the first occurrence; highlighting (highlight.py) walks them all.
    return next(occurrences(tokens, folded, stems, prefix), None) is not None


def _eval(node: Node, view: ArticleView) -> bool:
    # The same compiled tree newsmon/store/sqlite_index.py translates to SQL: keep the two in step.
    if isinstance(node, AllOf):
        return all(_eval(part, view) for part in node.parts)
    if isinstance(node, AnyOf):
        return any(_eval(part, view) for part in node.parts)
    if isinstance(node, Negated):
        return not _eval(node.part, view)
    if isinstance(node, TextTerm):
        folded, stems = query_tokens(node.text, view.language)
        columns = (node.field,) if node.field else TEXT_FIELDS
        return any(_contains(view.fields[c], folded, stems, node.prefix) for c in columns)
    if isinstance(node, KeywordTerm):
        return _keyword(node, view)
    if isinstance(node, DateRange):
        return _in_range(node, view)
    # A node kind compile_query gained must be taught here too; read as "no match", a rule would never fire.
    raise TypeError(f"the alert matcher cannot evaluate query node {node!r}")


def _keyword(term: KeywordTerm, view: ArticleView) -> bool:
    value = view.doc.get(term.field)
    if term.field == "on_topic":
        return bool(value) == (term.value == "true")
    for v in value if isinstance(value, list) else [value]:
        if v is None:
            continue
        text = str(v)
        if text.startswith(term.value) if term.prefix else text == term.value:
            return True
    return False


def _in_range(term: DateRange, view: ArticleView) -> bool:
    value = view.doc.get(term.field)
    at = parse_datetime(value) if value else None
    if at is None:  # an article without the date is in no range, as in Elasticsearch
        return False
    if term.low is not None:
        low = resolve_bound(term.low, round_up=not term.include_low)
        if not (at >= low if term.include_low else at > low):
            return False
    if term.high is not None:
        high = resolve_bound(term.high, round_up=term.include_high)
        if not (at <= high if term.include_high else at < high):
            return False
    return True


def rule_matches(rule: AlertRule, view: ArticleView) -> bool:
    """True when the article passes the rule's filters and its Lucene query."""
    article = view.article
    topic = article.topic
    if rule.on_topic is not None and (topic is not None and topic.on_topic) != rule.on_topic:
        return False
    if rule.min_relevance and (topic is None or topic.relevance < rule.min_relevance):
        return False
    if rule.subtopics and not (topic and set(rule.subtopics) & set(topic.subtopics)):
        return False
    if rule.languages and (article.language or "") not in rule.languages:
        return False
    if rule.sources and article.source not in rule.sources:
        return False
    compiled = compile_query(rule.query)
    return compiled is None or _eval(compiled, view)
