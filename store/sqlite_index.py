"""Embedded search index: SQLite FTS5 with `unicode61 remove_diacritics 2`, in the state DB file.

`Šalčininkai` is indexed as `salcininkai`, so a diacritic-free query finds it. Queries use the same
Lucene syntax as Elasticsearch/Kibana (parsed by luqum, see newsmon.query) and are translated to SQL
in which every full-text leaf is an FTS5 MATCH sub-query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from enrich.textnorm import fold
from newsmon.query import (
    DATE_FIELDS,
    TEXT_FIELDS,
    QuerySyntaxError,
    canonical_field,
    parse_date_bound,
    parse_query,
)
from newsmon.records import Article
from store.db import StoreUnavailable
from store.documents import article_to_document, format_datetime, parse_datetime
from store.index import PutResult, SearchHit, SearchQuery

SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS search_docs (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        summary TEXT,
        title_f TEXT NOT NULL DEFAULT '', text_f TEXT NOT NULL DEFAULT '', summary_f TEXT,
        source TEXT, source_affiliation TEXT, source_country TEXT, language TEXT, topic TEXT,
        on_topic INTEGER NOT NULL DEFAULT 0, relevance REAL NOT NULL DEFAULT 0,
        subtopics TEXT NOT NULL DEFAULT '[]', entities TEXT NOT NULL DEFAULT '[]',
        cluster_id TEXT, dup_reason TEXT,
        published_at TEXT, fetched_at TEXT NOT NULL,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_search_docs_published ON search_docs (published_at)",
    "CREATE INDEX IF NOT EXISTS ix_search_docs_cluster ON search_docs (cluster_id)",
    # title_f/text_f/summary_f hold enrich.textnorm.fold() of each field: unicode61 strips combining
    # diacritics (š, č, ą) but keeps letters such as ł, ø, đ whole; the folded copy makes `bialorusia`
    # find `Białorusią` too.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, text, summary, title_f, text_f, summary_f, content='search_docs', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES (new.rowid, new.title, new.text, new.summary, new.title_f, new.text_f, new.summary_f);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES ('delete', old.rowid, old.title, old.text, old.summary, old.title_f, old.text_f, old.summary_f);
    END""",
)

_LIST_FIELDS = {"subtopics", "entities"}
# --since/--until and date sorting fall back to when we fetched an article whose page gives no date,
# so a fresh undated article is not hidden by `--since 1d`.
_DATE = "COALESCE(d.published_at, d.fetched_at)"
_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


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
        tree = parse_query(query.q) if query.q.strip() not in ("", "*") else None
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
        for name, values in (("language", query.languages), ("source", query.sources)):
            if values:
                keys = [f"{name}_{i}" for i in range(len(values))]
                where.append(f"lower(d.{name}) IN ({', '.join(':' + k for k in keys)})")
                params.update({k: v.lower() for k, v in zip(keys, values, strict=True)})
        for i, sub in enumerate(query.subtopics):
            where.append(f"EXISTS (SELECT 1 FROM json_each(d.subtopics) WHERE value = :sub_{i})")
            params[f"sub_{i}"] = sub
        rank_expr = _rank_expression(tree) if tree is not None else None
        params["limit"] = query.limit
        cluster_size = "(SELECT count(*) FROM search_docs c WHERE c.cluster_id = d.cluster_id)"
        where_sql = f"WHERE {' AND '.join(where)} " if where else ""
        if rank_expr:
            # Ranking and snippets come from the positive full-text terms; the WHERE alone decides what
            # matches, so `balloons OR source:x` also returns source:x articles without the word.
            params["rank_expr"] = rank_expr
            sql = (
                f"SELECT d.*, COALESCE(r.score, 0.0) AS score, COALESCE(r.snip, substr(d.text, 1, 160)) AS snip, "
                f"{cluster_size} AS csize FROM search_docs d LEFT JOIN ("
                f"SELECT rowid AS rid, bm25(search_fts, 4.0, 1.0, 2.0, 4.0, 1.0, 2.0) AS score, "
                f"snippet(search_fts, 1, '[', ']', '…', 16) AS snip FROM search_fts WHERE search_fts MATCH :rank_expr"
                f") r ON r.rid = d.rowid {where_sql}"
            )
            order = "(r.score IS NULL), r.score" if query.sort == "relevance" else f"{_DATE} DESC"
        else:
            sql = f"SELECT d.*, 0.0 AS score, substr(d.text, 1, 160) AS snip, {cluster_size} AS csize FROM search_docs d {where_sql}"
            order = f"{_DATE} DESC"
        sql += f"ORDER BY {order}, d.fetched_at DESC LIMIT :limit"
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text(sql), params).mappings().all()
        except OperationalError as exc:
            if any(w in str(exc.orig).lower() for w in ("fts5", "syntax", "too large", "too many")):
                raise QuerySyntaxError(f"the embedded index cannot run {query.q!r}: {exc.orig}") from exc
            raise StoreUnavailable(f"cannot read the SQLite search index: {exc.orig}") from exc
        return [
            SearchHit(
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
                snippet=" ".join((r["snip"] or "").split()),
                score=-float(r["score"]),
                cluster_size=int(r["csize"] or 1),
            )
            for r in rows
        ]


def _iso(value: datetime) -> str:
    formatted = format_datetime(value)
    assert formatted is not None  # a datetime in gives a string out
    return formatted


def _fts_string(value: str, *, prefix: bool = False) -> str:
    """An FTS5 string literal made of the value's word tokens (FTS5 needs its own quoting)."""
    tokens = _FTS_TOKEN.findall(value)
    if not tokens:
        raise QuerySyntaxError(f"{value!r} has no searchable word characters")
    phrase = '"' + " ".join(tokens) + '"'
    return phrase + "*" if prefix else phrase


