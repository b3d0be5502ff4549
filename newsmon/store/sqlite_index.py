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
# Column weights: title and title_f count 4×, summaries 2×, text 1×.
_BM25 = "bm25(search_fts, 4.0, 1.0, 2.0, 4.0, 1.0, 2.0)"
SNIPPET_CHARS = 160
# Above this many articles matching a query's text terms, a search first reads the newest rows expected to
# hold RANGE_MATCHES of them (see SqliteIndex._page): bench/bench_store_scale.py at a million articles.
BROAD_MATCHES = 3000
RANGE_MATCHES = 1500
RANGE_GROWTH = 8
# The stored JSON document leaves out what its own columns hold: the text is the bulk of every row, and
# keeping it twice made search_docs half as large again (bench/bench_store_scale.py). Documents stored
# whole by earlier versions read the same.
_COLUMN_FIELDS = ("title", "text", "summary")


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
                               entities=json.dumps(doc["entities"]),
                               doc=json.dumps({k: v for k, v in doc.items() if k not in _COLUMN_FIELDS},
                                              ensure_ascii=False))
                    if conn.execute(insert, row).rowcount:
                        result.created.append(article.id)
                    else:
                        result.duplicates.append(article.id)
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot write the SQLite search index: {exc.orig}") from exc
        return result

    def get(self, article_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT title, text, summary, doc FROM search_docs WHERE id = :id"),
                               {"id": article_id}).first()
        return _document(row) if row else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one())

    def close(self) -> None:
        """Nothing to release: the engine belongs to the caller."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        tree = compile_query(query.q) if query.q.strip() else None
        params: dict[str, Any] = {"min_rowid": 0}
        where = _filters(tree, query, params, probe=False)
        # The same conditions with each text term as a lookup of one row, for the few rows _page checks.
        probe_where = _filters(tree, query, params, probe=True)
        rank_expr = _rank_expression(tree) if tree is not None else None
        params["limit"] = query.limit
        params["offset"] = query.offset
        if rank_expr:
            params["rank_expr"] = rank_expr
            # The unary + keeps SQLite from scanning the table by rowid for this bound: the matches drive.
            where.append("+d.rowid >= :min_rowid")
        where_sql = f"WHERE {' AND '.join(where)} " if where else ""
        # Two steps: the ids of the page first, then those rows whole. Sorting the matches with every column
        # (text, folded text, document) made a broad query over a large store copy all of them into the sorter.
        if rank_expr and query.sort == "relevance":
            # Ranking and snippets come from the positive full-text terms; the WHERE alone decides what
            # matches, so `balloons OR source:x` also returns source:x articles without the word.
            sql = (f"SELECT d.rowid AS rid, r.score AS score, {_DATE} AS at FROM search_docs d LEFT JOIN ("
                   f"SELECT rowid AS rid, {_BM25} AS score FROM search_fts WHERE search_fts MATCH :rank_expr "
                   f"AND rowid >= :min_rowid) r ON r.rid = d.rowid {where_sql}"
                   f"ORDER BY (r.score IS NULL), r.score, d.fetched_at DESC, d.rowid DESC LIMIT :limit OFFSET :offset")
        else:
            # ix_search_docs_date serves this order: the newest matches are found without sorting them all.
            sql = (f"SELECT d.rowid AS rid, NULL AS score, {_DATE} AS at FROM search_docs d {where_sql}"
                   f"ORDER BY {_DATE} DESC, d.fetched_at DESC, d.rowid DESC LIMIT :limit OFFSET :offset")
        try:
            with self.engine.connect() as conn:
                page = self._page(conn, sql, params, rank_expr, query.sort == "relevance", probe_where)
                rowids = [int(r.rid) for r in page]
                rows = self._rows(conn, rowids)
                extras = self._page_extras(conn, rank_expr, rowids, query.marks) if rank_expr else {}
        except OperationalError as exc:
            if any(w in str(exc.orig).lower() for w in ("fts5", "syntax", "too large", "too many")):
                raise QuerySyntaxError(f"the embedded index cannot run {query.q!r}: {exc.orig}") from exc
            raise StoreUnavailable(f"cannot read the SQLite search index: {exc.orig}") from exc
        hits = []
        for rid, score, _at in page:
            r = rows[int(rid)]
            snippet, page_score = extras.get(int(rid), (None, None))
            score = score if score is not None else page_score
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
                snippet=" ".join((snippet or r["text"][:SNIPPET_CHARS]).split()),
                score=-float(score or 0.0),
                cluster_size=int(r["csize"] or 1),
                source_affiliation=r["source_affiliation"],
            ))
        return hits

    @staticmethod
    def _page(conn: Any, sql: str, params: dict[str, Any], rank_expr: str | None, by_relevance: bool,
              probe_where: list[str]) -> list[Any]:
        """The page's (rowid, score, date) rows; a broad query reads the newest part of the index first.

        A common word matches a fifth of a large store, and reading every match (to rank or to date it)
        takes seconds at a million articles. So when the text terms match more than BROAD_MATCHES articles,
        the search runs over the newest rows (by when they were indexed) expected to hold about
        RANGE_MATCHES of them, and over RANGE_GROWTH times as many while the page is not full. In date
        order the answer is exact (an older range is read when an article outside the range could belong
        on the page); in relevance order a broad query is ranked among its newest matches.
        """
        if not rank_expr:
            return conn.execute(text(sql), params).all()
        matches = int(conn.execute(text("SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"),
                                   {"q": rank_expr}).scalar_one())
        if matches <= BROAD_MATCHES:
            return conn.execute(text(sql), params).all()
        # Two subqueries: SQLite answers a lone min() or max() from the end of the table, both together by a scan.
        low, high = conn.execute(text("SELECT (SELECT min(rowid) FROM search_docs), (SELECT max(rowid) FROM search_docs)")).one()
        span = (high - low + 1) * RANGE_MATCHES / matches
        while True:
            params["min_rowid"] = int(high - span) if high - span > low else 0
            page = conn.execute(text(sql), params).all()
            if params["min_rowid"] == 0:
                return page
            if len(page) >= params["limit"] and (by_relevance or not _older_could_be_newer(conn, probe_where, params, page)):
                return page
            span *= RANGE_GROWTH

    @staticmethod
    def _rows(conn: Any, rowids: list[int]) -> dict[int, Any]:
        if not rowids:
            return {}
        marks = ", ".join(str(r) for r in rowids)
        cluster_size = "(SELECT count(*) FROM search_docs c WHERE c.cluster_id = d.cluster_id)"
        rows = conn.execute(text(f"SELECT d.*, {cluster_size} AS csize FROM search_docs d WHERE d.rowid IN ({marks})"))
        return {int(r["rowid"]): r for r in rows.mappings()}

    @staticmethod
    def _page_extras(conn: Any, rank_expr: str, rowids: list[int], around: tuple[str, str]) -> dict[int, tuple[str, float]]:
        """Snippet and bm25 score of each hit shown, in one pass over the matches.

        Only for the hits shown: FTS5 builds a snippet by walking every phrase instance of every query
        term in the article, which for a broad query over a large store costs far more than the search.
        Not `rowid IN (…)` in the WHERE: FTS5 would then run the MATCH once per listed rowid; the rowid bound
        lets it skip the older matches.
        """
        if not rowids:
            return {}
        marks = ", ".join(str(r) for r in rowids)
        rows = conn.execute(
            text(f"SELECT rowid, snip, score FROM (SELECT rowid, CASE WHEN rowid IN ({marks}) THEN "
                 f"snippet(search_fts, 1, :mark_open, :mark_close, '…', 16) END AS snip, CASE WHEN rowid IN ({marks}) THEN "
                 f"{_BM25} END AS score FROM search_fts WHERE search_fts MATCH :rank_expr AND rowid >= :first) "
                 f"WHERE snip IS NOT NULL"),
            {"rank_expr": rank_expr, "first": min(rowids), "mark_open": around[0], "mark_close": around[1]},
        )
        return {row.rowid: (row.snip, row.score) for row in rows}


def _older_could_be_newer(conn: Any, probe_where: list[str], params: dict[str, Any], page: list[Any]) -> bool:
    """Whether an article indexed before the range read has a date on the page's span (then the range is widened).

    Dates are when an article was published (or fetched), never after it was indexed, so such articles are rare:
    a late retry of an article the index refused, a publisher's date in the future. The check reads only the
    dates from the page's last one on (ix_search_docs_date), and looks up each text term for those rows alone.
    """
    # `+d.rowid`: the range is read from ix_search_docs_date, never by walking the table up to `below`.
    conditions = " AND ".join([f"{_DATE} >= :oldest", "+d.rowid < :below", *probe_where])
    probe = dict(params, oldest=page[-1].at, below=params["min_rowid"])
    return conn.execute(text(f"SELECT 1 FROM search_docs d WHERE {conditions} LIMIT 1"), probe).first() is not None


def _filters(tree: Node | None, query: SearchQuery, params: dict[str, Any], *, probe: bool) -> list[str]:
    """The SQL conditions of a query on search_docs `d`, adding their values to `params`."""
    where = [_Translator(params, probe=probe).sql(tree)] if tree is not None else []
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
    return where


def _document(row: Any) -> dict[str, Any]:
    doc = json.loads(row.doc)
    doc.update({name: getattr(row, name) for name in _COLUMN_FIELDS})
    return doc


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

    def __init__(self, params: dict[str, Any], *, probe: bool = False) -> None:
        self.params = params
        self.probe = probe  # text terms as a lookup of the row at hand, instead of the list of every match

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
            match = self._param(_fts_match(node))
            if self.probe:
                return f"EXISTS (SELECT 1 FROM search_fts WHERE search_fts MATCH {match} AND rowid = d.rowid)"
            return f"d.rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {match} AND rowid >= :min_rowid)"
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
