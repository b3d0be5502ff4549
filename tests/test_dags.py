"""Airflow: the DAG files parse cleanly without side effects, and newsmon_ingest runs end to end."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
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
    assert [t.task_id for t in ingest.topological_sort()] == ["plan", "poll", "cluster_and_index", "alert"]
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
        # The outbox key of a story rule is its story; the mail names the copy cluster of the article it shows.
        alerted = [(rule, payload["cluster_id"]) for rule, payload in
                   conn.execute(select(alert_outbox.c.rule, alert_outbox.c.payload)).all()]
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


def _only_task(run):
    (task_instance,) = run.get_task_instances()
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

    task = _only_task(_digest_dag_with_one_quick_retry().test())

    assert (str(task.state), task.try_number) == ("failed", 1)
    assert f"{rules}:3: rules.0.query" in "".join(capfd.readouterr())


@pytest.mark.timeout(300)
def test_an_unusable_state_store_is_retried_by_airflow(airflow_db, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("the state dir cannot be created below a file\n")
    monkeypatch.setenv("NEWSMON_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(blocker / "var"))

    task = _only_task(_digest_dag_with_one_quick_retry().test())

    assert (str(task.state), task.try_number) == ("failed", 2)
