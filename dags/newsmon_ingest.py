"""newsmon_ingest: every 10 minutes, upgrade the state DB schema → plan due feeds → poll them (mapped per host batch)
→ cluster + index → alert.

Wiring only: each task is one call (the first, the schema upgrade, into newsmon.store.db; the others into a
stage module of newsmon.app.stages) through run_task (a configuration error fails the task without
retries, an outage is retried), imported inside the task, so parsing this file touches no network, store
or clock. XComs carry feed ids and counts, never article text;
each stage also records its counts in the state DB's runs table (`newsmon runs`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

# Bounds outbound HTTP (feeds, pages, alert delivery) across every DAG; the start-up scripts create it.
HTTP_POOL = "newsmon_http"

DEFAULT_ARGS = {
    "owner": "newsmon",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@dag(
    dag_id="newsmon_ingest",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # clustering and alerting assume one run at a time; tasks are idempotent anyway
    default_args=DEFAULT_ARGS,
    tags=["newsmon"],
    doc_md=__doc__,
)
def newsmon_ingest() -> None:
    @task
    def upgrade_state_db() -> str:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.store.db import upgrade_state_db as upgrade

        return run_task(upgrade)

    @task
    def plan() -> list[list[str]]:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.stages.plan import plan_feeds

        return run_task(plan_feeds)

    @task(max_active_tis_per_dagrun=4, execution_timeout=timedelta(minutes=20), pool=HTTP_POOL)
    def poll(feed_ids: list[str]) -> dict:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.stages.poll import poll_feeds

        return run_task(poll_feeds, feed_ids)

    # all_done: one failed poll batch must not keep what the other batches staged from being indexed
    # and alerted; both stages only handle what was committed, so running after a failure is safe.
    @task(trigger_rule="all_done", execution_timeout=timedelta(minutes=20))
    def cluster_and_index(poll_counts: list[dict] | None = None) -> dict:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.stages.index import cluster_and_index as run

        return run_task(run)

    @task(trigger_rule="all_done", execution_timeout=timedelta(minutes=10), pool=HTTP_POOL)
    def alert(index_counts: dict | None = None) -> dict:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.stages.alert import send_alerts

        return run_task(send_alerts, raise_on_failure=True)

    batches = plan()
    upgrade_state_db() >> batches  # a no-op once the DB is at this newsmon's revision
    alert(cluster_and_index(poll.expand(feed_ids=batches)))


newsmon_ingest()
