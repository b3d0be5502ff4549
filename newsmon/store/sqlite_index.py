"""Embedded search index: SQLite FTS5 with `unicode61 remove_diacritics 2`, in the state DB file.

`Šalčininkai` is indexed as `salcininkai`, so a diacritic-free query finds it. Queries use the same
Lucene syntax as Elasticsearch/Kibana (parsed by luqum, see newsmon.core.query) and are translated to SQL
in which every full-text leaf is an FTS5 MATCH sub-query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from newsmon.core.documents import article_to_document, format_datetime, parse_datetime
from newsmon.core.query import (
    AllOf,
    AnyOf,
    DateRange,
    KeywordTerm,
    Negated,
    Node,
    QuerySyntaxError,
    TextTerm,
    compile_query,
    resolve_bound,
)
from newsmon.core.records import Article
from newsmon.enrich.textnorm import fold
from newsmon.store.db import StoreUnavailable
from newsmon.store.index import PutResult, SearchHit, SearchQuery

_LIST_FIELDS = {"subtopics", "entities"}
# --since/--until and date sorting fall back to when we fetched an article whose page gives no date,
# so a fresh undated article is not hidden by `--since 1d`.
_DATE = "COALESCE(d.published_at, d.fetched_at)"
_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)
SNIPPET_CHARS = 160


class SqliteIndex:
    """FTS5 index in the state DB. Writes are create-only: an existing id is a counted duplicate."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_articles(self, articles: Sequence[Article]) -> PutResult:
        result = PutResult()
        insert = text(
            """INSERT OR IGNORE INTO search_docs (id, title, text, summary, title_f, text_f, summary_f, source,
               source_affiliation, source_country, language, topic, on_topic, relevance, subtopics, entities,
               cluster_id, dup_reason, published_at, fetched_at, doc)
               VALUES (:id, :title, :text, :summary, :title_f, :text_f, :summary_f, :source, :source_affiliation,
               :source_country, :language, :topic, :on_topic, :relevance, :subtopics, :entities, :cluster_id,
               :dup_reason, :published_at, :fetched_at, :doc)"""
        )
        try:
            with self.engine.begin() as conn:
                for article in articles:
                    doc = article_to_document(article)
                    row = {k: doc[k] for k in ("id", "title", "text", "summary", "source", "source_affiliation",
                                               "source_country", "language", "topic", "relevance", "cluster_id",
                                               "dup_reason", "published_at", "fetched_at")}
                    row.update(title_f=fold(doc["title"]), text_f=fold(doc["text"]),
                               summary_f=fold(doc["summary"]) if doc["summary"] else None,
                               on_topic=int(doc["on_topic"]), subtopics=json.dumps(doc["subtopics"]),
                               entities=json.dumps(doc["entities"]), doc=json.dumps(doc, ensure_ascii=False))
                    if conn.execute(insert, row).rowcount:
                        result.created.append(article.id)
                    else:
                        result.duplicates.append(article.id)
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot write the SQLite search index: {exc.orig}") from exc
        return result

    def get(self, article_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT doc FROM search_docs WHERE id = :id"), {"id": article_id}).first()
        return json.loads(row.doc) if row else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one())

    def close(self) -> None:
        """Nothing to release: the engine belongs to the caller."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        tree = compile_query(query.q) if query.q.strip() else None
        params: dict[str, Any] = {}
        where = [_Translator(params).sql(tree)] if tree is not None else []
        if query.since:
            where.append(f"{_DATE} >= :since")
            params["since"] = _iso(query.since)
        if query.until:
            where.append(f"{_DATE} < :until")
            params["until"] = _iso(query.until)
        if query.on_topic is not None:
            where.append("d.on_topic = :on_topic")
            params["on_topic"] = int(query.on_topic)
        for name, values in (("language", query.languages), ("source", query.sources),
                             ("source_affiliation", query.affiliations)):
            if values:
                keys = [f"{name}_{i}" for i in range(len(values))]
                where.append(f"lower(d.{name}) IN ({', '.join(':' + k for k in keys)})")
                params.update({k: v.lower() for k, v in zip(keys, values, strict=True)})
        for i, sub in enumerate(query.subtopics):
            where.append(f"EXISTS (SELECT 1 FROM json_each(d.subtopics) WHERE value = :sub_{i})")
            params[f"sub_{i}"] = sub
        rank_expr = _rank_expression(tree) if tree is not None else None
        params["limit"] = query.limit
        params["offset"] = query.offset
        where_sql = f"WHERE {' AND '.join(where)} " if where else ""
        # Two steps: rank rowids only, then read the rows of the page. Reading a row means reading its text
        # (every column after it sits behind the text's overflow pages), so the ranking step reads no
        # column the query does not need: the scores, a filter's columns, the dates for date order (from
        # the ix_search_docs_date index when nothing else is asked).
        if rank_expr:
            # Ranking and snippets come from the positive full-text terms; the WHERE alone decides what
            # matches, so `balloons OR source:x` also returns source:x articles without the word.
            params["rank_expr"] = rank_expr
            sql = (
                f"SELECT d.rowid AS rid, COALESCE(r.score, 0.0) AS score FROM search_docs d LEFT JOIN ("
                f"SELECT rowid AS rid, bm25(search_fts, 4.0, 1.0, 2.0, 4.0, 1.0, 2.0) AS score "
                f"FROM search_fts WHERE search_fts MATCH :rank_expr) r ON r.rid = d.rowid {where_sql}"
            )
            # Articles matched by a filter alone have no score: newest first, after the scored ones.
            order = ("(r.score IS NULL), r.score, CASE WHEN r.score IS NULL THEN d.fetched_at END DESC"
                     if query.sort == "relevance" else f"{_DATE} DESC, d.fetched_at DESC")
        else:
            sql = f"SELECT d.rowid AS rid, 0.0 AS score FROM search_docs d {where_sql}"
            order = f"{_DATE} DESC, d.fetched_at DESC"
        # rowid last: equal keys would otherwise come in any order, and a page could repeat its neighbour's hits.
        sql += f"ORDER BY {order}, d.rowid DESC LIMIT :limit OFFSET :offset"
        try:
            with self.engine.connect() as conn:
                ranked = [(int(rid), float(score)) for rid, score in conn.execute(text(sql), params)]
                rows = self._rows(conn, [rid for rid, _ in ranked])
                snippets = self._snippets(conn, rank_expr, [rid for rid, _ in ranked], query.marks) if rank_expr else {}
        except OperationalError as exc:
            if any(w in str(exc.orig).lower() for w in ("fts5", "syntax", "too large", "too many")):
                raise QuerySyntaxError(f"the embedded index cannot run {query.q!r}: {exc.orig}") from exc
            raise StoreUnavailable(f"cannot read the SQLite search index: {exc.orig}") from exc
        hits = []
        for rid, score in ranked:
            r = rows[rid]
            hits.append(SearchHit(
                id=r["id"],
                title=r["title"],
                url=json.loads(r["doc"])["url"],
                source=r["source"] or "",
                published_at=parse_datetime(r["published_at"]),
                language=r["language"],
                on_topic=bool(r["on_topic"]),
                relevance=float(r["relevance"]),
                subtopics=tuple(json.loads(r["subtopics"])),
                cluster_id=r["cluster_id"],
                snippet=" ".join((snippets.get(rid) or r["text"][:SNIPPET_CHARS]).split()),
                score=-score,
                cluster_size=int(r["csize"] or 1),
                source_affiliation=r["source_affiliation"],
            ))
        return hits

    @staticmethod
    def _rows(conn: Any, rowids: list[int]) -> dict[int, Any]:
        """The full rows of the hits shown, with the size of each one's story cluster."""
        if not rowids:
            return {}
        marks = ", ".join(str(r) for r in rowids)
        rows = conn.execute(text(
            "SELECT d.*, (SELECT count(*) FROM search_docs c WHERE c.cluster_id = d.cluster_id) AS csize "
            f"FROM search_docs d WHERE d.rowid IN ({marks})")).mappings().all()
        return {int(r["rowid"]): r for r in rows}

    @staticmethod
    def _snippets(conn: Any, rank_expr: str, rowids: list[int], around: tuple[str, str]) -> dict[int, str]:
        # Only for the hits shown: FTS5 builds a snippet by walking every phrase instance of every query
        # term in the article, which for a broad query over a large store costs far more than the search.
        if not rowids:
            return {}
        marks = ", ".join(str(int(r)) for r in rowids)
        # Not `rowid IN (…)` in the WHERE: FTS5 would then run the MATCH once per listed rowid.
        rows = conn.execute(
            text(f"SELECT rowid, snip FROM (SELECT rowid, CASE WHEN rowid IN ({marks}) THEN "
                 f"snippet(search_fts, 1, :mark_open, :mark_close, '…', 16) END AS snip FROM search_fts "
                 f"WHERE search_fts MATCH :rank_expr) WHERE snip IS NOT NULL"),
            {"rank_expr": rank_expr, "mark_open": around[0], "mark_close": around[1]},
        )
        return {row.rowid: row.snip for row in rows}


