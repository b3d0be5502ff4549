"""CLI subcommands; each module exposes register(subparsers) and is discovered by newsmon.cli."""
