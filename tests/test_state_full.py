"""A state DB that can take no more data (full disk, size limit): one clear message, nothing lost, a rerun recovers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from newsmon.app.cli import main
from newsmon.app.demo import content as demo_content
from newsmon.app.stages.index import cluster_and_index
from newsmon.app.stages.plan import plan_feeds
from newsmon.app.stages.poll import poll_feeds
from newsmon.store.db import StoreUnavailable, open_engine
from newsmon.store.schema import articles


@contextmanager
def no_room_left(engine: Engine) -> Iterator[None]:
    """Every connection may not grow the file past its present size: SQLite's "database or disk is full"."""
    def cap(dbapi_connection, _record) -> None:
        cur = dbapi_connection.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count={pages}")
        cur.close()

    engine.dispose()
    event.listen(engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(articles.c.status, func.count()).group_by(articles.c.status)).all())


def test_a_run_on_a_full_state_db_says_so_where_and_exits_3_then_a_rerun_with_room_indexes_everything(
        demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    engine = open_engine(demo_env.settings.database_url)
    with no_room_left(engine):
        assert main(["run", "--once"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("newsmon: state DB ") and err.count("\n") == 1 and "Traceback" not in err
    assert "is full" in err and f"free space on the disk holding {demo_env.settings.state_path.resolve()}" in err

    assert main(["run", "--once"]) == 0
    assert statuses(engine) == {"indexed": len(demo_content.ARTICLES)}


def test_clustering_into_a_full_state_db_raises_store_unavailable_and_keeps_every_staged_article(demo_env):
    engine = open_engine(demo_env.settings.database_url)
    for batch in plan_feeds(demo_env.settings):
        poll_feeds(demo_env.settings, batch)
    staged = statuses(engine)
    assert staged == {"staged": len(demo_content.ARTICLES)}
    with no_room_left(engine), pytest.raises(StoreUnavailable, match=r"is full .*free space on the disk holding"):
        cluster_and_index(demo_env.settings)
    assert statuses(engine) == staged

    assert cluster_and_index(demo_env.settings)["indexed"] == len(demo_content.ARTICLES)
