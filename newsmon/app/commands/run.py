"""`newsmon run --once`: one ingest pass over config/feeds.yaml with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsmon.app.stages.alert import send_due_digests
from newsmon.app.stages.run import RunSummary, run_once
from newsmon.core.outcomes import EXAMPLES, SKIPPED_REASONS
from newsmon.core.settings import Settings
from newsmon.core.text import markup

# Passes closer together than this would mostly find no feed due and only keep the state DB busy.
MIN_EVERY_S = 30


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one pass, then exit (default: repeat every --every seconds)")
    p.add_argument("--force", action="store_true", help="poll every enabled feed now, ignoring their schedules")
    p.add_argument("--every", type=int, default=600, metavar="SECONDS",
                   help=f"pause between passes without --once (default 600; at least {MIN_EVERY_S}, smaller values "
                        f"count as {MIN_EVERY_S})")
    p.set_defaults(func=run)


def _stages(summary: RunSummary) -> tuple[tuple[str, dict], ...]:
    return ("poll", summary.poll), ("index", summary.index), ("alerts", summary.alerts)


def summary_table(summary: RunSummary) -> Table:
    """Every counter of the pass that is not zero, then the skips by reason (names from newsmon.core.outcomes)."""
    table = Table(title="newsmon run", show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_row("plan", "feeds due", str(summary.feeds))
    for stage, counts in _stages(summary):
        for key, value in sorted(counts.items()):
            if key not in (SKIPPED_REASONS, EXAMPLES) and value:
                table.add_row(stage, key.replace("_", " "), str(value))
        for reason, value in sorted(counts.get(SKIPPED_REASONS, {}).items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(stage, f"[yellow]skipped: {reason}[/]", str(value))
    return table


def examples_table(summary: RunSummary) -> Table | None:
    """A few examples of what went wrong (which feed, which URL, what the server said), or None."""
    rows = [(stage, example) for stage, counts in _stages(summary) for example in counts.get(EXAMPLES, [])]
    if not rows:
        return None
    table = Table(title="examples", show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("outcome", overflow="fold")  # keys have no spaces: fold them rather than cut them
    table.add_column("detail", overflow="fold")
    for stage, example in rows:
        # Details quote URLs and server messages: `[/]` in a link must not be read as markup.
        table.add_row(stage, example["key"], markup(example["detail"]))
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
    examples = examples_table(summary)
    if examples is not None:
        console.print(examples)
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
        time.sleep(max(MIN_EVERY_S, args.every))
