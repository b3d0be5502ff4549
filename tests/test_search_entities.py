"""`newsmon search --entity ID` and `entity:ID` queries: typed entity ids on the embedded index and on Elasticsearch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from es_recorder import EsRecorder, search_response

from newsmon.app.cli import main
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import load_settings
from newsmon.store.db import open_engine
from newsmon.store.sqlite_index import SqliteIndex

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _article(key: str, title: str, entities: tuple[str, ...]) -> Article:
    return Article(id=key * 64, url=f"https://example.org/{key}", canonical_url=f"https://example.org/{key}",
                   source="lrt-en", title=title, text=f"{title}. More on the border.", fetched_at=AT,
                   content_hash=key * 64, language="en", published_at=AT, cluster_id=key * 64,
                   entities=entities, topic=TopicResult("lt-by", True, 0.9, ("border_crossings",), entities))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NEWSMON_SEARCH_BACKEND", raising=False)
    SqliteIndex(open_engine(load_settings().database_url)).put_articles([
        _article("a", "Lukashenko threatens the Medininkai crossing", ("person/lukashenko", "place/medininkai")),
        _article("b", "Medininkai queue grows", ("place/medininkai",)),
        _article("c", "Lukashenko meets envoy", ("person/lukashenko", "place/minsk")),
    ])


def found(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["search", "--json", *argv]) == 0
    return sorted(json.loads(line)["title"] for line in capsys.readouterr().out.splitlines())


def test_entity_option_finds_the_articles_naming_that_entity_without_a_query(store, capsys) -> None:
    assert found(capsys, "--entity", "person/lukashenko") == ["Lukashenko meets envoy",
                                                              "Lukashenko threatens the Medininkai crossing"]


def test_entity_options_narrow_a_query_and_each_other(store, capsys) -> None:
    assert found(capsys, "queue OR envoy", "--entity", "place/medininkai") == ["Medininkai queue grows"]
    assert found(capsys, "--entity", "person/lukashenko", "--entity", "place/medininkai") == [
        "Lukashenko threatens the Medininkai crossing"]


def test_entity_id_in_the_query_needs_no_quotes_or_escapes(store, capsys) -> None:
    assert found(capsys, "entity:place/medininkai NOT entity:person/lukashenko") == ["Medininkai queue grows"]
    assert found(capsys, "entity:place/*") == ["Lukashenko meets envoy", "Lukashenko threatens the Medininkai crossing",
                                                "Medininkai queue grows"]


def test_a_name_instead_of_an_id_is_refused_with_the_id_scheme(store, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:  # argparse refuses the option before anything runs
        main(["search", "--entity", "Lukashenko"])
    assert stopped.value.code == 2
    assert "not an entity id" in capsys.readouterr().err
    assert main(["search", "entity:Lukashenko"]) == 2
    err = capsys.readouterr().err
    assert "person/lukashenko" in err and "Traceback" not in err


@pytest.fixture
def es(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[EsRecorder]:
    with EsRecorder() as recorder:
        monkeypatch.setenv("NEWSMON_ES_URL", recorder.url)
        monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path))
        monkeypatch.setenv("NEWSMON_SEARCH_BACKEND", "elasticsearch")
        yield recorder


def test_entity_ids_reach_elasticsearch_quoted_or_escaped_never_as_a_regex(es: EsRecorder, capsys) -> None:
    main(["es", "setup"])
    es.on("POST", "/newsmon-articles/_search", lambda request, _es: (200, search_response([])))
    assert main(["search", "salcininkai OR medininkai", "--entity", "person/lukashenko"]) == 0
    assert main(["search", "entity:person/lukashenko"]) == 0
    sent = [r.json()["query"]["bool"]["must"][0]["query_string"]["query"]
            for r in es.sent("POST", "/newsmon-articles/_search")]
    assert sent == ['(salcininkai OR medininkai) AND entities:"person/lukashenko"', r"entities:person\/lukashenko"]
