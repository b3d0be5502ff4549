"""The state DB on a real PostgreSQL (opt-in): schema and its upgrade, idempotent inserts, feed state, outbox key, clusters, maintenance.

Set NEWSMON_TEST_STATE_URL to a database the user may create schemas in, for example
`postgresql+psycopg://newsmon:...@localhost:5432/newsmon`. Each test works in its own throw-away schema
and drops it afterwards, so existing tables are never touched.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pre_alembic_db import create_pre_alembic_db, fill_every_table, snapshot, wire_copy_of, without_upgrade_changes
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from test_dedup_fixtures import BALLOONS, BASE_AT, FENCE, article, wire_copy

from newsmon.app.maintenance import Retention, run_maintenance
from newsmon.core.records import FeedState
from newsmon.core.settings import load_settings
from newsmon.store import migrate
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import StoreUnavailable, dispose_engine, insert_ignore, open_engine, upgrade_database
from newsmon.store.feedstate import all_feed_states, load_feed_state, save_feed_state
from newsmon.store.migrations import HEAD
from newsmon.store.schema import alert_outbox, metadata, seen_entries

URL = os.environ.get("NEWSMON_TEST_STATE_URL", "")

pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"),
    reason="PostgreSQL state DB tests need NEWSMON_TEST_STATE_URL=postgresql+psycopg://user:password@host:port/db",
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def state_url() -> Iterator[str]:
    """A URL whose connections work in a fresh schema of the test database; the schema is dropped afterwards."""
    schema = f"newsmon_test_{secrets.token_hex(4)}"
    admin = create_engine(URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        yield rendered
    finally:
        dispose_engine(rendered)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def engine(state_url: str) -> Engine:
    return open_engine(state_url)


def test_open_engine_creates_every_table_and_upgrading_again_changes_nothing(state_url, engine):
    tables = set(inspect(engine).get_table_names())
    assert {"feed_state", "seen_entries", "articles", "clusters", "alert_outbox", "runs", "dedup_docs",
            "dedup_bands"} <= tables
    assert "search_docs" not in tables  # the FTS5 index is SQLite-only
    assert upgrade_database(state_url).before == HEAD
    assert set(inspect(engine).get_table_names()) == tables


def test_an_unreachable_server_is_reported_as_an_unavailable_store_naming_the_setting():
    closed = make_url(URL).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    with pytest.raises(StoreUnavailable, match="NEWSMON_STATE_URL"):
        open_engine(closed)


def test_insert_ignore_inserts_once_and_reports_the_second_as_already_there(engine):
    row = {"feed_id": "lrt-en", "entry_key": "a" * 32, "outcome": "staged", "article_id": None, "seen_at": NOW}
    with engine.begin() as conn:
        assert insert_ignore(conn, seen_entries, row) is True
        assert insert_ignore(conn, seen_entries, {**row, "outcome": "duplicate"}) is False
    with engine.connect() as conn:
        assert conn.execute(select(seen_entries.c.outcome)).scalars().all() == ["staged"]


def test_feed_state_round_trips_with_utc_times_and_is_replaced_not_duplicated(engine):
    state = FeedState(feed_id="lrt-en", url="https://www.lrt.lt/rss", etag='W/"abc"', last_modified="Mon, 23 Nov 2026 11:00:00 GMT",
                      body_hash="f" * 64, next_poll_at=NOW + timedelta(minutes=10), last_polled_at=NOW,
                      last_success_at=NOW, failures=0)
    with engine.begin() as conn:
        save_feed_state(conn, state)
    with engine.begin() as conn:
        save_feed_state(conn, FeedState(**{**state.__dict__, "failures": 2, "last_error": "HTTP 503"}))
    with engine.connect() as conn:
        loaded = load_feed_state(conn, "lrt-en")
        assert len(all_feed_states(conn)) == 1
    assert loaded is not None
    assert loaded.next_poll_at == NOW + timedelta(minutes=10) and loaded.next_poll_at.tzinfo is not None
    assert (loaded.etag, loaded.failures, loaded.last_error) == ('W/"abc"', 2, "HTTP 503")


def test_the_outbox_holds_one_row_per_rule_and_story(engine):
    row = {"rule": "checkpoints", "cluster_id": "story-1", "article_id": "a1", "mode": "instant", "status": "pending",
           "attempts": 0, "created_at": NOW, "payload": {"title": "Medininkai closed"}}
    with engine.begin() as conn:
        assert insert_ignore(conn, alert_outbox, row)
        assert not insert_ignore(conn, alert_outbox, {**row, "article_id": "a2"})  # a later copy of the story
        assert insert_ignore(conn, alert_outbox, {**row, "rule": "balloons"})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(alert_outbox.insert().values(**row))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alert_outbox)).scalar_one() == 2


def test_copies_of_a_story_share_a_cluster_and_a_rerun_keeps_the_assignment(engine):
    original = article("https://www.lrt.lt/naujienos/1/2712345/balionai", BALLOONS, minutes=0, source="LRT")
    copy = article("https://www.delfi.lt/news/balionai.d?id=1", wire_copy(BALLOONS, "VILNIUS (BNS) –", "All rights reserved."),
                   minutes=5, source="Delfi")
    other = article("https://www.15min.lt/naujiena/tvora-56-1", FENCE, minutes=3, source="15min")
    with engine.begin() as conn:
        first = {a.id: a for a in assign_clusters(conn, [copy, other, original], BASE_AT)}
    assert first[copy.id].cluster_id == first[original.id].cluster_id == original.id
    assert first[other.id].cluster_id == other.id
    with engine.begin() as conn:
        again = {a.id: a.cluster_id for a in assign_clusters(conn, [original, copy, other], BASE_AT)}
    assert again == {a.id: a.cluster_id for a in first.values()}


def test_two_workers_clustering_copies_at_the_same_moment_agree_on_one_story(engine):
    copies = [article(f"https://outlet{i}.example/balionai", wire_copy(BALLOONS, f"VILNIUS ({i}) –", "Footer."),
                      minutes=i, source=f"outlet{i}") for i in range(2)]
    barrier, results, errors = threading.Barrier(2), {}, []

    def worker(item) -> None:
        try:
            barrier.wait(timeout=10)
            with engine.begin() as conn:
                results[item.id] = assign_clusters(conn, [item], BASE_AT)[0].cluster_id
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(set(results.values())) == 1


def test_maintenance_prunes_old_rows_and_analyzes_on_postgresql(state_url, engine):
    with engine.begin() as conn:
        conn.execute(seen_entries.insert(), [
            {"feed_id": "lrt-en", "entry_key": key, "outcome": "staged", "article_id": None, "seen_at": NOW - timedelta(days=days)}
            for key, days in (("old", 200), ("new", 1))])
    settings = load_settings(state_url=state_url)

    dry = run_maintenance(settings, NOW, dry_run=True, retention=Retention(seen_entries_days=90))
    done = run_maintenance(settings, NOW, retention=Retention(seen_entries_days=90))

    assert dry["seen_entries_pruned"] == done["seen_entries_pruned"] == 1
    assert (done["analyzed"], done["vacuumed"]) == (1, 0)
    with engine.connect() as conn:
        assert conn.execute(select(seen_entries.c.entry_key)).scalars().all() == ["new"]


def test_workers_opening_a_fresh_database_at_once_all_start_and_record_one_revision(state_url):
    # Each worker dawdles just before recording the revision, as a descheduled worker would: a worker
    # that did so outside the schema lock would meet another one creating the same tables.
    def dawdle_before_the_revision_row(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO alembic_version"):
            time.sleep(1.0)

    barrier, errors = threading.Barrier(3), []
    engines = [create_engine(state_url) for _ in range(3)]

    def worker(engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", dawdle_before_the_revision_row)
        try:
            barrier.wait(timeout=10)
            migrate.ensure_current(engine)  # what open_engine does in each worker
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    for e in engines:
        e.dispose()


def test_upgrading_a_state_db_from_before_revisions_keeps_every_row(state_url):
    old = create_engine(state_url)
    create_pre_alembic_db(old)
    content = fill_every_table(old)
    before = snapshot(old)
    assert all(before[name] for name in before), {name: len(rows) for name, rows in before.items()}
    with old.connect() as conn:
        assert any("\\u0160" in doc for doc in conn.execute(text("SELECT CAST(doc AS TEXT) FROM articles")).scalars())

    done = upgrade_database(state_url)

    assert (done.before, done.after, done.adopted) == (None, HEAD, True)
    assert snapshot(old) == without_upgrade_changes(before)
    upgraded = open_engine(state_url)
    with upgraded.connect() as conn:
        assert all_feed_states(conn) == {s.feed_id: s for s in content.feeds}
        # Revision 0004: the documents that old newsmon wrote with \u escapes now hold the letters themselves.
        stored = conn.execute(text("SELECT CAST(doc AS TEXT) FROM articles")).scalars().all()
        assert all("\\u" not in doc for doc in stored) and any("Šalčininkai" in doc for doc in stored)
    balloons = next(a for a in content.articles if a.source == "LRT")
    with upgraded.begin() as conn:
        (assigned,) = assign_clusters(conn, [wire_copy_of(balloons, minutes=30)], balloons.fetched_at)
    assert assigned.cluster_id == balloons.cluster_id
    old.dispose()


def test_a_state_db_from_before_revisions_is_refused_until_upgraded_and_left_as_it_was(state_url):
    old = create_engine(state_url)
    create_pre_alembic_db(old)
    fill_every_table(old)
    before = snapshot(old)
    with pytest.raises(migrate.StateDBNeedsUpgrade, match="newsmon db upgrade"):
        open_engine(state_url)
    assert snapshot(old) == before and "alembic_version" not in inspect(old).get_table_names()
    old.dispose()


def test_a_db_upgraded_by_a_newer_newsmon_is_refused_naming_the_revision(state_url):
    engine = create_engine(state_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(migrate.StateDBNewerThanCode, match=r"revision 0099.*upgrade newsmon"):
        open_engine(state_url)
    engine.dispose()


def test_the_revisions_build_exactly_the_tables_of_the_schema_module(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
