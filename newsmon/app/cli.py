"""The `newsmon` command line: a table of subcommands, each module imported only when its command runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from newsmon.core.errors import NewsmonError
from newsmon.core.settings import load_settings
from newsmon.core.text import printable


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, the module whose `register(parser)` fills in its parser, its one-line help.

    A command with actions ends its help with `: action, action, …` in the order it registers them
    (tests/test_cli_help.py holds every command to that)."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("run", "newsmon.app.commands.run", "ingest: poll due feeds, extract, tag, dedup, index, alert"),
    Command("search", "newsmon.app.commands.search", "search indexed articles (Lucene syntax, as in Kibana)"),
    Command("demo", "newsmon.app.commands.demo",
            "offline end-to-end demo on a local feed server (no network, temporary store)"),
    Command("alerts", "newsmon.app.commands.alerts", "alert rules and the outbox: check, outbox, retry, send, test"),
    Command("feeds", "newsmon.app.commands.feeds", "inspect, add, verify and monitor feeds: parse, add, verify, report, status"),
    Command("extract", "newsmon.app.commands.extract",
            "extract the article (text and metadata) from an HTML file or URL, as the pipeline would"),
    Command("tag", "newsmon.app.commands.tag",
            "tag JSON-lines articles with the topic pack (what the pipeline does to each article)"),
    Command("dedup", "newsmon.app.commands.dedup",
            "cluster JSON lines {url, title, text, published_at?, language?} into copies and stories; prints id, "
            "cluster_id, duplicate_of, dup_reason, story_id"),
    Command("stories", "newsmon.app.commands.stories",
            "recent stories across languages, their articles grouped by language and outlet affiliation"),
    Command("es", "newsmon.app.commands.es", "the Elasticsearch index template and alias: setup, reindex, status"),
    Command("kibana", "newsmon.app.commands.kibana",
            "Kibana's newsmon data view, saved searches and dashboard: import"),
    Command("maintenance", "newsmon.app.commands.maintenance",
            "prune old state DB rows and refresh statistics (what the daily DAG does)"),
    Command("runs", "newsmon.app.commands.runs", "the latest stage runs (CLI and DAG tasks) and what each counted"),
    Command("db", "newsmon.app.commands.db", "state DB schema: upgrade, current"),
)


def _wanted(argv: Sequence[str]) -> str | None:
    # The top-level options (-v, -h) take no value, so the first word that is not an option is the command.
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser with every command listed; only the command named in `argv` has its module imported and
    its own arguments registered (the others cannot be dispatched by this argv)."""
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="News monitoring for Lithuania–Belarus relations: ingest feeds, search, alert.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _wanted(argv)
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.name == wanted:
            importlib.import_module(command.module).register(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The ES client logs every retry with a traceback; the CLI reports the final outcome in one line instead.
    logging.getLogger("elastic_transport").setLevel(logging.INFO if args.verbose else logging.ERROR)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args, load_settings()) or 0)
    except NewsmonError as exc:
        # Messages quote feed URLs, titles and server replies: keep their escape sequences off the terminal.
        print(f"newsmon: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsmon ... | head` closed the pipe: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
