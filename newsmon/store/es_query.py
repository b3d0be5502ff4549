"""Elasticsearch request bodies for a SearchQuery (pure: no client, no I/O), shared by the backend and tests."""

from __future__ import annotations

import copy
from typing import Any

from luqum.tree import Item, Phrase, SearchField, Word

from newsmon.core.documents import format_datetime
from newsmon.core.query import TEXT_FIELDS, canonical_field, parse_query, unescape, word_count
from newsmon.store.index import SearchQuery

# Unqualified words search every analysis of the text fields: the folded main field (diacritics and
# case ignored) and the language sub-fields (stemmed by Elasticsearch's built-in analyzers). Title
# matches weigh most, as in the SQLite backend's bm25 weights (title 4, summary 2, text 1).
DEFAULT_TEXT_FIELDS = (
    "title^4",
    "title.*^4",
    "summary^2",
    "summary.*^2",
    "text",
    "text.*",
)
SNIPPET_CHARS = 160
_SOURCE_FIELDS = [
    "id",
    "title",
    "url",
    "source",
    "source_affiliation",
    "published_at",
    "language",
    "on_topic",
    "relevance",
    "subtopics",
    "cluster_id",
]


def lucene_for_elasticsearch(q: str) -> str | None:
    """The user's query as Elasticsearch's query_string should get it; None for match-all ("" or "*").

    parse_query has refused everything query_string would read differently from the SQLite index and
    the rule matcher. What is left is the user's own text, with three rewrites so that Elasticsearch
    reads it as they do: field aliases spelled out (lang: -> language:), a word that the index
    splits into several (`Vilnius-Minsk`, `a\\:b`) quoted, because SQLite and the matcher look for
    those words next to each other while query_string would look for each anywhere, and a `/` in a
    keyword value escaped (`entities:person\\/lukashenko`), because query_string would start a
    regular expression there.
    Raises newsmon.core.query.QuerySyntaxError.
    """
    if q.strip() in ("", "*"):
        return None
    tree = parse_query(q)
    if not _needs_rewrite(tree, None):
        return q.strip()
    # parse_query is cached, so work on a copy rather than change the shared tree.
    return str(_rewrite(copy.deepcopy(tree), None)).strip()


def _needs_rewrite(node: Item, field: str | None) -> bool:
    if isinstance(node, SearchField):
        name = canonical_field(node.name)
        return name != node.name or _needs_rewrite(node.expr, name)
    if isinstance(node, Word):
        return _splits(node, field) or _bare_slash(node, field)
    return any(_needs_rewrite(child, field) for child in node.children)


def _splits(word: Word, field: str | None) -> bool:
    return (field is None or field in TEXT_FIELDS) and word_count(unescape(word.value)) > 1


def _bare_slash(word: Word, field: str | None) -> bool:
    return field is not None and field not in TEXT_FIELDS and "/" in _slashes_escaped(word.value)[1]


def _slashes_escaped(raw: str) -> tuple[str, str]:
    """(raw with every unescaped / escaped, the unescaped characters that were looked at)."""
    out, bare, i = [], [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(raw[i:i + 2])
            i += 2
            continue
        bare.append(raw[i])
        out.append("\\/" if raw[i] == "/" else raw[i])
        i += 1
    return "".join(out), "".join(bare)


def _rewrite(node: Item, field: str | None) -> Item:
    if isinstance(node, SearchField):
        node.name = canonical_field(node.name)
        node.expr = _rewrite(node.expr, node.name)
        return node
    if isinstance(node, Word):
        if _bare_slash(node, field):
            node.value = _slashes_escaped(node.value)[0]
            return node
        if not _splits(node, field):
            return node
        body = unescape(node.value).replace("\\", "\\\\").replace('"', '\\"')
        phrase = Phrase(f'"{body}"')
        phrase.head, phrase.tail = node.head, node.tail
        return phrase
    node.children = [_rewrite(child, field) for child in node.children]
    return node


def _any_of(field: str, values: tuple[str, ...]) -> dict[str, Any]:
    # `term` with case_insensitive matches the SQLite backend, which compares lower(value).
    return {
        "bool": {
            "should": [{"term": {field: {"value": v, "case_insensitive": True}}} for v in values],
            "minimum_should_match": 1,
        }
    }


def build_search_body(query: SearchQuery) -> dict[str, Any]:
    """The `_search` body for `query`: query_string (AND default) plus filters, sort, snippet highlight.

    Queries use the long forms (`{"term": {"f": {"value": v}}}`, `aggregations`) that Elastic's API
    description declares, not the shorthands it leaves out.
    """
    lucene = lucene_for_elasticsearch(query.q)
    filters: list[dict[str, Any]] = []
    published: dict[str, str] = {}
    if query.since:
        published["gte"] = format_datetime(query.since) or ""
    if query.until:
        published["lt"] = format_datetime(query.until) or ""
    if published:
        # As on the embedded index: an article whose page gives no date counts from when it was fetched.
        filters.append({
            "bool": {
                "should": [
                    {"range": {"published_at": published}},
                    {"bool": {"must_not": [{"exists": {"field": "published_at"}}],
                              "filter": [{"range": {"fetched_at": dict(published)}}]}},
                ],
                "minimum_should_match": 1,
            }
        })
    if query.on_topic is not None:
        filters.append({"term": {"on_topic": {"value": query.on_topic}}})
    if query.languages:
        filters.append(_any_of("language", query.languages))
    if query.sources:
        filters.append(_any_of("source", query.sources))
    if query.affiliations:
        filters.append(_any_of("source_affiliation", query.affiliations))
    filters.extend({"term": {"subtopics": {"value": sub}}} for sub in query.subtopics)

    must: list[dict[str, Any]]
    if lucene is None:
        must = [{"match_all": {}}]
    else:
        must = [
            {
                "query_string": {
                    "query": lucene,
                    "default_operator": "AND",
                    "fields": list(DEFAULT_TEXT_FIELDS),
                    "analyze_wildcard": True,
                    "allow_leading_wildcard": False,
                }
            }
        ]
    by_date = [
        {"published_at": {"order": "desc", "missing": "_last"}},
        {"fetched_at": {"order": "desc"}},
    ]
    sort: list[Any] = by_date if query.sort == "date" or lucene is None else ["_score", *by_date]
    paging = {"from": query.offset} if query.offset else {}
    return {
        "query": {"bool": {"must": must, "filter": filters}},
        "size": query.limit,
        **paging,
        "sort": sort,
        "track_total_hits": False,
        "_source": {"includes": _SOURCE_FIELDS},
        "highlight": {
            "fields": {
                "text": {
                    "fragment_size": SNIPPET_CHARS,
                    "number_of_fragments": 1,
                    "no_match_size": SNIPPET_CHARS,
                }
            },
            "pre_tags": [query.marks[0]],
            "post_tags": [query.marks[1]],
            "require_field_match": False,
        },
    }


def build_cluster_size_body(cluster_ids: list[str]) -> dict[str, Any]:
    """A size-0 `_search` counting the documents of each given cluster (for a hit's cluster_size)."""
    return {
        "size": 0,
        "query": {"terms": {"cluster_id": cluster_ids}},
        "aggregations": {"cluster_sizes": {"terms": {"field": "cluster_id", "size": len(cluster_ids)}}},
    }
