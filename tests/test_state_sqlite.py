"""The SQLite state DB when several newsmon processes open it at once (first start of parallel workers)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from store.db import meta

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 3
# Each worker imports everything first, says it is ready, then opens the state DB when told to, so the
# workers really reach schema creation together (imports alone take longer than creating the schema).
WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from store.db import StoreUnavailable, open_engine
    import store.clusters, store.sqlite_index
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
        assert conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalars().all() == ["1"]
    engine.dispose()
