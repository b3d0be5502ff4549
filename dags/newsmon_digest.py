"""newsmon_digest: hourly and daily alert digests from the outbox (one message per rule), after upgrading the state DB schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

# Bounds outbound HTTP (feeds, pages, alert delivery) across every DAG; the start-up scripts create it.
HTTP_POOL = "newsmon_http"


def _digest_dag(mode: str, schedule: str) -> None:
    @dag(
        dag_id=f"newsmon_digest_{mode}",
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "newsmon", "retries": 3, "retry_delay": timedelta(minutes=5)},
        tags=["newsmon"],
        doc_md=__doc__,
    )
    def digest() -> None:
        @task
        def upgrade_state_db() -> str:
            from newsmon.app.airflow_tasks import run_task
            from newsmon.store.db import upgrade_state_db as upgrade

            return run_task(upgrade)

        @task(pool=HTTP_POOL)
        def send() -> dict:
            from newsmon.app.airflow_tasks import run_task
            from newsmon.app.stages.alert import send_digests

            return run_task(send_digests, mode, raise_on_failure=True)

        upgrade_state_db() >> send()

    digest()


_digest_dag("hourly", "@hourly")
_digest_dag("daily", "0 6 * * *")
