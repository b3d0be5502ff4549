"""`newsmon es setup|status|reindex` and `newsmon search` on the Elasticsearch backend, through the real CLI."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from es_recorder import EsRecorder, sample_articles, search_response

from newsmon.app.cli import main
from newsmon.core.documents import article_to_document


@pytest.fixture
def es(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[EsRecorder]:
    with EsRecorder() as recorder:
        monkeypatch.setenv("NEWSMON_ES_URL", recorder.url)
        monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path))
        monkeypatch.setenv("NEWSMON_SEARCH_BACKEND", "elasticsearch")
        yield recorder


def stage(tmp_path: Path, statuses: list[str]) -> list[str]:
    """Store the sample articles in the state DB with the given statuses; return their ids."""
    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    engine = open_engine(f"sqlite:///{tmp_path / 'newsmon.db'}")
    rows = []
    for article, status in zip(sample_articles(), statuses, strict=True):
        rows.append({"id": article.id, "canonical_url": article.canonical_url, "content_hash": article.content_hash,
                     "staged_at": datetime(2026, 11, 20, tzinfo=UTC), "status": status,
                     "doc": article_to_document(article)})
    with engine.begin() as conn:
        conn.execute(articles.insert(), rows)
    return [a.id for a in sample_articles()]


def test_es_setup_is_idempotent_and_says_what_it_did(es: EsRecorder, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["es", "setup"]) == 0
    first = capsys.readouterr().out
    assert main(["es", "setup"]) == 0
    second = capsys.readouterr().out
    assert "index template newsmon-articles: installed" in first
    assert "write index newsmon-articles-000001 (created)" in first
    assert "index template newsmon-articles: unchanged" in second and "(already there)" in second
    assert len(es.sent("PUT", "/newsmon-articles-000001")) == 1


def test_es_status_shows_the_write_index_and_the_count(es: EsRecorder, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["es", "status"]) == 2
    assert "run `newsmon es setup`" in capsys.readouterr().out
    main(["es", "setup"])
    es.docs["newsmon-articles-000001"]["x"] = {}
    capsys.readouterr()
    assert main(["es", "status"]) == 0
    out = capsys.readouterr().out
    assert "newsmon-articles-000001 (write index)" in out and "documents: 1" in out
    assert "template version: installed 2, this newsmon 2" in out


def test_es_reindex_rebuilds_only_indexed_articles_from_the_state_db(
        es: EsRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = stage(tmp_path, ["indexed", "indexed", "staged"])
    main(["es", "setup"])
    assert main(["es", "reindex"]) == 0
    out = capsys.readouterr().out
    assert set(es.docs["newsmon-articles-000002"]) == set(ids[:2])  # the staged one waits for the pipeline
    assert "alias newsmon-articles -> newsmon-articles-000002; old indices kept: newsmon-articles-000001" in out
    assert es.indices["newsmon-articles-000002"] == {"newsmon-articles": {"is_write_index": True}}


def test_es_reindex_with_a_failing_document_keeps_the_alias_and_exits_2(
        es: EsRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = stage(tmp_path, ["indexed", "indexed", "indexed"])
    main(["es", "setup"])
    es.item_status = lambda doc_id, _attempt: 400 if doc_id == ids[1] else None
    assert main(["es", "reindex"]) == 2
    err = capsys.readouterr().err
    assert f"1 document(s) failed (e.g. {ids[1]}: HTTP 400" in err
    assert "the alias still points at newsmon-articles-000001" in err
    assert es.indices["newsmon-articles-000001"] == {"newsmon-articles": {"is_write_index": True}}


@pytest.mark.parametrize("argv", [["es", "setup"], ["es", "status"], ["search", "medininkai"]])
def test_an_unreachable_cluster_is_one_line_and_exit_3_like_every_unavailable_service(
        argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NEWSMON_ES_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NEWSMON_SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path))
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot reach Elasticsearch at http://127.0.0.1:{port}" in err and "connection refused" in err


def test_es_reindex_leaves_out_a_damaged_stored_document_and_names_it_once(
        es: EsRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    ids = stage(tmp_path, ["indexed", "indexed", "indexed"])
    engine = open_engine(f"sqlite:///{tmp_path / 'newsmon.db'}")
    with engine.begin() as conn:
        doc = conn.execute(articles.select().where(articles.c.id == ids[1])).one().doc
        conn.execute(articles.update().where(articles.c.id == ids[1]).values(doc={**doc, "fetched_at": None}))
    main(["es", "setup"])
    assert main(["es", "reindex"]) == 0
    captured = capsys.readouterr()
    assert set(es.docs["newsmon-articles-000002"]) == {ids[0], ids[2]}
    assert f"1 stored article(s) could not be read and were left out, e.g. {ids[1]}: " in captured.err
    assert "fetched_at" in captured.err and "Traceback" not in captured.err


def test_search_on_the_elasticsearch_backend_lists_hits_like_on_sqlite(
        es: EsRecorder, capsys: pytest.CaptureFixture[str]) -> None:
    doc = article_to_document(sample_articles()[0])
    main(["es", "setup"])
    es.on("POST", "/newsmon-articles/_search", lambda request, _es: (200, search_response(
        [] if "aggregations" in request.json() else
        [{"_index": "newsmon-articles-000001", "_id": doc["id"], "_score": 2.0, "_source": doc,
          "highlight": {"text": ["[Šalčininkai]: punktas uždarytas."]}}])))
    capsys.readouterr()
    assert main(["search", "salcininkai", "--lang", "lt", "--on-topic"]) == 0
    out = capsys.readouterr().out
    assert doc["title"] in out and "[Šalčininkai]" in out
    body = es.sent("POST", "/newsmon-articles/_search")[0].json()
    assert body["query"]["bool"]["must"][0]["query_string"]["query"] == "salcininkai"
