"""Every stage run, from the CLI or a DAG task, is recorded with its counts; `newsmon runs` lists them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.app.cli import main
from newsmon.app.stages.run import run_once
from newsmon.store import runs as runs_store
from newsmon.store.db import open_engine
from newsmon.store.runs import recent_runs, record_run

DAGS = Path(__file__).resolve().parents[1] / "dags"


def test_each_stage_of_a_run_records_its_counts_with_its_start_and_finish(demo_env):
    summary = run_once(demo_env.settings)
    records = recent_runs(open_engine(demo_env.settings.database_url))
    assert [r.stage for r in records] == ["alert", "index"] + ["poll"] * summary.batches + ["plan"]
    assert all(r.started_at <= r.finished_at for r in records)
    by_stage = {r.stage: r.counts for r in records}
    assert by_stage["plan"]["feeds_due"] == summary.feeds
    assert by_stage["index"]["indexed"] == summary.index["indexed"]
    assert by_stage["alert"]["sent"] == summary.alerts["sent"] == 2
    assert sum(r.counts.get("staged", 0) for r in records if r.stage == "poll") == summary.poll["staged"]


def test_newsmon_runs_lists_the_latest_stage_runs_and_what_they_counted(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    assert main(["runs"]) == 0
    assert "no stage has run yet" in capsys.readouterr().out
    run_once(demo_env.settings)

    assert main(["runs"]) == 0
    table = capsys.readouterr().out
    assert "poll" in table and "staged" in table and "page_fetch_failed.http_404" in table
    assert main(["runs", "--stage", "index", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["stage"] == "index" and json.loads(line)["counts"]["indexed"] > 0


def test_only_the_latest_runs_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(runs_store, "MAX_RUNS_KEPT", 3)
    engine = open_engine(f"sqlite:///{tmp_path / 'state.db'}")
    at = datetime(2026, 3, 5, tzinfo=UTC)
    for n in range(5):
        record_run(engine, "poll", at, at, {"staged": n})
    assert [r.counts["staged"] for r in recent_runs(engine)] == [4, 3, 2]


@pytest.mark.timeout(300)
def test_every_task_of_the_ingest_dag_records_its_counts(demo_env, airflow_db, monkeypatch):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=str(DAGS)).dags["newsmon_ingest"].test()
    assert str(run.state) in ("success", "DagRunState.SUCCESS")
    records = recent_runs(open_engine(demo_env.settings.database_url))
    assert [r.stage for r in records][:2] == ["alert", "index"] and records[-1].stage == "plan"
    assert {r.stage for r in records} == {"plan", "poll", "index", "alert"}
    assert sum(r.counts.get("staged", 0) for r in records if r.stage == "poll") > 0
