"""`newsmon run --once`: one ingest pass over config/feeds.yaml with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsmon.app.pipeline import run_once, send_due_digests
from newsmon.core.settings import Settings
from newsmon.core.text import markup


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one pass, then exit (default: repeat every --every seconds)")
    p.add_argument("--force", action="store_true", help="poll every enabled feed now, ignoring their schedules")
    p.add_argument("--every", type=int, default=600, metavar="SECONDS", help="pause between passes without --once")
    p.set_defaults(func=run)


def summary_table(summary) -> Table:
    table = Table(title="newsmon run", show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_row("plan", "feeds due", str(summary.feeds))
    for stage, counts in (("poll", summary.poll), ("index", summary.index), ("alerts", summary.alerts)):
        for key, value in sorted(counts.items()):
            if key != "skipped_reasons" and value:
                table.add_row(stage, key.replace("_", " "), str(value))
        for reason, value in sorted(counts.get("skipped_reasons", {}).items(), key=lambda kv: -kv[1]):
            # Reasons quote URLs and server messages: `[/]` in a link must not be read as markup.
            table.add_row(stage, f"[yellow]skipped: {markup(reason)}[/]", str(value))
    return table


def run_pass(settings: Settings, console: Console, *, force: bool = False):
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("polling feeds", total=None)
        summary = run_once(
            settings,
            progress=lambda event, n: bar.advance(task, n) if event == "feed" else None,
            on_plan=lambda total: bar.update(task, total=total),
            force=force,
        )
    console.print(summary_table(summary))
    return summary


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(stderr=False)

    while True:
        run_pass(settings, console, force=args.force)
        if args.once:
            return 0
        # Without Airflow nothing else sends the hourly/daily digests.
        for mode, counts in send_due_digests(settings).items():
            console.print(f"{mode} digest: {counts.get('sent', 0)} story(ies) sent")
        time.sleep(max(30, args.every))
