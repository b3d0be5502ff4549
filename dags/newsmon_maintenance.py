"""newsmon_maintenance: daily, upgrade the state DB schema → prune old rows → count articles stuck before the
index → refresh statistics → report feeds that went silent, fail, moved or are gone to NEWSMON_OPERATOR_CHANNELS.

Wiring only: each task is one call into newsmon.app.maintenance through run_task, imported inside the task,
so parsing this file touches no store or clock. The steps run one after another so SQLite sees one writer at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

DEFAULT_ARGS = {"owner": "newsmon", "retries": 2, "retry_delay": timedelta(minutes=10)}


@dag(
    dag_id="newsmon_maintenance",
    schedule="30 3 * * *",  # a quiet hour for newsrooms in Vilnius and Minsk (UTC+2/+3)
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["newsmon"],
    doc_md=__doc__,
)
def newsmon_maintenance() -> None:
    @task
    def upgrade_state_db() -> str:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.store.db import upgrade_state_db as upgrade

        return run_task(upgrade)

    @task(execution_timeout=timedelta(minutes=30))
    def prune_seen_entries() -> int:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import prune_seen_entries as prune

        return run_task(prune)

    @task(execution_timeout=timedelta(minutes=30))
    def prune_sent_alerts() -> int:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import prune_sent_alerts as prune

        return run_task(prune)

    @task(execution_timeout=timedelta(minutes=60))
    def prune_lsh_bands() -> int:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import prune_lsh_bands as prune

        return run_task(prune)

    @task(execution_timeout=timedelta(minutes=30))
    def prune_story_keys() -> int:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import prune_story_keys as prune

        return run_task(prune)

    @task
    def count_stuck_articles() -> int:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import count_stuck_articles as count

        return run_task(count)

    @task(execution_timeout=timedelta(minutes=60))
    def optimize_database() -> dict[str, int]:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.maintenance import optimize_database as optimize

        return run_task(optimize)

    # all_done: an operator hears about the feeds even on a day a housekeeping step failed; and a channel
    # outage (this task retried) never holds the housekeeping back, since it runs last.
    @task(trigger_rule="all_done")
    def report_feed_health() -> dict[str, int]:
        from newsmon.app.airflow_tasks import run_task
        from newsmon.app.feed_report import report_feed_health as report

        return run_task(report)

    (upgrade_state_db() >> prune_seen_entries() >> prune_sent_alerts() >> prune_lsh_bands() >> prune_story_keys()
     >> count_stuck_articles() >> optimize_database() >> report_feed_health())


newsmon_maintenance()
