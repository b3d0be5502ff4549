"""`newsmon alerts test`: what a rule would send, grouped by story, on either backend, without sending or recording anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alert_site import serve
from es_recorder import EsRecorder, sample_articles, search_response
from sqlalchemy import func, select

from newsmon.app.cli import main
from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.index import cluster_and_index
from newsmon.app.stages.plan import plan_feeds
from newsmon.app.stages.poll import poll_feeds
from newsmon.core.documents import article_to_document
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox, articles, runs

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _ingest_without_alerting(settings) -> None:
    for batch in plan_feeds(settings, AT, force=True):
        poll_feeds(settings, batch, AT)
    cluster_and_index(settings, AT)


def _recorded(settings) -> tuple[int, int]:
    with open_engine(settings.database_url).connect() as conn:
        return (conn.execute(select(func.count()).select_from(alert_outbox)).scalar_one(),
                conn.execute(select(func.count()).select_from(runs)).scalar_one())


def _titles(out: str) -> list[str]:
    return [line.split(". ", 1)[1].removesuffix(" (already alerted)") for line in out.splitlines()
            if line[:1].isdigit() and ". " in line]


def test_alerts_test_lists_exactly_the_stories_the_live_path_then_alerts_and_sends_nothing(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    demo_env.settings.alerts_file.write_text(
        "rules:\n  - name: checkpoints\n    query: medininkai OR salcininkai OR checkpoint*\n    on_topic: true\n"
        f"    channels: ['file:{demo_env.alerts_file}']\n", encoding="utf-8")
    _ingest_without_alerting(demo_env.settings)
    before = _recorded(demo_env.settings)
    capsys.readouterr()

    assert main(["alerts", "test", "checkpoints", "--since", "2000-01-01"]) == 0
    out = capsys.readouterr().out
    previewed = _titles(out)
    assert previewed and "nothing was sent or recorded" in out
    assert _recorded(demo_env.settings) == before and not demo_env.alerts_file.exists()

    send_alerts(demo_env.settings, AT)
    alerted = [story["title"] for line in demo_env.alerts_file.read_text().splitlines()
               for story in json.loads(line)["stories"]]
    assert sorted(previewed) == sorted(alerted)


def test_a_draft_query_groups_an_events_copies_into_one_story_with_its_outlets_by_name(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    serve(demo_env, {"pasienio-zinios", "baltic-wire", "minsk-herald"})
    _ingest_without_alerting(demo_env.settings)
    capsys.readouterr()
    assert main(["alerts", "test", "--query", "medininkai OR medininku", "--since", "2000-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.count("also: ") == 1 and "1 alert(s) from 2 matching article(s) of 3" in out
    assert "Pasienio žinios (public broadcaster)" in out and "Baltic Wire (wire)" in out


def test_a_draft_query_that_does_not_parse_is_refused_naming_the_problem(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    assert main(["alerts", "test", "--query", "medininkai AND"]) == 2
    assert "cannot parse query 'medininkai AND'" in capsys.readouterr().err


@pytest.fixture
def es(monkeypatch, tmp_path):
    with EsRecorder() as recorder:
        monkeypatch.setenv("NEWSMON_ES_URL", recorder.url)
        monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("NEWSMON_CONFIG_DIR", str(tmp_path))
        monkeypatch.setenv("NEWSMON_SEARCH_BACKEND", "elasticsearch")
        yield recorder


def test_alerts_test_on_elasticsearch_asks_the_index_with_the_rules_query_and_filters_then_decides_like_the_live_path(
        es, tmp_path, capsys):
    lithuanian, *others = sample_articles()
    engine = open_engine(f"sqlite:///{tmp_path / 'var' / 'newsmon.db'}")
    with engine.begin() as conn:
        conn.execute(articles.insert(), [
            {"id": a.id, "canonical_url": a.canonical_url, "content_hash": a.content_hash, "staged_at": AT,
             "status": "indexed", "doc": article_to_document(a)} for a in (lithuanian, *others)])
    (tmp_path / "alerts.yaml").write_text(
        "rules:\n  - {name: desk, query: salcininkai, languages: [lt], on_topic: true, channels: ['file:a.jsonl']}\n")
    hits = [{"_index": "newsmon-articles-000001", "_id": a.id, "_score": 1.0, "_source": article_to_document(a)}
            for a in (lithuanian, *others)]  # the recorder answers every candidate: the matcher decides
    es.on("POST", "/newsmon-articles/_search", lambda request, _es: (200, search_response(hits)))
    capsys.readouterr()

    assert main(["alerts", "test", "desk", "--since", "2000-01-01"]) == 0
    out = capsys.readouterr().out
    assert _titles(out) == [lithuanian.title]
    body = json.dumps([r.json() for r in es.sent("POST", "/newsmon-articles/_search")])
    assert "salcininkai" in body and '"lt"' in body
    assert not [r for r in es.requests if r.method in ("PUT", "DELETE") or "_bulk" in r.path]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alert_outbox)).scalar_one() == 0
