"""Schema revisions of the SQLite state DB: a DB from before revisions is upgraded without losing a row; newer ones are refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pre_alembic_db import (
    TABLES,
    create_pre_alembic_db,
    fill_every_table,
    snapshot,
    wire_copy_of,
    without_upgrade_changes,
)
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from newsmon.core.documents import article_to_document
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import StoreUnavailable, open_engine, schema_report, upgrade_database
from newsmon.store.feedstate import all_feed_states
from newsmon.store.index import SearchQuery
from newsmon.store.migrate import StateDBNeedsUpgrade, StateDBNewerThanCode, StateSchemaError, script_revisions
from newsmon.store.migrations import HEAD, REVISIONS
from newsmon.store.schema import metadata
from newsmon.store.sqlite_index import SqliteIndex

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def old_db(tmp_path: Path) -> tuple[str, Path]:
    """The URL and file of an empty-of-revisions state DB as newsmon left it, tables and all."""
    path = tmp_path / "state" / "newsmon.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    create_pre_alembic_db(engine)
    engine.dispose()
    return url, path


def raw(url: str) -> Engine:
    return create_engine(url)


def revision_rows(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        names = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return con.execute("SELECT version_num FROM alembic_version").fetchall() if "alembic_version" in names else []
    finally:
        con.close()


def newsmon_cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    return subprocess.run([sys.executable, "-m", "newsmon", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**env, "NEWSMON_STATE_DIR": str(state_dir)})


def test_upgrading_a_state_db_from_before_revisions_keeps_every_row_and_the_search_index(old_db):
    url, _ = old_db
    engine = raw(url)
    content = fill_every_table(engine)
    before = snapshot(engine)
    assert all(before[name] for name in before), {name: len(rows) for name, rows in before.items()}

    done = upgrade_database(url)

    assert (done.before, done.after, done.adopted) == (None, HEAD, True)
    assert snapshot(engine) == without_upgrade_changes(before)
    upgraded = open_engine(url)
    index = SqliteIndex(upgraded)
    by_outlet = {a.source: a for a in content.articles}
    balloons, copy, fence = by_outlet["LRT"], by_outlet["Delfi"], by_outlet["15min"]
    assert {h.id for h in index.search(SearchQuery(q="salcininkai"))} == {balloons.id, copy.id}
    assert [h.id for h in index.search(SearchQuery(q="razor wire"))] == [fence.id]
    with upgraded.connect() as conn:
        assert all_feed_states(conn) == {s.feed_id: s for s in content.feeds}
    # The story clusters and their fingerprints still work: a new copy joins the story stored before the upgrade.
    newcomer = wire_copy_of(balloons, minutes=30)
    with upgraded.begin() as conn:
        (assigned,) = assign_clusters(conn, [newcomer], balloons.fetched_at)
    assert assigned.cluster_id == balloons.cluster_id
    index.put_articles([assigned])
    assert assigned.id in {h.id for h in index.search(SearchQuery(q="salcininkai"))}


def _search_schema(path: Path) -> list[tuple[str, str]]:
    """The search index's tables, indexes and triggers as SQLite holds them (names quoted or not, same DDL)."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name LIKE 'search_%' AND sql IS NOT NULL")
        return sorted((name, " ".join(sql.replace('"search_docs"', "search_docs").split())) for name, sql in rows)
    finally:
        con.close()


def test_an_upgraded_db_keeps_article_text_once_stores_letters_not_escapes_and_searches_like_a_new_one(old_db, tmp_path):
    url, path = old_db
    content = fill_every_table(raw(url))
    with raw(url).connect() as conn:  # as that newsmon wrote them: ASCII escapes, the text in both tables
        assert "\\u0160al\\u010d" in conn.execute(text("SELECT doc FROM articles LIMIT 1")).scalar_one()
        assert all('"text"' in doc for doc in conn.execute(text("SELECT doc FROM search_docs")).scalars())
    last_rowid = len(content.articles)

    upgrade_database(url)

    with raw(url).connect() as conn:
        stored = conn.execute(text("SELECT doc FROM articles")).scalars().all()
        assert all("\\u" not in doc for doc in stored) and any("Šalčininkai" in doc for doc in stored)
        assert not any('"text"' in doc for doc in conn.execute(text("SELECT doc FROM search_docs")).scalars())
    fresh = tmp_path / "fresh" / "newsmon.db"
    open_engine(f"sqlite:///{fresh}")
    assert _search_schema(path) == _search_schema(fresh)
    index = SqliteIndex(open_engine(url))
    by_outlet = {a.source: a for a in content.articles}
    assert index.get(by_outlet["15min"].id) == article_to_document(by_outlet["15min"])
    assert [h.id for h in index.search(SearchQuery(q="salcininkai", sort="date"))] == [
        by_outlet["Delfi"].id, by_outlet["LRT"].id]
    newcomer = wire_copy_of(by_outlet["LRT"], minutes=30)
    index.put_articles([newcomer])
    with raw(url).connect() as conn:  # the row-id sequence went on from the old table's, FTS5 rows included
        assert conn.execute(text("SELECT rowid FROM search_docs WHERE id = :id"), {"id": newcomer.id}).scalar_one() == last_rowid + 1
    assert index.search(SearchQuery(q="salcininkai", sort="date"))[0].id == newcomer.id


