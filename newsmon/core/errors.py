"""The one error hierarchy: what went wrong decides the exit code and whether Airflow retries."""

from __future__ import annotations


class NewsmonError(Exception):
    """An error newsmon reports as one line; `exit_code` is what the CLI exits with."""

    exit_code = 1


class UserError(NewsmonError):
    """Bad input or configuration: the user must change something. Exit code 2; a DAG task fails without retry."""

    exit_code = 2


class Unavailable(NewsmonError):
    """A service newsmon needs (state DB, search cluster, mail or webhook server) failed: exit code 3, and a DAG
    task raises so Airflow retries it."""

    exit_code = 3
