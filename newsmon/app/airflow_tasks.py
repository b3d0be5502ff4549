"""What every DAG task runs through: a user's mistake fails the task at once, an outage raises so Airflow retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from airflow.sdk.exceptions import AirflowFailException

from newsmon.core.errors import UserError
from newsmon.core.settings import Settings, load_settings

T = TypeVar("T")


def run_task(stage: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`stage(settings, *args, **kwargs)` with settings from the environment.

    A UserError (a broken alerts.yaml, a bad NEWSMON_* value, a query newsmon refuses) becomes
    AirflowFailException: retrying cannot fix a file, and three retries would only delay the red task
    that tells the operator to edit it. Everything else, Unavailable above all, propagates unchanged,
    so the task's retries ride out a database or mail server that is briefly down.
    """
    try:
        settings: Settings = load_settings()
        return stage(settings, *args, **kwargs)
    except UserError as exc:
        raise AirflowFailException(f"newsmon: {exc} (not retried: fix the configuration, then clear the task)") from exc
