"""CLI subcommands; each module exposes register(subparsers) and is discovered by newsmon.app.cli."""
