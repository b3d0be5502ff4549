"""Match alert rules (Lucene syntax + filters) against one article in-process.

Terms are compared after the tagger's folding and stemming (enrich.textnorm), so a rule behaves the
same whichever search backend is configured: `salcininkai` matches `Šalčininkų`, `Lietuva` matches
`Lietuvoje` where the stemmer joins them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from luqum.tree import (
    AndOperation,
    Boost,
    FieldGroup,
    Fuzzy,
    Group,
    Item,
    Not,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    Range,
    SearchField,
    UnknownOperation,
    Word,
)

from enrich.textnorm import fold, stem, tokenize
from newsmon.config import AlertRule
from newsmon.query import DATE_FIELDS, TEXT_FIELDS, canonical_field, parse_date_bound, parse_query
from newsmon.records import Article
from store.documents import article_to_document, parse_datetime


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

    def _tokens(self, text: str | None) -> _Tokens:
        folded = tuple(fold(t) for t in tokenize(text or ""))
        return _Tokens(folded, tuple(stem(t, self.language) for t in folded))

    @cached_property
    def fields(self) -> dict[str, _Tokens]:
        return {name: self._tokens(self.doc.get(name)) for name in TEXT_FIELDS}


def _query_tokens(value: str, language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    folded = tuple(fold(t) for t in tokenize(value))
    return folded, tuple(stem(t, language) for t in folded)


def _contains(tokens: _Tokens, folded: tuple[str, ...], stems: tuple[str, ...], prefix: bool) -> bool:
    n = len(folded)
    if n == 0:
        return False
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
            return True
    return False


def _eval(node: Item, view: ArticleView, columns: tuple[str, ...]) -> bool:
    if isinstance(node, (AndOperation, UnknownOperation)):
        return all(_eval(c, view, columns) for c in node.children)
    if isinstance(node, OrOperation):
        return any(_eval(c, view, columns) for c in node.children)
    if isinstance(node, (Not, Prohibit)):
        return not _eval(node.children[0], view, columns)
    if isinstance(node, (Group, FieldGroup)):
        return _eval(node.expr, view, columns)
    if isinstance(node, (Boost, Fuzzy, Plus)):
        return _eval(node.children[0], view, columns)
    if isinstance(node, Proximity):
        return _eval(Phrase(node.term.value), view, columns)
    if isinstance(node, SearchField):
        name = canonical_field(node.name)
        if name in TEXT_FIELDS:
            return _eval(node.expr, view, (name,))
        return _keyword(name, node.expr, view)
    if isinstance(node, (Word, Phrase)):
        raw = node.value.strip('"') if isinstance(node, Phrase) else node.value
        prefix = isinstance(node, Word) and raw.endswith("*")
        folded, stems = _query_tokens(raw.rstrip("*?"), view.language)
        return any(_contains(view.fields[c], folded, stems, prefix) for c in columns)
    return False


def _keyword(name: str, expr: Item, view: ArticleView) -> bool:
    while isinstance(expr, (Group, FieldGroup, Plus)):
        expr = expr.children[0]
    if isinstance(expr, (OrOperation, AndOperation, UnknownOperation)):
        results = [_keyword(name, c, view) for c in expr.children]
        return any(results) if isinstance(expr, OrOperation) else all(results)
    if isinstance(expr, (Not, Prohibit)):
        return not _keyword(name, expr.children[0], view)
    value = view.doc.get(name)
    if isinstance(expr, Range) and name in DATE_FIELDS:
        at = parse_datetime(value) if value else None
        if at is None:
            return False
        low, high = expr.low.value, expr.high.value
        ok = True
        if low != "*":
            bound = parse_date_bound(low)
            ok = ok and (at >= bound if expr.include_low else at > bound)
        if high != "*":
            bound = parse_date_bound(high)
            ok = ok and (at <= bound if expr.include_high else at < bound)
        return ok
    if not isinstance(expr, (Word, Phrase)):
        return False
    wanted = expr.value.strip('"').lower()
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is None:
            continue
        text = str(v).lower()
        if wanted.endswith("*") and text.startswith(wanted[:-1]):
            return True
        if text == wanted or (name in DATE_FIELDS and text.startswith(wanted)):
            return True
    return False


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
    query = rule.query.strip()
    return query == "*" or _eval(parse_query(query), view, TEXT_FIELDS)
