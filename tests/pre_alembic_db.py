"""A state DB as newsmon left it before schema revisions (the frozen DDL in fixtures/state_db), with rows in every table."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, text
from sqlalchemy.engine import Engine
from test_dedup_fixtures import BALLOONS, BASE_AT, FENCE, article, wire_copy

from newsmon.core.documents import article_to_document
from newsmon.core.records import Article, FeedState
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import insert_ignore
from newsmon.store.feedstate import save_feed_state
from newsmon.store.schema import seen_entries
from newsmon.store.sqlite_index import SqliteIndex

FIXTURES = Path(__file__).parent / "fixtures" / "state_db"
TABLES = ("newsmon_meta", "feed_state", "seen_entries", "articles", "clusters", "alert_outbox", "runs", "dedup_docs",
          "dedup_bands", "dedup_bands_mid", "dedup_bands_recent", "dedup_common_bands", "dedup_lock")
SQLITE_TABLES = ("search_docs",)


@dataclass(frozen=True)
class OldContent:
    """What was written before the upgrade, for the checks after it."""

    feeds: tuple[FeedState, ...]
    articles: tuple[Article, ...]  # as clustered and indexed: the balloons story, its wire copy, the fence


def create_pre_alembic_db(engine: Engine) -> None:
    """The tables exactly as newsmon created them before revisions, and the schema_version row it wrote."""
    ddl = (FIXTURES / f"pre_alembic.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.driver_connection.executescript(ddl)  # the trigger bodies hold semicolons of their own
        finally:
            raw.close()
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql(ddl)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO newsmon_meta (key, value) VALUES ('schema_version', '1')"))


def fill_every_table(engine: Engine) -> OldContent:
    """Rows in every table, written by newsmon's own writers where it has one, as a running newsmon would."""
    feeds = (
        FeedState(feed_id="lrt-en", url="https://www.lrt.lt/en/rss", etag='W/"17"', body_hash="a" * 64,
                  next_poll_at=BASE_AT + timedelta(minutes=10), last_polled_at=BASE_AT, last_success_at=BASE_AT,
                  failures=0, interval_s=600, items_seen=42, configured_url="https://www.lrt.lt/en/rss"),
        FeedState(feed_id="belta-ru", url="https://belta.example/rss", last_error="HTTP 503", failures=3,
                  next_poll_at=BASE_AT + timedelta(hours=1), disabled_reason=None, items_seen=0),
    )
    balloons = article("https://www.lrt.lt/naujienos/1/2712345/balionai", BALLOONS, minutes=0, source="LRT")
    copy = article("https://www.delfi.lt/news/balionai.d?id=1", wire_copy(BALLOONS, "VILNIUS (BNS) –", "All rights reserved."),
                   minutes=5, source="Delfi")
    fence = article("https://www.15min.lt/naujiena/tvora-56-1", FENCE, minutes=3, source="15min")
    with engine.begin() as conn:
        for state in feeds:
            save_feed_state(conn, state)
        for n, a in enumerate((balloons, copy, fence)):
            insert_ignore(conn, seen_entries, {"feed_id": "lrt-en", "entry_key": f"{n:064x}", "outcome": "staged",
                                               "article_id": a.id, "seen_at": BASE_AT})
        insert_ignore(conn, seen_entries, {"feed_id": "belta-ru", "entry_key": "f" * 64, "outcome": "skipped:no_link",
                                           "article_id": None, "seen_at": BASE_AT})
        clustered = tuple(assign_clusters(conn, [copy, fence, balloons], BASE_AT))
    tables = _reflect(engine)
    with engine.begin() as conn:
        conn.execute(tables["newsmon_meta"].insert(), [{"key": "digest_hourly_at", "value": BASE_AT.isoformat()}])
        conn.execute(tables["articles"].insert(), [
            {"id": a.id, "canonical_url": a.canonical_url, "feed_id": "lrt-en", "source": a.source,
             "content_hash": a.content_hash, "published_at": a.published_at, "staged_at": BASE_AT, "status": "indexed",
             "index_error": None, "cluster_id": a.cluster_id, "duplicate_of": a.duplicate_of, "dup_reason": a.dup_reason,
             "alerted": a.duplicate_of is None, "doc": article_to_document(a)} for a in clustered])
        conn.execute(tables["alert_outbox"].insert(), [
            {"rule": "checkpoints", "cluster_id": balloons.id, "article_id": balloons.id, "mode": "instant",
             "status": "sent", "attempts": 1, "last_error": None, "created_at": BASE_AT, "sent_at": BASE_AT + timedelta(seconds=5),
             "payload": {"title": "Lithuania closed its two remaining road checkpoints", "delivered": ["file:#1"]}},
            {"rule": "fence-digest", "cluster_id": fence.id, "article_id": fence.id, "mode": "daily",
             "status": "failed", "attempts": 8, "last_error": "smtp: connection refused", "created_at": BASE_AT,
             "sent_at": None, "payload": {"title": "Construction of the steel fence"}},
        ])
        conn.execute(tables["runs"].insert(), [
            {"stage": "poll", "started_at": BASE_AT, "finished_at": BASE_AT + timedelta(seconds=30),
             "counts": {"feeds": 2, "staged": 3}, "relevance": 0.75}])
        # The merged band levels fill only after thousands of articles; a few rows stand for them.
        for name in ("dedup_bands", "dedup_bands_mid"):
            conn.execute(tables[name].insert(), [{"band_key": key, "doc_seq": 1} for key in (-7, 11, 2**40)])
        conn.execute(tables["dedup_common_bands"].insert(), [{"band_key": 123456789}])
    if engine.dialect.name == "sqlite":
        SqliteIndex(engine).put_articles(list(clustered))
        with engine.begin() as conn:  # that newsmon kept the whole document, text included, in search_docs.doc
            conn.execute(text("UPDATE search_docs SET doc = :doc WHERE id = :id"),
                         [{"id": a.id, "doc": json.dumps(article_to_document(a), ensure_ascii=False)} for a in clustered])
    return OldContent(feeds, clustered)


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every newsmon table, read back by reflection (whatever the code's table definitions say).

    JSON values are compared as values: search_docs.doc is a TEXT column, read back parsed.
    """
    tables = _reflect(engine)
    names = TABLES + (SQLITE_TABLES if engine.dialect.name == "sqlite" else ())
    with engine.connect() as conn:
        return {name: sorted((_parsed(name, dict(row._mapping)) for row in conn.execute(tables[name].select())), key=repr)
                for name in names}


def _parsed(table: str, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "doc": json.loads(row["doc"])} if table == "search_docs" else row


def _reflect(engine: Engine) -> dict[str, Table]:
    md = MetaData()
    with warnings.catch_warnings():  # ix_search_docs_date is on an expression, which reflection leaves out
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        md.reflect(engine, only=lambda name, _md: name in TABLES + SQLITE_TABLES)
    return dict(md.tables)


def wire_copy_of(old: Article, minutes: int) -> Article:
    """Another outlet's copy of an article stored before the upgrade."""
    copy = article(f"https://outlet{minutes}.example/copy", wire_copy(old.text, f"KAUNAS ({minutes}) –", "Footer."),
                   minutes=minutes, source=f"outlet{minutes}")
    return replace(copy, title=f"Copy {minutes}")


def without_upgrade_changes(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows as the revisions leave them: runs.relevance dropped and schema_version raised to 2 (0002);
    the search index's stored documents without the title, text and summary their columns hold (0004); every
    outbox row an alert (copy_id '') and held back nowhere (0005)."""
    kept = dict(rows)
    kept["runs"] = [{k: v for k, v in r.items() if k != "relevance"} for r in rows["runs"]]
    if "search_docs" in rows:
        kept["search_docs"] = [{**r, "doc": {k: v for k, v in r["doc"].items() if k not in ("title", "text", "summary")}}
                               for r in rows["search_docs"]]
    kept["alert_outbox"] = sorted(({**r, "copy_id": "", "held_until": None, "held_reason": None}
                                   for r in rows["alert_outbox"]), key=repr)
    kept["newsmon_meta"] = sorted(
        ({**r, "value": "2"} if r["key"] == "schema_version" else r for r in rows["newsmon_meta"]), key=repr)
    return kept
