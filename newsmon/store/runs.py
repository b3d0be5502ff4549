"""The `runs` table: what each stage counted, with when it started and finished (`newsmon runs` lists them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from newsmon.store.schema import runs

# Every stage run adds a row (a DAG run adds one per task, every 10 minutes): only the latest are kept,
# about two weeks of a busy deployment.
MAX_RUNS_KEPT = 20_000


@dataclass(frozen=True)
class RunRecord:
    """One stage run: its name, when it started and finished (UTC), and the counts it returned."""

    id: int
    stage: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]


def record_run(engine: Engine, stage: str, started_at: datetime, finished_at: datetime, counts: dict[str, Any]) -> None:
    """Store one stage run, and forget the runs older than the latest MAX_RUNS_KEPT."""
    with engine.begin() as conn:
        inserted = conn.execute(runs.insert().values(stage=stage, started_at=started_at, finished_at=finished_at,
                                                     counts=counts))
        conn.execute(delete(runs).where(runs.c.id <= inserted.inserted_primary_key[0] - MAX_RUNS_KEPT))


def recent_runs(engine: Engine, *, limit: int = 20, stage: str | None = None) -> list[RunRecord]:
    """The latest `limit` stage runs (of one stage, if given), newest first."""
    stmt = select(runs.c.id, runs.c.stage, runs.c.started_at, runs.c.finished_at, runs.c.counts)
    if stage is not None:
        stmt = stmt.where(runs.c.stage == stage)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(runs.c.id.desc()).limit(limit)).all()
    return [RunRecord(r.id, r.stage, _utc(r.started_at), _utc(r.finished_at), dict(r.counts or {})) for r in rows]


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything newsmon stores is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
