"""Airflow: the DAG files parse cleanly without side effects, and newsmon_ingest runs end to end."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pre_alembic_db import create_pre_alembic_db, fill_every_table, snapshot, without_upgrade_changes
from sqlalchemy import create_engine, func, select, text

from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.migrations import HEAD
from newsmon.store.schema import alert_outbox

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
    assert len(demo_env.smtp.messages) == 2
    with open_engine(demo_env.settings.database_url).connect() as conn:
        rows = conn.execute(select(alert_outbox.c.rule, alert_outbox.c.cluster_id, func.count())
                            .group_by(alert_outbox.c.rule, alert_outbox.c.cluster_id)).all()
    assert all(n == 1 for _, _, n in rows) and len(rows) == 2


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
    assert snapshot(old) == without_upgrade_changes(before)
    with old.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    old.dispose()