def _word_to_fts(value: str) -> str:
    if value.endswith("*") and "*" not in value[:-1] and "?" not in value:
        return _fts_string(value[:-1], prefix=True)
    if "*" in value or "?" in value:
        raise QuerySyntaxError(
            f"wildcard {value!r}: the embedded index supports only a trailing * (e.g. migr*); "
            "use the Elasticsearch backend for other wildcards"
        )
    return _fts_string(value)


def _rank_expression(node: Item, negated: bool = False) -> str | None:
    """OR of every positive full-text leaf: drives bm25 ranking and snippets (logic is in the WHERE)."""
    leaves: list[str] = []

    def walk(n: Item, neg: bool, column: str | None) -> None:
        if isinstance(n, (Not, Prohibit)):
            walk(n.children[0], not neg, column)
        elif isinstance(n, SearchField):
            name = canonical_field(n.name)
            if name in TEXT_FIELDS:
                walk(n.expr, neg, name)
        elif isinstance(n, (Word, Phrase)) and not neg:
            try:
                expr = _word_to_fts(n.value) if isinstance(n, Word) else _fts_string(n.value.strip('"'))
            except QuerySyntaxError:
                return
            leaves.append(f"{{{column} {column}_f}} : {expr}" if column else expr)
        else:
            for child in n.children:
                walk(child, neg, column)

    walk(node, negated, None)
    return " OR ".join(leaves) if leaves else None


class _Translator:
    """Lucene tree -> SQL boolean expression over search_docs aliased `d`."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def _param(self, value: Any) -> str:
        key = f"p{len(self.params)}"
        self.params[key] = value
        return f":{key}"

    def sql(self, node: Item, column: str | None = None) -> str:
        if isinstance(node, (AndOperation, UnknownOperation)):
            return "(" + " AND ".join(self.sql(c, column) for c in node.children) + ")"
        if isinstance(node, OrOperation):
            return "(" + " OR ".join(self.sql(c, column) for c in node.children) + ")"
        if isinstance(node, (Not, Prohibit)):
            return f"(NOT {self.sql(node.children[0], column)})"
        if isinstance(node, (Group, FieldGroup)):
            return self.sql(node.expr, column)
        if isinstance(node, (Boost, Fuzzy, Plus)):
            return self.sql(node.children[0], column)
        if isinstance(node, SearchField):
            name = canonical_field(node.name)
            if name in TEXT_FIELDS:
                return self.sql(node.expr, name)
            return self._keyword(name, node.expr)
        if isinstance(node, Proximity):
            return self.sql(Phrase(node.term.value), column)
        if isinstance(node, Word):
            return self._fts(_word_to_fts(node.value), column)
        if isinstance(node, Phrase):
            return self._fts(_fts_string(node.value.strip('"')), column)
        raise QuerySyntaxError(f"the embedded index does not support {node!s} here")

    def _fts(self, expr: str, column: str | None) -> str:
        match = f"{{{column} {column}_f}} : {expr}" if column else expr
        return f"d.rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {self._param(match)})"

    def _keyword(self, name: str, expr: Item) -> str:
        if isinstance(expr, (Group, FieldGroup)):
            return self._keyword_group(name, expr.expr)
        if isinstance(expr, Range):
            if name not in DATE_FIELDS:
                raise QuerySyntaxError(f"ranges are supported on {', '.join(DATE_FIELDS)} only, not {name}")
            parts = []
            low, high = expr.low.value, expr.high.value
            if low != "*":
                parts.append(f"d.{name} {'>=' if expr.include_low else '>'} {self._param(_date_bound(low))}")
            if high != "*":
                parts.append(f"d.{name} {'<=' if expr.include_high else '<'} {self._param(_date_bound(high))}")
            return "(" + " AND ".join(parts or ["1=1"]) + ")"
        if not isinstance(expr, (Word, Phrase)):
            raise QuerySyntaxError(f"{name}: expects a value, a phrase or (a OR b)")
        value = expr.value.strip('"')
        if name == "on_topic":
            if value.lower() not in ("true", "false"):
                raise QuerySyntaxError(f"on_topic takes true or false, not {value!r}")
            return f"d.on_topic = {int(value.lower() == 'true')}"
        if name in DATE_FIELDS:
            return f"substr(d.{name}, 1, {len(value)}) = {self._param(value)}"
        if name == "id":
            return f"d.id = {self._param(value)}"
        pattern = value.lower().replace("*", "%").replace("?", "_")
        op = "LIKE" if pattern != value.lower() else "="
        if name in _LIST_FIELDS:
            return f"EXISTS (SELECT 1 FROM json_each(d.{name}) WHERE lower(value) {op} {self._param(pattern)})"
        return f"lower(d.{name}) {op} {self._param(pattern)}"

    def _keyword_group(self, name: str, expr: Item) -> str:
        if isinstance(expr, (Group, FieldGroup, Plus)):
            return self._keyword_group(name, expr.children[0])
        if isinstance(expr, (AndOperation, OrOperation, UnknownOperation)):
            joiner = " OR " if isinstance(expr, OrOperation) else " AND "
            return "(" + joiner.join(self._keyword_group(name, c) for c in expr.children) + ")"
        if isinstance(expr, (Not, Prohibit)):
            return f"(NOT {self._keyword_group(name, expr.children[0])})"
        return self._keyword(name, expr)


def _date_bound(value: str) -> str:
    return _iso(parse_date_bound(value))