def _iso(value: datetime) -> str:
    formatted = format_datetime(value)
    assert formatted is not None  # a datetime in gives a string out
    return formatted


def _fts_string(value: str, *, prefix: bool = False) -> str:
    """An FTS5 string literal made of the value's word tokens (FTS5 needs its own quoting)."""
    tokens = _FTS_TOKEN.findall(value)
    if not tokens:  # parse_query refuses such terms; this guards the SQL
        raise QuerySyntaxError(f"{value!r} has no searchable word characters")
    phrase = '"' + " ".join(tokens) + '"'
    return phrase + "*" if prefix else phrase


def _fts_match(term: TextTerm) -> str:
    expr = _fts_string(term.text, prefix=term.prefix)
    return f"{{{term.field} {term.field}_f}} : {expr}" if term.field else expr


def _rank_expression(node: Node) -> str | None:
    """OR of every positive full-text term: drives bm25 ranking and snippets (logic is in the WHERE)."""
    leaves: list[str] = []

    def walk(n: Node, negated: bool) -> None:
        if isinstance(n, Negated):
            walk(n.part, not negated)
        elif isinstance(n, (AllOf, AnyOf)):
            for part in n.parts:
                walk(part, negated)
        elif isinstance(n, TextTerm) and not negated:
            leaves.append(_fts_match(n))

    walk(node, False)
    return " OR ".join(leaves) if leaves else None


