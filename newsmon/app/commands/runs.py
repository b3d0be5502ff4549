"""`newsmon runs [--stage S] [--limit N] [--json]`: the latest stage runs and what each counted."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from newsmon.core.outcomes import EXAMPLES, SKIPPED_REASONS, Stage
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps, markup
from newsmon.store.db import open_engine
from newsmon.store.runs import RunRecord, recent_runs


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("Every stage run (plan, poll batches, index, alert, digests, maintenance steps), "
                     "from `newsmon run` and from the Airflow DAGs, newest first: when it started, "
                     "how long it took, its non-zero counters and skips. The names are explained "
                     "in the Counters section of docs/ARCHITECTURE.md.")
    p.add_argument("--stage", choices=[str(s) for s in Stage], help="only runs of this stage")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many runs to show (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    p.set_defaults(func=run)


def _counted(record: RunRecord) -> str:
    counters = [f"{k} {v}" for k, v in sorted(record.counts.items()) if k not in (SKIPPED_REASONS, EXAMPLES) and v]
    skips = [f"skipped {k} {v}" for k, v in sorted(record.counts.get(SKIPPED_REASONS, {}).items())]
    return " · ".join(counters + skips) or "-"


def _seconds(record: RunRecord) -> str:
    if record.finished_at is None:
        return "-"
    return f"{(record.finished_at - record.started_at).total_seconds():.1f}"


def run(args: argparse.Namespace, settings: Settings) -> int:
    records = recent_runs(open_engine(settings.database_url), limit=max(args.limit, 1), stage=args.stage)
    if args.json:
        for r in records:
            print(json_dumps({"id": r.id, "stage": r.stage, "started_at": r.started_at.isoformat(),
                              "finished_at": r.finished_at.isoformat() if r.finished_at else None, "counts": r.counts}))
        return 0
    if not records:
        print("no stage has run yet: `newsmon run --once` or the newsmon_ingest DAG records one row per stage")
        return 0
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "stage", "started (UTC)", "seconds", "counted"):
        table.add_column(column, justify="right" if column in ("id", "seconds") else "left")
    for r in records:
        table.add_row(str(r.id), r.stage, f"{r.started_at:%Y-%m-%d %H:%M:%S}", _seconds(r), markup(_counted(r)))
    Console().print(table)
    return 0
