"""Airflow: the DAG files parse cleanly without side effects, and newsmon_ingest runs end to end."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from pre_alembic_db import create_pre_alembic_db, fill_every_table, snapshot, without_upgrade_changes
from sqlalchemy import create_engine, func, select, text

from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.migrations import HEAD
from newsmon.store.schema import alert_outbox, articles

DAGS = Path(__file__).resolve().parents[1] / "dags"


def test_dagbag_loads_every_dag_without_import_errors_network_or_store_access(tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(state_dir))

    def no_network(*args, **kwargs):
        raise AssertionError(f"a DAG file opened a network connection at parse time: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert {"newsmon_ingest", "newsmon_digest_hourly", "newsmon_digest_daily"} <= set(bag.dag_ids)
    ingest = bag.dags["newsmon_ingest"]
    assert [t.task_id for t in ingest.topological_sort()] == ["upgrade_state_db", "plan", "poll", "cluster_and_index", "alert"]
    assert ingest.max_active_runs == 1
    assert not state_dir.exists(), "parsing the DAGs must not create or open the store"


@pytest.mark.timeout(300)
def test_dag_test_ingests_the_demo_site_and_mails_exactly_one_alert_per_rule_and_story(demo_env, airflow_db, monkeypatch):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).dags["newsmon_ingest"]
    run = dag.test()
    assert str(run.state) in ("success", "DagRunState.SUCCESS")

    index = open_index(demo_env.settings, open_engine(demo_env.settings.database_url))
    assert any(h.title.startswith("Šalčininkų") for h in index.search(SearchQuery(q="salcininku")))
    with open_engine(demo_env.settings.database_url).connect() as conn:
        alerted = conn.execute(select(alert_outbox.c.rule, alert_outbox.c.cluster_id)).all()
        copies = conn.execute(select(func.count()).select_from(articles)
                              .where(articles.c.cluster_id.in_([cluster for _, cluster in alerted]))).scalar_one()
    # Each mail's Message-ID names its rule and story: a second mail for one of them would appear twice here.
    message_ids = sorted(message["Message-ID"] for message in demo_env.smtp.messages)
    assert message_ids == sorted(f"<{rule}.{cluster}@newsmon>" for rule, cluster in alerted)
    assert len(alerted) == 2
    assert copies > len(alerted), "the demo's republished story has two copies, and still one mail"


def _digest_dag_with_one_quick_retry():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).dags["newsmon_digest_hourly"]
    for task in dag.tasks:  # one retry, at once: enough to see whether Airflow retries at all
        task.retries, task.retry_delay = 1, timedelta(0)
    return dag


def _task(run, task_id: str):
    (task_instance,) = [ti for ti in run.get_task_instances() if ti.task_id == task_id]
    return task_instance


@pytest.mark.timeout(300)
def test_a_broken_alerts_file_fails_the_task_once_without_retries_and_names_the_file(
        airflow_db, tmp_path, monkeypatch, capfd):
    config = tmp_path / "config"
    config.mkdir()
    rules = config / "alerts.yaml"
    rules.write_text("rules:\n  - name: border\n    query: 'medininkai AND'\n    channels: ['file:a.jsonl']\n")
    monkeypatch.setenv("NEWSMON_CONFIG_DIR", str(config))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "var"))

    task = _task(_digest_dag_with_one_quick_retry().test(), "send")

    assert (str(task.state), task.try_number) == ("failed", 1)
    assert f"{rules}:3: rules.0.query" in "".join(capfd.readouterr())


@pytest.mark.timeout(300)
def test_an_unusable_state_store_is_retried_by_airflow(airflow_db, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("the state dir cannot be created below a file\n")
    monkeypatch.setenv("NEWSMON_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(blocker / "var"))

    task = _task(_digest_dag_with_one_quick_retry().test(), "upgrade_state_db")  # the first task to open the store

    assert (str(task.state), task.try_number) == ("failed", 2)


@pytest.mark.timeout(300)
def test_the_digest_dag_first_upgrades_a_state_db_from_before_revisions_keeping_every_row(demo_env, airflow_db, monkeypatch):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    demo_env.settings.state_path.mkdir(parents=True, exist_ok=True)
    old = create_engine(demo_env.settings.database_url)
    create_pre_alembic_db(old)
    fill_every_table(old)
    before = snapshot(old)
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=str(DAGS)).dags["newsmon_digest_hourly"].test()

    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    after, kept = snapshot(old), without_upgrade_changes(before)
    assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in kept.items() if k != "runs"}
    assert all(row in after["runs"] for row in kept["runs"])  # a stage may add the record of its own run
    with old.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    old.dispose()