# Stored dates are format_datetime() strings, with or without microseconds ('…T08:00:00Z',
# '…T08:00:00.250000Z'); as text '…00Z' sorts after '…00.25Z', so both are compared in one width.
_SORTABLE_DATE = "(substr(d.{0}, 1, 19) || CASE WHEN substr(d.{0}, 20, 1) = '.' THEN substr(d.{0}, 20, 7) ELSE '.000000' END)"


class _Translator:
    """Compiled query (newsmon.core.query) -> SQL boolean over search_docs aliased `d`, never NULL.

    newsmon/alerts/match.py evaluates the same tree in-process: keep the two in step.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def _param(self, value: Any) -> str:
        key = f"p{len(self.params)}"
        self.params[key] = value
        return f":{key}"

    def sql(self, node: Node) -> str:
        if isinstance(node, AllOf):
            return "(" + " AND ".join(self.sql(part) for part in node.parts) + ")"
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(self.sql(part) for part in node.parts) + ")"
        if isinstance(node, Negated):
            return f"(NOT {self.sql(node.part)})"
        if isinstance(node, TextTerm):
            return f"d.rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {self._param(_fts_match(node))})"
        if isinstance(node, KeywordTerm):
            return self._keyword(node)
        if isinstance(node, DateRange):
            return self._range(node)
        raise TypeError(f"the SQLite index cannot translate query node {node!r}")

    def _keyword(self, term: KeywordTerm) -> str:
        # Exact and case-sensitive, like Elasticsearch's keyword fields. A NULL column must give false,
        # not NULL, or NOT source_affiliation:x would also drop articles without an affiliation.
        if term.field == "on_topic":
            return f"d.on_topic = {int(term.value == 'true')}"
        value = self._param(term.value)
        if term.prefix:
            test = "substr({0}, 1, " + str(len(term.value)) + ") = " + value
        else:
            test = "{0} = " + value
        if term.field in _LIST_FIELDS:
            return f"EXISTS (SELECT 1 FROM json_each(d.{term.field}) WHERE {test.format('value')})"
        column = f"d.{term.field}"
        return f"({column} IS NOT NULL AND {test.format(column)})"

    def _range(self, term: DateRange) -> str:
        column = _SORTABLE_DATE.format(term.field)
        parts = [f"d.{term.field} IS NOT NULL"]
        if term.low is not None:
            low = resolve_bound(term.low, round_up=not term.include_low)
            parts.append(f"{column} {'>=' if term.include_low else '>'} {self._param(_sortable(low))}")
        if term.high is not None:
            high = resolve_bound(term.high, round_up=term.include_high)
            parts.append(f"{column} {'<=' if term.include_high else '<'} {self._param(_sortable(high))}")
        return "(" + " AND ".join(parts) + ")"


def _sortable(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