def test_a_state_db_from_before_revisions_is_refused_with_what_to_run_and_left_as_it_was(old_db, tmp_path):
    url, path = old_db
    fill_every_table(raw(url))
    before = snapshot(raw(url))

    with pytest.raises(StateDBNeedsUpgrade, match=r"newsmon db upgrade") as refused:
        open_engine(url)
    assert str(path) in str(refused.value)
    result = newsmon_cli(path.parent, "search", "salcininkai")
    assert result.returncode == 2, result.stderr
    assert "run `newsmon db upgrade`" in result.stderr and str(path) in result.stderr
    assert snapshot(raw(url)) == before and revision_rows(path) == []

    result = newsmon_cli(path.parent, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"upgraded to {HEAD}" in result.stdout and "every row kept" in result.stdout
    assert newsmon_cli(path.parent, "search", "salcininkai").returncode == 0


def test_upgrading_adds_in_place_a_column_that_an_older_newsmon_would_have_added(old_db):
    url, path = old_db
    engine = raw(url)
    fill_every_table(engine)
    with engine.begin() as conn:  # feed_state.configured_url came after the first release
        conn.exec_driver_sql("ALTER TABLE feed_state DROP COLUMN configured_url")
    before = snapshot(engine)

    upgrade_database(url)

    after = snapshot(engine)
    assert after["feed_state"] == [{**row, "configured_url": None} for row in before["feed_state"]]
    assert {k: v for k, v in after.items() if k != "feed_state"} == {
        k: v for k, v in without_upgrade_changes(before).items() if k != "feed_state"}
    assert revision_rows(path) == [(HEAD,)]


def test_an_old_db_lacking_a_column_that_cannot_be_added_is_refused_naming_it_and_keeps_every_row(old_db):
    url, path = old_db
    engine = raw(url)
    fill_every_table(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN doc")
    before = snapshot(engine)

    with pytest.raises(StateSchemaError, match=r"articles lacks column doc.*start a new state DB"):
        upgrade_database(url)

    assert snapshot(engine) == before and revision_rows(path) == []


def test_a_db_upgraded_by_a_newer_newsmon_is_refused_naming_the_revision_the_db_and_upgrade_newsmon(tmp_path):
    state = tmp_path / "state"
    url = f"sqlite:///{state / 'newsmon.db'}"
    assert newsmon_cli(state, "db", "upgrade").returncode == 0  # another process: this one has not opened it yet
    with raw(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))

    for attempt in (open_engine, upgrade_database):
        with pytest.raises(StateDBNewerThanCode, match=r"revision 0099.*upgrade newsmon") as refused:
            attempt(url)
        assert str(state / "newsmon.db") in str(refused.value)
    for args in (("run", "--once"), ("db", "upgrade")):
        result = newsmon_cli(state, *args)
        assert result.returncode == 2, (args, result.stderr)  # the operator's to fix: not a passing outage (3)
        assert "0099" in result.stderr and "upgrade newsmon" in result.stderr
    assert revision_rows(state / "newsmon.db") == [("0099",)]


def test_db_current_reports_the_revision_without_creating_a_db_and_upgrade_creates_it_at_head(tmp_path):
    state = tmp_path / "state"
    first = newsmon_cli(state, "db", "current")
    assert first.returncode == 0, first.stderr
    assert "revision: none" in first.stdout and "no database yet" in first.stdout
    assert not (state / "newsmon.db").exists()

    created = newsmon_cli(state, "db", "upgrade")
    again = newsmon_cli(state, "db", "upgrade")
    now = newsmon_cli(state, "db", "current")

    assert f"created at revision {HEAD}" in created.stdout
    assert f"already at revision {HEAD}" in again.stdout
    assert f"revision: {HEAD}" in now.stdout and "up to date" in now.stdout
    assert f"state DB: sqlite:///{state / 'newsmon.db'}" in now.stdout


def test_db_current_on_an_unreachable_server_is_an_unavailable_store_that_never_shows_the_password():
    with pytest.raises(StoreUnavailable, match="NEWSMON_STATE_URL") as refused:
        schema_report("postgresql+psycopg://newsmon:s3cret-pw@127.0.0.1:1/newsmon")
    assert "s3cret-pw" not in str(refused.value) and "127.0.0.1:1/newsmon" in str(refused.value)


def test_a_fresh_state_dir_is_created_at_head_by_the_first_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'newsmon.db'}"
    open_engine(url)
    assert revision_rows(tmp_path / "fresh" / "newsmon.db") == [(HEAD,)]


# ix_search_docs_date is an index on an expression, which SQLAlchemy's reflection skips with a warning.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_revisions_build_exactly_the_tables_of_the_schema_module(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'newsmon.db'}")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    # What only reflection sees: the SQLite search index, created by revision 0001 outside the table definitions.
    assert [d for d in differences if not (d[0].startswith("remove_") and _search_object(d[1]))] == []
    assert set(inspect(engine).get_table_names()) >= set(TABLES) | {"search_docs", "search_fts", "alembic_version"}


def _search_object(obj) -> bool:
    name = getattr(obj, "name", "")
    table = getattr(getattr(obj, "table", None), "name", "")
    return name.startswith("search_") or table.startswith("search_")


def test_the_revisions_newsmon_checks_on_open_are_those_of_the_versions_folder():
    assert list(REVISIONS) == script_revisions()


def test_an_unusable_file_is_reported_as_an_unavailable_store_naming_the_setting(tmp_path):
    junk = tmp_path / "newsmon.db"
    junk.write_bytes(b"not a database " * 100)
    with pytest.raises(StoreUnavailable, match="NEWSMON_STATE_URL"):
        open_engine(f"sqlite:///{junk}")
