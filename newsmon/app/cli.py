"""The `newsmon` command line: subcommands are discovered in newsmon/app/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from pydantic import ValidationError

from newsmon.app import commands
from newsmon.core.config import ConfigError
from newsmon.core.errors import UserError
from newsmon.core.query import QuerySyntaxError
from newsmon.core.settings import load_settings
from newsmon.core.text import printable
from newsmon.enrich.topic import TopicPackError
from newsmon.store.db import StoreUnavailable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="News monitoring for Lithuania–Belarus relations: ingest feeds, search, alert.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The ES client logs every retry with a traceback; the CLI reports the final outcome in one line instead.
    logging.getLogger("elastic_transport").setLevel(logging.INFO if args.verbose else logging.ERROR)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"newsmon: bad setting NEWSMON_{str(first['loc'][0]).upper()}: {first['msg']}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, settings) or 0)
    except (UserError, ConfigError, QuerySyntaxError, TopicPackError) as exc:
        # Messages quote feed URLs, titles and server replies: keep their escape sequences off the terminal.
        print(f"newsmon: {printable(exc)}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"newsmon: store unavailable: {printable(exc)}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsmon ... | head` closed the pipe: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
