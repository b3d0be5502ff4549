"""`newsmon maintenance [--dry-run]`: prune old state DB rows, count stuck articles, refresh statistics."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from newsmon.app.maintenance import Retention, run_maintenance
from newsmon.core.errors import UserError
from newsmon.core.settings import Settings

LABELS = {
    "seen_entries_pruned": "feed entry keys older than {seen} days",
    "sent_alerts_pruned": "sent or dropped alerts older than {sent} days",
    "lsh_pruned": "near-duplicate fingerprints older than {lsh} days",
    "story_keys_pruned": "story-candidate keys older than {lsh} days",
    "stuck_index_errors": "articles waiting for the search index (retried by the next ingest run)",
    "analyzed": "planner statistics refreshed",
    "vacuumed": "SQLite file compacted (VACUUM)",
}


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("Housekeeping of the state DB: forget old feed entry keys, delete old sent alerts, "
                     "drop old near-duplicate fingerprints and story-candidate keys, count articles the search index refused, "
                     "and ANALYZE (PostgreSQL) or PRAGMA optimize (SQLite). Safe to run any time.")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed, change nothing")
    p.add_argument("--seen-days", type=int, metavar="DAYS", help="keep feed entry keys this long (default 90)")
    p.add_argument("--sent-days", type=int, metavar="DAYS", help="keep sent alerts this long (default 180)")
    p.add_argument("--lsh-days", type=int, metavar="DAYS", help="keep near-duplicate fingerprints this long (default 30)")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {name: value for name, value in (("seen_entries_days", args.seen_days),
                                                 ("sent_alerts_days", args.sent_days),
                                                 ("lsh_window_days", args.lsh_days)) if value is not None}
    try:
        retention = replace(Retention.from_settings(settings), **overrides)
    except ValueError as exc:
        raise UserError(f"{exc}; pass a positive number of days") from exc
    counts = run_maintenance(settings, dry_run=args.dry_run, retention=retention)
    if args.json:
        print(json.dumps({**counts, "dry_run": args.dry_run}))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    days = {"seen": retention.seen_entries_days, "sent": retention.sent_alerts_days, "lsh": retention.lsh_window_days}
    for key, value in counts.items():
        label = LABELS[key].format(**days)
        if key.endswith("_pruned"):
            print(f"{verb} {value} {label}")
        elif key == "stuck_index_errors":
            print(f"{value} {label}")
        elif value:
            print(label)
    if args.dry_run:
        print("dry run: nothing was changed")
    return 0
