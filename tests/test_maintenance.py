"""Daily maintenance on a real SQLite state DB: old rows go, recent ones stay, a dry run changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_dedup_fixtures import BALLOONS, BASE_AT, FENCE, article

from newsmon.app.cli import main
from newsmon.app.maintenance import Retention, run_maintenance
from newsmon.core.records import Article
from newsmon.core.settings import Settings, load_settings
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import open_engine
from newsmon.store.migrations import HEAD
from newsmon.store.runs import recent_runs
from newsmon.store.schema import (
    BAND_TABLES,
    alert_outbox,
    alert_sends,
    articles,
    dedup_docs,
    seen_entries,
    story_keys,
    story_members,
)
from newsmon.store.stories import assign_stories

NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, state_dir=tmp_path / "var", state_url=None, search_backend="sqlite")


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _seen(settings: Settings, *ages_days: float, feed_id: str = "lrt-en") -> None:
    rows = [{"feed_id": feed_id, "entry_key": f"{feed_id}-{i}-{age}", "outcome": "staged", "article_id": None,
             "seen_at": _days_ago(age)} for i, age in enumerate(ages_days)]
    with open_engine(settings.database_url).begin() as conn:
        conn.execute(seen_entries.insert(), rows)


def _alert(settings: Settings, rule: str, cluster_id: str, status: str, age_days: float) -> None:
    at = _days_ago(age_days)
    with open_engine(settings.database_url).begin() as conn:
        conn.execute(alert_outbox.insert().values(
            rule=rule, cluster_id=cluster_id, article_id=cluster_id, mode="instant", status=status, attempts=1,
            created_at=at, sent_at=at if status == "sent" else None, payload={"title": cluster_id}))


def _article(settings: Settings, article_id: str, status: str, index_error: str | None = None) -> None:
    with open_engine(settings.database_url).begin() as conn:
        conn.execute(articles.insert().values(
            id=article_id, canonical_url=f"https://www.lrt.lt/{article_id}", feed_id="lrt-en", source="lrt-en",
            content_hash=article_id, staged_at=_days_ago(1), status=status, index_error=index_error, alerted=False,
            doc={"id": article_id}))


def _fingerprinted(settings: Settings, text: str, age_days: float) -> Article:
    """An article clustered by the real store code, seen `age_days` before NOW."""
    minutes = int((NOW - timedelta(days=age_days) - BASE_AT).total_seconds() // 60)
    staged = article(f"https://www.lrt.lt/naujienos/{len(text)}-{age_days}", text, minutes=minutes, source="LRT")
    with open_engine(settings.database_url).begin() as conn:
        return assign_clusters(conn, [staged], NOW)[0]


def _bands(settings: Settings) -> int:
    """LSH band rows, wherever they are: new ones sit in the recent table until a merge."""
    return sum(_count(settings, table) for table in BAND_TABLES)


def _count(settings: Settings, table, *where) -> int:
    with open_engine(settings.database_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_feed_entry_keys_older_than_the_window_are_forgotten_and_recent_ones_kept(settings):
    _seen(settings, 200, 91, 89, 3, 0.1)

    counts = run_maintenance(settings, NOW, retention=Retention(seen_entries_days=90))

    assert counts["seen_entries_pruned"] == 2
    with open_engine(settings.database_url).connect() as conn:
        left = sorted(round((NOW - r.seen_at.replace(tzinfo=UTC)).days) for r in conn.execute(select(seen_entries)))
    assert left == [0, 3, 89]


def test_old_sent_alerts_are_deleted_while_recent_failed_and_pending_ones_stay(settings):
    _alert(settings, "checkpoints", "old-sent", "sent", 400)
    _alert(settings, "checkpoints", "recent-sent", "sent", 10)
    _alert(settings, "checkpoints", "old-failed", "failed", 400)
    _alert(settings, "balloons", "old-pending", "pending", 400)

    counts = run_maintenance(settings, NOW, retention=Retention(sent_alerts_days=180))

    assert counts["sent_alerts_pruned"] == 1
    with open_engine(settings.database_url).connect() as conn:
        left = sorted(conn.execute(select(alert_outbox.c.cluster_id)).scalars())
    assert left == ["old-failed", "old-pending", "recent-sent"]


def test_alerts_a_rule_dropped_in_quiet_hours_are_forgotten_after_the_retention_like_sent_ones(settings):
    _alert(settings, "checkpoints", "old-dropped", "dropped", 400)
    _alert(settings, "checkpoints", "recent-dropped", "dropped", 10)

    counts = run_maintenance(settings, NOW, retention=Retention(sent_alerts_days=180))

    assert counts["sent_alerts_pruned"] == 1
    with open_engine(settings.database_url).connect() as conn:
        assert list(conn.execute(select(alert_outbox.c.cluster_id)).scalars()) == ["recent-dropped"]


def test_the_log_of_sends_that_max_per_hour_counts_keeps_only_the_retention_period(settings):
    with open_engine(settings.database_url).begin() as conn:
        conn.execute(alert_sends.insert(), [
            {"rule": "checkpoints", "channel": "c", "sent_at": _days_ago(age), "kind": "alert", "stories": 1,
             "key": f"checkpoints.{age}"} for age in (400, 10)])
    run_maintenance(settings, NOW, retention=Retention(sent_alerts_days=180))
    with open_engine(settings.database_url).connect() as conn:
        assert list(conn.execute(select(alert_sends.c.key)).scalars()) == ["checkpoints.10"]


def test_old_near_duplicate_fingerprints_are_dropped_but_the_story_cluster_and_exact_hash_stay(settings):
    old = _fingerprinted(settings, BALLOONS, 60)
    _fingerprinted(settings, FENCE, 2)
    bands_before = _bands(settings)

    counts = run_maintenance(settings, NOW, retention=Retention(lsh_window_days=30))

    assert counts["lsh_pruned"] == 1
    assert 0 < _bands(settings) < bands_before  # the recent article keeps its bands
    assert _count(settings, dedup_docs, dedup_docs.c.signature.is_not(None)) == 1
    # An exact copy arriving now still joins the old story.
    copy = _fingerprinted(settings, BALLOONS.upper(), 0)
    assert (copy.cluster_id, copy.dup_reason) == (old.cluster_id, "exact")


def test_story_candidate_keys_of_old_days_are_dropped_while_the_stories_and_recent_keys_stay(settings):
    with open_engine(settings.database_url).begin() as conn:  # the real index-stage path: copy clusters, then stories
        for text, age in ((BALLOONS, 60), (FENCE, 2)):
            minutes = int((NOW - timedelta(days=age) - BASE_AT).total_seconds() // 60)
            staged = article(f"https://www.lrt.lt/naujienos/{age}", text, minutes=minutes, source="LRT", published=True)
            assign_stories(conn, assign_clusters(conn, [staged], NOW), NOW)
    keys_before = _count(settings, story_keys)
    old_day = (NOW - timedelta(days=60) - datetime(1970, 1, 1, tzinfo=UTC)).days
    assert _count(settings, story_keys, story_keys.c.day <= old_day) > 0

    planned = run_maintenance(settings, NOW, dry_run=True, retention=Retention(lsh_window_days=30))
    counts = run_maintenance(settings, NOW, retention=Retention(lsh_window_days=30))

    assert counts["story_keys_pruned"] == planned["story_keys_pruned"] > 0
    assert _count(settings, story_keys, story_keys.c.day <= old_day) == 0
    assert _count(settings, story_keys) == keys_before - counts["story_keys_pruned"] > 0
    assert _count(settings, story_members) == 2


def test_articles_the_index_refused_are_counted_and_left_for_the_next_ingest_run(settings):
    _article(settings, "a1", "clustered", index_error="mapper_parsing_exception: failed to parse [published_at]")
    _article(settings, "a2", "clustered", index_error="mapper_parsing_exception: failed to parse [published_at]")
    _article(settings, "a3", "clustered")  # clustered this run, not refused
    _article(settings, "a4", "indexed")

    counts = run_maintenance(settings, NOW)

    assert counts["stuck_index_errors"] == 2
    assert _count(settings, articles, articles.c.status == "clustered") == 3


def test_dry_run_reports_what_would_go_and_changes_nothing(settings):
    _seen(settings, 200, 1)
    _alert(settings, "checkpoints", "old-sent", "sent", 400)
    _fingerprinted(settings, BALLOONS, 60)
    retention = Retention(seen_entries_days=90, sent_alerts_days=180, lsh_window_days=30)

    planned = run_maintenance(settings, NOW, dry_run=True, retention=retention)

    assert (planned["seen_entries_pruned"], planned["sent_alerts_pruned"], planned["lsh_pruned"]) == (1, 1, 1)
    assert (planned["analyzed"], planned["vacuumed"]) == (0, 0)
    assert _count(settings, seen_entries) == 2
    assert _count(settings, alert_outbox) == 1
    assert _bands(settings) > 0
    done = run_maintenance(settings, NOW, retention=retention)
    assert {k: done[k] for k in ("seen_entries_pruned", "sent_alerts_pruned", "lsh_pruned")} == \
           {k: planned[k] for k in ("seen_entries_pruned", "sent_alerts_pruned", "lsh_pruned")}


def test_a_second_run_finds_nothing_more_to_remove(settings):
    _seen(settings, 200, 150, 1)
    _alert(settings, "checkpoints", "old-sent", "sent", 400)
    first = run_maintenance(settings, NOW)
    second = run_maintenance(settings, NOW)
    assert (first["seen_entries_pruned"], first["sent_alerts_pruned"]) == (2, 1)
    assert (second["seen_entries_pruned"], second["sent_alerts_pruned"]) == (0, 0)


def test_pruning_most_of_the_file_compacts_it_and_the_statistics_are_refreshed(settings):
    _seen(settings, *([400] * 20_000), 1)
    engine = open_engine(settings.database_url)
    with engine.connect() as conn:
        pages_before = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    counts = run_maintenance(settings, NOW)

    assert counts["seen_entries_pruned"] == 20_000
    assert (counts["vacuumed"], counts["analyzed"]) == (1, 1)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_count").scalar_one() < pages_before / 2
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar_one() == 0


def test_cli_dry_run_prints_the_counts_and_leaves_the_store_alone(settings, monkeypatch, capsys):
    monkeypatch.setenv("NEWSMON_HOME", str(settings.home))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(settings.state_path))
    monkeypatch.delenv("NEWSMON_STATE_URL", raising=False)
    _seen(settings, 4000, 1)  # 4000 days: older than any window, whatever "now" is

    assert main(["maintenance", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove 1 feed entry keys older than 90 days" in out
    assert "nothing was changed" in out
    assert _count(settings, seen_entries) == 2
    assert recent_runs(open_engine(settings.database_url)) == []  # a dry run leaves no trace, not even in runs

    assert main(["maintenance", "--json", "--seen-days", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["seen_entries_pruned"] == 1
    assert _count(settings, seen_entries) == 1


def test_cli_refuses_a_retention_of_zero_days_with_a_one_line_reason(settings, monkeypatch, capsys):
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(settings.state_path))
    monkeypatch.delenv("NEWSMON_STATE_URL", raising=False)
    assert main(["maintenance", "--sent-days", "0"]) == 2
    assert "sent_alerts_days must be at least 1 day" in capsys.readouterr().err



def test_each_task_of_the_daily_dag_does_its_step_on_the_configured_store(settings, monkeypatch):
    monkeypatch.setenv("NEWSMON_HOME", str(settings.home))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(settings.state_path))
    monkeypatch.delenv("NEWSMON_STATE_URL", raising=False)
    _seen(settings, 4000, 1)
    _alert(settings, "checkpoints", "old-sent", "sent", 4000)
    _article(settings, "a1", "clustered", index_error="HTTP 400 mapper_parsing_exception")
    from airflow.dag_processing.dagbag import DagBag

    dag_file = Path(__file__).resolve().parents[1] / "dags" / "newsmon_maintenance.py"
    dag = DagBag(dag_folder=str(dag_file)).dags["newsmon_maintenance"]
    order = [t.task_id for t in dag.topological_sort()]
    assert order == ["upgrade_state_db", "prune_seen_entries", "prune_sent_alerts", "prune_lsh_bands",
                     "prune_story_keys", "count_stuck_articles", "optimize_database", "report_feed_health"]
    order = order[:-1]  # the feed-health report has its own tests (tests/test_feed_health_report.py)
    # The task bodies themselves (what the worker runs), without the scheduler around them.
    results = {task_id: dag.task_dict[task_id].python_callable() for task_id in order}

    assert results["upgrade_state_db"] == HEAD
    assert results["prune_seen_entries"] == 1 and results["prune_sent_alerts"] == 1
    assert results["count_stuck_articles"] == 1
    assert results["optimize_database"]["analyzed"] == 1
    recorded = {r.stage: r.counts for r in recent_runs(open_engine(settings.database_url))}
    assert list(recorded) == order[:0:-1]  # every stage task recorded what it did, newest first
    assert recorded["prune_seen_entries"]["seen_entries_pruned"] == 1
    assert recorded["count_stuck_articles"]["stuck_index_errors"] == 1
    assert _count(settings, seen_entries) == 1
    assert _count(settings, alert_outbox) == 0
