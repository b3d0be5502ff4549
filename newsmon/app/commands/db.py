"""`newsmon db`: upgrade the state DB to this newsmon's schema revision, or show where it stands."""

from __future__ import annotations

import argparse

from newsmon.core.settings import Settings
from newsmon.core.text import printable
from newsmon.store.db import SchemaReport, schema_report, upgrade_database
from newsmon.store.migrate import BASELINE, Upgrade
from newsmon.store.migrations import REVISIONS


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("The state DB's schema has numbered revisions (Alembic). `upgrade` creates the DB or brings it "
                     "to this newsmon's revision, keeping every row; the DAGs and `make run` call it. `current` "
                     "shows the DB's revision and the one this newsmon needs.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="create the state DB or upgrade it to this newsmon's revision (keeps every row)"
                       ).set_defaults(func=upgrade)
    actions.add_parser("current", help="the state DB's revision, the one this newsmon needs, the DB URL (password hidden)"
                       ).set_defaults(func=current)


def upgrade(args: argparse.Namespace, settings: Settings) -> int:
    done = upgrade_database(settings.database_url)
    print(f"state DB {printable(done.url)}: {describe_upgrade(done)}")
    return 0


def describe_upgrade(done: Upgrade) -> str:
    if done.created:
        return f"created at revision {done.after} (head)"
    if done.adopted:
        return (f"tables from before schema revisions checked and recorded as revision {BASELINE}, "
                f"upgraded to {done.after} (head); every row kept")
    if done.before == done.after:
        return f"already at revision {done.after} (head)"
    return f"upgraded from revision {done.before} to {done.after} (head); every row kept"


def current(args: argparse.Namespace, settings: Settings) -> int:
    report = schema_report(settings.database_url)
    state = report.state
    print(f"state DB: {printable(report.url)}")
    print(f"revision: {(state.current if state else None) or 'none'}")
    print(f"head:     {report.head} (this newsmon)")
    print(f"status:   {status(report)}")
    return 0


def status(report: SchemaReport) -> str:
    state = report.state
    if state is None:
        return "no database yet: `newsmon db upgrade` (or the first `newsmon run`) creates it"
    if state.empty:
        return "no newsmon tables yet: `newsmon db upgrade` (or the first `newsmon run`) creates them"
    if state.current is None:
        return "created before schema revisions: run `newsmon db upgrade` (it keeps every row)"
    if state.current not in REVISIONS:
        return "upgraded by a newer newsmon than this one: upgrade newsmon"
    if state.current != report.head:
        return "behind this newsmon: run `newsmon db upgrade` (it keeps every row)"
    return "up to date"
