"""Lucene query syntax (as typed in Kibana's Lucene bar) parsed once with luqum, for search and alert rules.

The implicit operator between terms is AND on every backend (Elasticsearch gets
`default_operator: AND`, and the Kibana saved objects set the same for the Lucene bar), because
`Medininkai closed` should mean both words for an alert, not either.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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


_DATE_MATH = re.compile(r"^now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHm]))?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "H": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}


def parse_date_bound(value: str, now: datetime | None = None) -> datetime:
    """A range bound as Elasticsearch reads it: an ISO date or datetime, or date maths such as
    `now`, `now-7d`, `now-1d/d` (months and years are counted as 30 and 365 days). UTC-aware."""
    text = value.strip()
    match = _DATE_MATH.match(text)
    if match:
        at = now or datetime.now(UTC)
        for sign, amount, unit in re.findall(r"([+-])(\d+)([yMwdhHms])", match.group(1)):
            delta = timedelta(seconds=int(amount) * _UNIT_S[unit])
            at = at + delta if sign == "+" else at - delta
        rounding = match.group(2)
        if rounding in ("d", "w", "M", "y"):
            at = at.replace(hour=0, minute=0, second=0, microsecond=0)
        elif rounding in ("h", "H"):
            at = at.replace(minute=0, second=0, microsecond=0)
        elif rounding == "m":
            at = at.replace(second=0, microsecond=0)
        return at
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QuerySyntaxError(
            f"date {value!r}: use 2025-06-01, 2025-06-01T08:00:00Z or date maths like now-7d"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_fields(node: Item, query: str, field: str | None = None) -> None:
    """Refuse what neither backend evaluates the same way, with the reason, at parse time."""
    from luqum.tree import (
        AndOperation,
        Boost,
        FieldGroup,
        Fuzzy,
        Group,
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

    if isinstance(node, SearchField):
        name = canonical_field(node.name)
        if name not in TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS:
            known = ", ".join(TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS)
            raise QuerySyntaxError(f"unknown field {node.name!r} in query {query!r}; known fields: {known}")
        field = name
    elif isinstance(node, Range):
        if field not in DATE_FIELDS:
            raise QuerySyntaxError(f"ranges work on {', '.join(DATE_FIELDS)} only: {node} in {query!r}")
        for bound in (node.low, node.high):
            if bound.value != "*":
                parse_date_bound(bound.value)
        return
    elif not isinstance(node, (AndOperation, OrOperation, UnknownOperation, Not, Prohibit, Plus, Group, FieldGroup,
                               Word, Phrase, Proximity, Boost, Fuzzy)):
        kind = type(node).__name__.lower()
        raise QuerySyntaxError(
            f"{node} ({kind}) is not supported in {query!r}: use words, \"phrases\", prefix*, field:value, "
            "field:(a OR b), [from TO to] ranges on dates, AND/OR/NOT"
        )
    for child in node.children:
        _check_fields(child, query, field)
