"""Lucene query syntax (as typed in Kibana's Lucene bar) parsed once with luqum, for search and alert rules.

The implicit operator between terms is AND on every backend (Elasticsearch gets
`default_operator: AND`, and the Kibana saved objects set the same for the Lucene bar), because
`Medininkai closed` should mean both words for an alert, not either.
"""

from __future__ import annotations

from functools import lru_cache

from luqum.exceptions import ParseError
from luqum.parser import parser
from luqum.tree import Item

# Fields a query may name. Text fields are full-text searched; the rest are exact (keyword) filters.
TEXT_FIELDS = ("title", "text", "summary")
KEYWORD_FIELDS = (
    "source",
    "source_affiliation",
    "source_country",
    "language",
    "subtopics",
    "entities",
    "cluster_id",
    "dup_reason",
    "on_topic",
    "topic",
    "id",
)
DATE_FIELDS = ("published_at", "fetched_at")
FIELD_ALIASES = {"affiliation": "source_affiliation", "lang": "language", "subtopic": "subtopics", "entity": "entities"}


class QuerySyntaxError(ValueError):
    """A query string that is not valid Lucene syntax or names an unknown field."""


@lru_cache(maxsize=512)
def parse_query(query: str) -> Item:
    """Parse `query` (Lucene syntax); raise QuerySyntaxError naming the query and what to fix."""
    text = query.strip()
    if not text:
        raise QuerySyntaxError("empty query: give words, \"a phrase\", field:value, AND/OR/NOT")
    try:
        tree = parser.parse(text)
    except (ParseError, TypeError, ValueError) as exc:
        raise QuerySyntaxError(f"cannot parse query {query!r}: {exc}; check quotes, brackets and AND/OR/NOT") from exc
    _check_fields(tree, query)
    return tree


def canonical_field(name: str) -> str:
    return FIELD_ALIASES.get(name, name)


def _check_fields(node: Item, query: str) -> None:
    from luqum.tree import SearchField

    if isinstance(node, SearchField):
        name = canonical_field(node.name)
        if name not in TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS:
            known = ", ".join(TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS)
            raise QuerySyntaxError(f"unknown field {node.name!r} in query {query!r}; known fields: {known}")
    for child in node.children:
        _check_fields(child, query)
