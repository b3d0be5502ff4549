"""`newsmon alerts`: check the rules, see the outbox, deliver pending alerts and digests now."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from newsmon.alerts.outbox import list_outbox, outbox_totals, retry_failed
from newsmon.app.stages.alert import send_alerts, send_digests
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import check_alert_rules
from newsmon.core.settings import Settings
from newsmon.core.text import markup
from newsmon.store.db import open_engine


def register(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("check", help="validate config/alerts.yaml and show each rule").set_defaults(func=check)
    outbox = actions.add_parser("outbox", help="alerts queued, sent or failed")
    outbox.add_argument("--status", choices=("pending", "sending", "sent", "failed"), help="only this status")
    outbox.add_argument("-n", "--limit", type=int, default=30)
    outbox.set_defaults(func=show_outbox)
    retry = actions.add_parser("retry", help="put failed alerts back in the queue (all, or --id N)")
    retry.add_argument("--id", type=int, action="append", default=[], help="outbox row id (repeatable)")
    retry.set_defaults(func=requeue)
    send = actions.add_parser("send", help="deliver due instant alerts now (or a digest with --digest)")
    send.add_argument("--digest", choices=("hourly", "daily"), help="send this digest now instead")
    send.set_defaults(func=send_now)


def check(args: argparse.Namespace, settings: Settings) -> int:
    checked = check_alert_rules(settings.alerts_file)
    rules = checked.rules
    console = Console(highlight=False)
    if not rules and not checked.problems:
        console.print(f"no alert rules in {markup(settings.alerts_file)}")
        return 0
    table = Table(title=markup(settings.alerts_file))
    for col in ("rule", "query", "filters", "mode", "channels"):
        table.add_column(col)
    for r in rules:
        filters = ", ".join(f"{k}={v}" for k, v in (("on_topic", r.on_topic), ("subtopics", r.subtopics),
                                                     ("languages", r.languages), ("sources", r.sources),
                                                     ("min_relevance", r.min_relevance)) if v not in (None, [], 0.0))
        table.add_row(markup(r.name) + ("" if r.enabled else " (disabled)"), markup(r.query), markup(filters or "-"),
                      r.mode, "\n".join(markup(describe_channel(c)) for c in r.channels))
    console.print(table)
    console.print(f"{len(rules)} rule(s) OK")
    if checked.problems:
        # The pipeline runs the rules above and leaves these out until they are fixed.
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        errors.print(f"newsmon: {len(checked.problems)} rule(s) left out:")
        for problem in checked.problems:
            errors.print("  " + markup(problem))
        return 2
    return 0


def show_outbox(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings.database_url)
    entries = list_outbox(engine, status=args.status, limit=args.limit)
    totals = outbox_totals(engine)
    console = Console(highlight=False)
    table = Table(title="alert outbox (newest first)")
    for col in ("id", "rule", "status", "tries", "created", "story", "last error"):
        table.add_column(col)
    for e in entries:
        table.add_row(str(e.id), markup(e.rule), e.status, str(e.attempts), e.created_at.strftime("%Y-%m-%d %H:%M"),
                      markup(e.title[:60]), markup((e.last_error or "")[:60]))
    console.print(table)
    console.print(" · ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "the outbox is empty")
    return 0


def send_now(args: argparse.Namespace, settings: Settings) -> int:
    counts = send_digests(settings, args.digest) if args.digest else send_alerts(settings)
    print(" · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items() if isinstance(v, int)))
    return 1 if counts.get("retry_later") or counts.get("failed") else 0


def requeue(args: argparse.Namespace, settings: Settings) -> int:
    n = retry_failed(open_engine(settings.database_url), args.id)
    print(f"{n} failed alert(s) queued again; they go out with the next run or `newsmon alerts send`")
    return 0
