"""CLI subcommands: one module per command, listed in newsmon.app.cli.COMMANDS; register(parser) adds its arguments."""
