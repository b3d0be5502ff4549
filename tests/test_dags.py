"""Airflow: the DAG files parse cleanly without side effects, and newsmon_ingest runs end to end."""

from __future__ import annotations

import importlib.util
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pre_alembic_db import create_pre_alembic_db, fill_every_table, snapshot, without_upgrade_changes
from sqlalchemy import create_engine, func, select, text

from newsmon.store import db
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.migrations import HEAD
from newsmon.store.schema import alert_outbox, articles

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
HTTP_TASKS = {("newsmon_ingest", "poll"), ("newsmon_ingest", "alert"),
              ("newsmon_digest_hourly", "send"), ("newsmon_digest_daily", "send")}


class ParseTimeAccess(AssertionError):
    """A DAG file reached the network, the state DB or an Airflow Variable while being parsed."""


@pytest.fixture
def parse_time_traps(tmp_path, monkeypatch):
    """The network, the state DB and Airflow Variables all fail, so a DAG file that touches one at import is an import error."""
    def refuse(what: str):
        def fail(*args, **kwargs):
            raise ParseTimeAccess(f"a DAG file used {what} at parse time: {args}")
        return fail

    monkeypatch.setattr(socket.socket, "connect", refuse("the network"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("the network"))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("NEWSMON_STATE_URL", f"sqlite:///{tmp_path / 'a-file' / 'newsmon.db'}")  # cannot be opened
    monkeypatch.setattr(db, "open_engine", refuse("the state DB"))
    from airflow.models.variable import Variable as CoreVariable
    from airflow.sdk import Variable

    monkeypatch.setattr(Variable, "get", staticmethod(refuse("an Airflow Variable")))
    monkeypatch.setattr(CoreVariable, "get", classmethod(refuse("an Airflow Variable")))
    return tmp_path / "state"


def dagbag(folder: Path = DAGS):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def test_dagbag_loads_every_dag_without_import_errors_network_store_or_variable_access(parse_time_traps):
    bag = dagbag()
    assert bag.import_errors == {}
    assert {"newsmon_ingest", "newsmon_digest_hourly", "newsmon_digest_daily", "newsmon_maintenance"} <= set(bag.dag_ids)
    ingest = bag.dags["newsmon_ingest"]
    assert [t.task_id for t in ingest.topological_sort()] == ["upgrade_state_db", "plan", "poll", "cluster_and_index", "alert"]
    assert ingest.max_active_runs == 1
    assert not parse_time_traps.exists(), "parsing the DAGs must not create or open the store"


# Each would work at parse time without the traps: the port listens, the default makes a Variable optional,
# the state dir exists; so a DAG file doing it is caught by the traps alone.
@pytest.mark.parametrize(("module_level_code", "error"), [
    ("import os, socket\nsocket.create_connection(('127.0.0.1', int(os.environ['LISTENING_PORT'])))",
     "ParseTimeAccess: a DAG file used the network"),
    ("from newsmon.store.db import open_engine\nopen_engine('sqlite://')", "ParseTimeAccess: a DAG file used the state DB"),
    ("import sqlalchemy\nfrom newsmon.core.settings import load_settings\nsettings = load_settings()\n"
     "settings.state_path.mkdir(parents=True)\nsqlalchemy.create_engine(settings.database_url).connect()",
     "unable to open database file"),
    ("from airflow.sdk import Variable\nVariable.get('feeds', 'none')", "ParseTimeAccess: a DAG file used an Airflow Variable"),
    ("from airflow.models import Variable\nVariable.get('feeds', 'none')", "ParseTimeAccess: a DAG file used an Airflow Variable"),
], ids=["network", "open_engine", "state-url", "sdk-variable", "core-variable"])
def test_a_dag_file_that_touches_the_outside_at_parse_time_is_an_import_error(parse_time_traps, tmp_path,
                                                                              monkeypatch, module_level_code, error):
    listening = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setenv("LISTENING_PORT", str(listening.getsockname()[1]))
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "careless.py").write_text(
        "from airflow.sdk import dag\n" + module_level_code + "\n\n"
        "@dag(schedule=None)\ndef careless():\n    pass\n\ncareless()\n")
    with listening:
        bag = dagbag(folder)
    assert list(bag.import_errors) == [str(folder / "careless.py")]
    assert error in bag.import_errors[str(folder / "careless.py")]


def test_every_task_that_makes_outbound_http_takes_a_slot_of_the_newsmon_http_pool(parse_time_traps):
    bag = dagbag()
    pools = {(dag.dag_id, task.task_id): task.pool for dag in bag.dags.values() for task in dag.tasks}
    assert {key for key, pool in pools.items() if pool == "newsmon_http"} == HTTP_TASKS
    assert {pool for key, pool in pools.items() if key not in HTTP_TASKS} == {"default_pool"}


def test_make_run_smoke_and_compose_create_the_pool_the_dags_use_with_the_configured_slots():
    spec = importlib.util.spec_from_file_location("airflow_stack", ROOT / "scripts" / "airflow_stack.py")
    stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stack)
    assert stack.HTTP_POOL == "newsmon_http"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow pools set newsmon_http" in init and "http_pool_slots" in init


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
