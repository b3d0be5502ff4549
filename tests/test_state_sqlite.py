"""The SQLite state DB shared by several newsmon workers: opening a fresh one at once, clustering at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from newsmon.app.demo import content as demo_content
from newsmon.app.stages.index import cluster_and_index
from newsmon.app.stages.plan import plan_feeds
from newsmon.app.stages.poll import poll_feeds
from newsmon.store.db import open_engine
from newsmon.store.migrations import HEAD

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 3
# Each worker imports everything first, says it is ready, then opens the state DB when told to, so the
# workers really reach schema creation together (imports alone take longer than creating the schema).
WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from newsmon.store.db import StoreUnavailable, open_engine
    import newsmon.store.clusters, newsmon.store.sqlite_index
    db, go, me = sys.argv[1:4]
    Path(f"{go}.{me}").touch()
    while not Path(go).exists():
        time.sleep(0.001)
    try:
        open_engine(f"sqlite:///{db}")
    except StoreUnavailable as exc:
        print(f"newsmon: store unavailable: {exc}", file=sys.stderr)
        sys.exit(3)
""")


def wait_for(paths: list[Path], *, within_s: float = 120.0) -> None:
    deadline = time.monotonic() + within_s
    while not all(p.exists() for p in paths):
        if time.monotonic() > deadline:
            pytest.fail(f"workers did not start: {[str(p) for p in paths if not p.exists()]}")
        time.sleep(0.01)


def test_workers_opening_a_fresh_state_dir_at_once_all_start_and_create_the_schema_once(tmp_path):
    db, go = tmp_path / "state" / "newsmon.db", tmp_path / "go"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(go), str(n)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(WORKERS)]
    try:
        wait_for([tmp_path / f"go.{n}" for n in range(WORKERS)])
        go.touch()
        outcomes = [(w.wait(timeout=120), w.stderr.read()) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert outcomes == [(0, "")] * WORKERS
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    engine.dispose()


def test_two_runs_clustering_at_once_cluster_and_count_each_staged_article_once(demo_env):
    settings = demo_env.settings
    for batch in plan_feeds(settings):
        poll_feeds(settings, batch)
    engine = open_engine(settings.database_url)
    # Another writer holds the lock until both runs are queued behind it, so both start clustering together.
    holder = sqlite3.connect(settings.state_path / "newsmon.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waiting: set[int] = set()
    both_waiting = threading.Event()

    def note_lock_wait(conn, cursor, statement, parameters, context, executemany) -> None:
        if "dedup_lock" in statement:
            waiting.add(threading.get_ident())
            if len(waiting) == 2:
                both_waiting.set()

    event.listen(engine, "before_cursor_execute", note_lock_wait)
    results: list[dict] = []
    runs = [threading.Thread(target=lambda: results.append(cluster_and_index(settings))) for _ in range(2)]
    try:
        for run in runs:
            run.start()
        assert both_waiting.wait(timeout=60), "the two runs never both reached the dedup lock"
    finally:
        holder.execute("COMMIT")
        holder.close()
        for run in runs:
            run.join(timeout=120)
        event.remove(engine, "before_cursor_execute", note_lock_wait)
    assert len(results) == 2
    assert sum(r.get("clustered", 0) for r in results) == len(demo_content.ARTICLES)
    assert sum(r.get("indexed", 0) for r in results) == len(demo_content.ARTICLES)
