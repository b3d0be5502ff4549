"""Errors the CLI reports as one line with exit code 2 (kept apart from newsmon.app.cli so `python -m` finds one class)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or config: printed as one line, exit code 2."""
