"""Real searches on a live Elasticsearch (opt-in): folding, stemming, filters, strictness, the alias.

    NEWSMON_TEST_ES_URL=http://localhost:9200 NEWSMON_ES_USERNAME=elastic NEWSMON_ES_PASSWORD=... make test-es

Each run works in its own alias (newsmon-test-<random>) and deletes its indices and template afterwards.
Skipped, with the reason, when NEWSMON_TEST_ES_URL is not set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from es_recorder import FETCHED_AT, drop_live_test_data, sample_articles
from query_cases import ARTICLES, CASES

from newsmon.core.documents import article_to_document
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import load_settings
from newsmon.store.elastic import ElasticIndex
from newsmon.store.index import SearchQuery

pytestmark = pytest.mark.es


def extra_articles() -> list[Article]:
    """Articles whose words exercise the English and Lithuanian analyzers."""
    base = sample_articles()[2]
    return [
        replace(base, id="d4" + "0" * 62, url="https://example.com/balloon", canonical_url="https://example.com/balloon",
                source="baltic-wire", language="en", title="Vilnius airport closed again",
                text="Smuggling balloons from Belarus closed Vilnius airport for three hours.",
                published_at=datetime(2026, 11, 21, 6, 0, tzinfo=UTC), content_hash="f" * 64,
                topic=TopicResult(topic="lt-by", on_topic=True, relevance=0.9, subtopics=("airspace",))),
        replace(base, id="e5" + "0" * 62, url="https://example.lt/vyriausybe", canonical_url="https://example.lt/vyriausybe",
                source="pasienio-zinios", language="lt", title="Vyriausybė svarsto sienos uždarymą",
                text="Lietuva svarsto uždaryti sieną su Baltarusija.", published_at=None, fetched_at=FETCHED_AT,
                content_hash="a" * 64,
                topic=TopicResult(topic="lt-by", on_topic=True, relevance=0.7, subtopics=("border_crossings",))),
    ]


@pytest.fixture(scope="module")
def live() -> Iterator[ElasticIndex]:
    url = os.environ.get("NEWSMON_TEST_ES_URL")
    if not url:
        pytest.skip("NEWSMON_TEST_ES_URL is not set: no live Elasticsearch (docker compose up -d elasticsearch, "
                    "then NEWSMON_TEST_ES_URL=http://localhost:9200 make test-es)")
    alias = f"newsmon-test-{uuid.uuid4().hex[:8]}"
    index = ElasticIndex.from_settings(load_settings(es_url=url, es_alias=alias), bulk_initial_backoff_s=0.2)
    try:
        index.setup()
        result = index.put_articles(sample_articles() + extra_articles())
        assert result.failed == {}
        index.client.indices.refresh(index=alias)
        yield index
    finally:
        drop_live_test_data(index)
        index.close()


def titles(index: ElasticIndex, q: str, **filters: object) -> set[str]:
    return {hit.title for hit in index.search(SearchQuery(q=q, limit=50, **filters))}  # type: ignore[arg-type]


LT, RU, WEATHER = (a.title for a in sample_articles())
AIRPORT, GOVERNMENT = (a.title for a in extra_articles())


def test_a_query_without_diacritics_finds_the_lithuanian_spelling(live: ElasticIndex) -> None:
    assert titles(live, "salcininkai") == {LT}
    assert titles(live, "title:salcininku") == {LT}


def test_lithuanian_stemming_matches_another_case_of_the_same_word(live: ElasticIndex) -> None:
    assert LT in titles(live, "Lietuva")  # the article says "Lietuvoje"
    assert GOVERNMENT in titles(live, "Lietuvoje")  # this one says "Lietuva"


def test_russian_and_english_stemming(live: ElasticIndex) -> None:
    assert titles(live, "граница") == {RU}  # "на границе"
    assert titles(live, "balloon") >= {AIRPORT}  # "balloons"


def test_words_are_anded_like_in_alert_rules(live: ElasticIndex) -> None:
    assert titles(live, "Vilnius airport") == {AIRPORT}
    assert titles(live, "Vilnius Riga") == set()
    assert titles(live, "Vilnius OR Riga") == {AIRPORT, WEATHER}


def test_filters_and_field_queries(live: ElasticIndex) -> None:
    assert titles(live, "*", languages=("RU",)) == {RU}
    assert WEATHER not in titles(live, "*", on_topic=True)
    assert titles(live, "*", sources=("lrt-lt",)) == {LT}
    assert titles(live, "*", subtopics=("airspace",)) == {AIRPORT}
    assert titles(live, "lang:lt AND subtopic:border_crossings") == {GOVERNMENT}
    assert titles(live, "published_at:[2026-11-21 TO *]") == {AIRPORT}
    assert titles(live, "*", since=datetime(2026, 11, 21, tzinfo=UTC)) == {AIRPORT}


def test_hits_report_story_cluster_sizes_and_snippets(live: ElasticIndex) -> None:
    (hit,) = live.search(SearchQuery(q="salcininkai"))
    assert hit.cluster_size == 2  # the LRT article and its Russian-language copy share cluster k1
    assert "[Šalčininkai]" in hit.snippet


def test_the_strict_mapping_rejects_an_unknown_field_and_the_document_is_reported_failed(live: ElasticIndex) -> None:
    doc = {**article_to_document(sample_articles()[2]), "id": "f6" + "0" * 62, "sentiment": 0.3}
    result = live._bulk_create([doc], target=live.alias, require_alias=True)
    assert list(result.failed) == [doc["id"]]
    assert "strict" in result.failed[doc["id"]]


def test_reindex_swaps_the_alias_and_search_still_finds_everything(live: ElasticIndex) -> None:
    before = live.count()
    docs = [article_to_document(a) for a in sample_articles() + extra_articles()]
    report = live.reindex(lambda: docs, delete_old=True)
    live.client.indices.refresh(index=live.alias)
    assert report.swapped and report.new_index.endswith("-000002")
    assert live.status().indices == {report.new_index: True}
    assert live.count() == before
    assert titles(live, "salcininkai") == {LT}


@pytest.fixture(scope="module")
def grammar_index() -> Iterator[ElasticIndex]:
    url = os.environ.get("NEWSMON_TEST_ES_URL")
    if not url:
        pytest.skip("NEWSMON_TEST_ES_URL is not set: no live Elasticsearch (docker compose up -d elasticsearch, "
                    "then NEWSMON_TEST_ES_URL=http://localhost:9200 make test-es)")
    alias = f"newsmon-test-{uuid.uuid4().hex[:8]}"
    index = ElasticIndex.from_settings(load_settings(es_url=url, es_alias=alias), bulk_initial_backoff_s=0.2)
    try:
        index.setup()
        assert index.put_articles(list(ARTICLES.values())).failed == {}
        index.client.indices.refresh(index=alias)
        yield index
    finally:
        drop_live_test_data(index)
        index.close()


@pytest.mark.parametrize(("q", "found", "_es_query"), CASES, ids=[c[0] for c in CASES])
def test_elasticsearch_finds_what_the_embedded_index_and_the_rules_find(grammar_index: ElasticIndex, q: str,
                                                                          found: str, _es_query: str | None) -> None:
    key_of = {article.id: key for key, article in ARTICLES.items()}
    hits = grammar_index.search(SearchQuery(q=q, limit=50))
    assert "".join(sorted(key_of[hit.id] for hit in hits)) == found
