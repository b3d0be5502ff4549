"""ElasticIndex on the real official client: its requests captured on loopback, or a live cluster (-m es).

Tests taking the `target` fixture run twice: against the recording server, and against a real cluster
when NEWSMON_TEST_ES_URL is set (`make test-es`). The rest pin the exact requests and error handling.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from es_recorder import (
    EsRecorder,
    RecordedRequest,
    drop_live_test_data,
    mapping_violations,
    sample_articles,
    search_response,
)

from newsmon.core.documents import article_to_document
from newsmon.core.query import QuerySyntaxError
from newsmon.core.settings import Settings, load_settings
from newsmon.ingest.urls import article_id
from newsmon.store.backends import open_index
from newsmon.store.db import StoreUnavailable
from newsmon.store.elastic import ElasticConfigError, ElasticIndex, ElasticSetupError, load_mappings, load_template
from newsmon.store.index import SearchQuery

FAST = {"bulk_initial_backoff_s": 0.001}


# -- targets -----------------------------------------------------------------------------------------


@dataclass
class Target:
    index: ElasticIndex
    recorder: EsRecorder | None

    def refresh(self) -> None:
        if self.recorder is None:
            self.index.client.indices.refresh(index=self.index.alias)

    def alias_indices(self) -> dict[str, bool]:
        found = self.index.client.indices.get_alias(name=self.index.alias).body
        return {name: bool(props["aliases"][self.index.alias].get("is_write_index")) for name, props in found.items()}


def live_settings(alias: str) -> Settings:
    url = os.environ.get("NEWSMON_TEST_ES_URL")
    if not url:
        pytest.skip("NEWSMON_TEST_ES_URL is not set: no live Elasticsearch (see docs/elasticsearch.md, make test-es)")
    return load_settings(es_url=url, es_alias=alias)


@pytest.fixture(params=["recorder", pytest.param("live", marks=pytest.mark.es)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "recorder":
        with EsRecorder() as es:
            yield Target(ElasticIndex.from_settings(load_settings(es_url=es.url), **FAST), es)
        return
    alias = f"newsmon-test-{uuid.uuid4().hex[:8]}"
    index = ElasticIndex.from_settings(live_settings(alias), **FAST)
    try:
        yield Target(index, None)
    finally:
        drop_live_test_data(index)
        index.close()


@pytest.fixture
def es() -> Iterator[EsRecorder]:
    with EsRecorder() as recorder:
        yield recorder


def index_on(es: EsRecorder, **settings: Any) -> ElasticIndex:
    return ElasticIndex.from_settings(load_settings(es_url=es.url, **settings), **FAST)


def ready_index(es: EsRecorder) -> ElasticIndex:
    index = index_on(es)
    index.setup()
    return index


def partition(result: Any) -> list[str]:
    return sorted([*result.created, *result.duplicates, *result.failed])


# -- behaviour on both targets ---------------------------------------------------------------------


def test_setup_twice_leaves_one_write_index_behind_the_alias(target: Target) -> None:
    first = target.index.setup()
    second = target.index.setup()
    alias = target.index.alias
    assert first.created_index and not second.created_index
    assert first.write_index == second.write_index == f"{alias}-000001"
    assert target.alias_indices() == {f"{alias}-000001": True}
    assert not second.template_changed and second.notes == []


def test_indexing_twice_creates_each_article_once_and_counts_the_rerun_as_duplicates(target: Target) -> None:
    target.index.setup()
    articles = sample_articles()
    ids = sorted(a.id for a in articles)
    first = target.index.put_articles(articles)
    second = target.index.put_articles(articles)
    target.refresh()
    assert sorted(first.created) == ids and first.duplicates == [] and first.failed == {}
    assert sorted(second.duplicates) == ids and second.created == [] and second.failed == {}
    assert target.index.count() == len(articles)


def test_get_returns_the_document_the_builder_made(target: Target) -> None:
    target.index.setup()
    article = sample_articles()[0]
    target.index.put_articles([article])
    target.refresh()
    assert target.index.get(article.id) == article_to_document(article)
    assert target.index.get("f" * 32) is None


def test_indexing_before_setup_fails_loudly_instead_of_guessing_a_mapping(target: Target) -> None:
    with pytest.raises(StoreUnavailable, match="newsmon es setup"):
        target.index.put_articles(sample_articles()[:1])


def test_reindex_moves_the_alias_to_a_new_index_with_every_document(target: Target) -> None:
    target.index.setup()
    articles = sample_articles()
    target.index.put_articles(articles)
    docs = [article_to_document(a) for a in articles]
    report = target.index.reindex(lambda: docs)
    target.refresh()
    alias = target.index.alias
    assert report.swapped and report.created == len(docs) and report.failed == {}
    assert report.new_index == f"{alias}-000002" and report.old_indices == [f"{alias}-000001"]
    assert target.alias_indices() == {f"{alias}-000002": True}
    assert target.index.count() == len(docs)
    assert target.index.put_articles(articles).duplicates  # writes now go to the new index


# -- exact requests (recorder) ---------------------------------------------------------------------


def test_setup_sends_the_mapping_file_unchanged_as_the_index_template(es: EsRecorder) -> None:
    index_on(es).setup()
    (put,) = es.sent("PUT", "/_index_template/newsmon-articles")
    assert put.json() == load_template()
    (create,) = es.sent("PUT", "/newsmon-articles-000001")
    assert create.json() == {"aliases": {"newsmon-articles": {"is_write_index": True}}}


def test_setup_with_another_alias_uses_that_name_everywhere(es: EsRecorder) -> None:
    index_on(es, es_alias="lt-by").setup()
    assert es.sent("PUT", "/_index_template/lt-by")[0].json()["index_patterns"] == ["lt-by-*"]
    assert es.indices == {"lt-by-000001": {"lt-by": {"is_write_index": True}}}


def test_setup_refuses_an_index_that_took_the_alias_name(es: EsRecorder) -> None:
    es.indices["newsmon-articles"] = {}
    with pytest.raises(ElasticSetupError, match="is an index, not an alias"):
        index_on(es).setup()


def test_setup_tells_the_user_to_reindex_when_the_mapping_version_changed(es: EsRecorder) -> None:
    index = ready_index(es)
    es.templates["newsmon-articles"] = {**load_template(), "version": 0}
    report = index.setup()
    assert report.template_changed and report.previous_template_version == 0
    assert "newsmon es reindex" in report.notes[0]


def test_bulk_requests_are_create_only_with_canonical_url_ids_through_the_write_alias(es: EsRecorder) -> None:
    articles = [replace(a, id=article_id(a.canonical_url)) for a in sample_articles()]
    index = ready_index(es)
    index.put_articles(articles)
    index.put_articles(list(reversed(articles)))
    first, second = es.sent("PUT", "/_bulk")
    assert first.query["require_alias"] == ["true"]
    lines = first.ndjson()
    actions, sources = lines[::2], lines[1::2]
    assert actions == [{"create": {"_id": article_id(a.canonical_url), "_index": "newsmon-articles"}} for a in articles]
    assert sources == [article_to_document(a) for a in articles]
    props = load_mappings()["properties"]
    assert all(mapping_violations(doc, props) == [] for doc in sources)
    assert sorted(map(str, second.ndjson())) == sorted(map(str, lines))  # same ids and bodies on a rerun


def test_an_empty_batch_sends_no_request(es: EsRecorder) -> None:
    index = ready_index(es)
    before = len(es.requests)
    assert partition(index.put_articles([])) == []
    assert len(es.requests) == before


def test_an_article_given_twice_in_one_batch_is_sent_once(es: EsRecorder) -> None:
    article = sample_articles()[0]
    result = ready_index(es).put_articles([article, article])
    assert result.created == [article.id] and result.duplicates == [article.id]
    assert len(es.sent("PUT", "/_bulk")[0].ndjson()) == 2


def test_rejected_with_429_documents_are_retried_until_created(es: EsRecorder) -> None:
    articles = sample_articles()
    busy = articles[1].id
    es.item_status = lambda doc_id, attempt: 429 if doc_id == busy and attempt < 3 else None
    result = ready_index(es).put_articles(articles)
    assert sorted(result.created) == sorted(a.id for a in articles)
    bulks = es.sent("PUT", "/_bulk")
    assert len(bulks) == 3
    assert [line["create"]["_id"] for line in bulks[1].ndjson()[::2]] == [busy]  # only the rejected one again


def test_partial_failures_keep_failed_documents_out_of_created_and_nothing_is_lost(es: EsRecorder) -> None:
    articles = sample_articles()
    bad, unavailable, fine = (a.id for a in articles)
    index = ready_index(es)
    es.docs["newsmon-articles-000001"][fine] = {"id": fine}  # indexed by an earlier run
    es.item_status = lambda doc_id, _attempt: {bad: 400, unavailable: 503}.get(doc_id)
    result = index.put_articles(articles)
    assert result.created == [] and result.duplicates == [fine]
    assert set(result.failed) == {bad, unavailable}
    assert "strict" in result.failed[bad] and "HTTP 400" in result.failed[bad]
    assert "HTTP 503" in result.failed[unavailable]
    assert partition(result) == sorted(a.id for a in articles)
    sent_ids = [line["create"]["_id"] for r in es.sent("PUT", "/_bulk") for line in r.ndjson()[::2]]
    assert sent_ids.count(bad) == 1  # a mapping error is not retried; it stays staged with its reason
    assert es.attempts[unavailable] == index.bulk_max_retries + 1


def test_a_whole_bulk_request_answered_429_is_retried_with_the_same_documents(es: EsRecorder) -> None:
    index = ready_index(es)
    calls: list[int] = []

    def busy_once(request: RecordedRequest, recorder: EsRecorder) -> tuple[int, Any]:
        calls.append(1)
        if len(calls) == 1:
            return 429, {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}, "status": 429}
        return 200, recorder._bulk(request, None)

    es.on("PUT", "/_bulk", busy_once)
    result = index.put_articles(sample_articles())
    assert len(result.created) == 3 and len(calls) == 2
    first, second = es.sent("PUT", "/_bulk")
    assert first.body == second.body


def test_a_cluster_that_keeps_answering_503_raises_so_the_task_retries_later(es: EsRecorder) -> None:
    index = ready_index(es)
    es.on("PUT", "/_bulk", (503, {"error": {"type": "cluster_block_exception", "reason": "no master"}, "status": 503}))
    with pytest.raises(StoreUnavailable, match="HTTP 503"):
        index.put_articles(sample_articles())
    assert len(es.sent("PUT", "/_bulk")) == index.bulk_max_retries + 1


def test_a_dead_cluster_raises_store_unavailable_naming_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    index = ElasticIndex.from_settings(load_settings(es_url=url, es_timeout_s=2), **FAST)
    with pytest.raises(StoreUnavailable, match=f"cannot reach Elasticsearch at {url}"):
        index.put_articles(sample_articles())
    with pytest.raises(StoreUnavailable, match="docker compose up -d elasticsearch"):
        index.search(SearchQuery(q="balloons"))


def test_wrong_credentials_raise_store_unavailable_that_points_at_the_settings(es: EsRecorder) -> None:
    denied = (401, {"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"},
                    "status": 401})
    es.on("PUT", "/_bulk", denied)
    es.on("POST", "/newsmon-articles/_search", denied)
    index = index_on(es, es_username="elastic", es_password="wrong")
    with pytest.raises(StoreUnavailable, match="NEWSMON_ES_USERNAME"):
        index.put_articles(sample_articles())
    with pytest.raises(StoreUnavailable, match="unable to authenticate"):
        index.search(SearchQuery(q="x"))


def test_api_key_is_sent_as_an_authorization_header(es: EsRecorder) -> None:
    index_on(es, es_api_key="a2V5OnNlY3JldA==", es_username="ignored", es_password="ignored").setup()
    assert es.requests[-1].headers["authorization"] == "ApiKey a2V5OnNlY3JldA=="


def test_user_and_password_are_sent_as_basic_auth(es: EsRecorder) -> None:
    index_on(es, es_username="newsmon_writer", es_password="s3cret").setup()
    expected = base64.b64encode(b"newsmon_writer:s3cret").decode()
    assert es.requests[-1].headers["authorization"] == f"Basic {expected}"


def test_credentials_in_the_url_are_used_but_never_repeated_in_messages(es: EsRecorder) -> None:
    host = es.url.removeprefix("http://")
    index = ElasticIndex.from_settings(load_settings(es_url=f"http://newsmon:t0ps3cret@{host}"), **FAST)
    with pytest.raises(StoreUnavailable) as raised:
        index.put_articles(sample_articles())  # no setup yet: the message names the URL
    assert es.requests[-1].headers["authorization"] == "Basic " + base64.b64encode(b"newsmon:t0ps3cret").decode()
    assert f"at http://{host} " in str(raised.value) and "t0ps3cret" not in str(raised.value)


def test_a_password_without_a_user_is_a_configuration_error() -> None:
    with pytest.raises(ElasticConfigError, match="NEWSMON_ES_USERNAME"):
        ElasticIndex.from_settings(load_settings(es_password="x"))


def test_the_ca_certificate_from_settings_is_used_and_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ElasticConfigError, match=r"http_ca\.crt"):
        ElasticIndex.from_settings(load_settings(es_url="https://localhost:9200", es_ca_certs=tmp_path / "none.crt"))
    ca = tmp_path / "http_ca.crt"
    ca.write_text("placeholder, never loaded before a request\n")
    index = ElasticIndex.from_settings(load_settings(es_url="https://localhost:9200", es_ca_certs=ca))
    (node,) = index.client.transport.node_pool.all()
    assert node.config.ca_certs == str(ca)


def test_the_backend_switch_in_settings_opens_elasticsearch(es: EsRecorder) -> None:
    index = open_index(load_settings(search_backend="elasticsearch", es_url=es.url), engine=None)  # type: ignore[arg-type]
    assert isinstance(index, ElasticIndex) and index.alias == "newsmon-articles"


# -- search requests -------------------------------------------------------------------------------


def test_search_sends_the_lucene_string_with_and_as_default_operator_and_the_filters(es: EsRecorder) -> None:
    from datetime import UTC, datetime

    query = SearchQuery(q='Medininkai "border guard" lang:lt', since=datetime(2026, 11, 1, tzinfo=UTC),
                        languages=("LT",), on_topic=True, sources=("lrt-lt",), subtopics=("border",), limit=7)
    ready_index(es).search(query)
    body = es.sent("POST", "/newsmon-articles/_search")[0].json()
    qs = body["query"]["bool"]["must"][0]["query_string"]
    assert qs["query"] == 'Medininkai "border guard" language:lt'
    assert qs["default_operator"] == "AND"
    assert {"title", "text", "summary", "text.*"} <= {f.split("^")[0] for f in qs["fields"]}
    filters = body["query"]["bool"]["filter"]
    since = {"gte": "2026-11-01T00:00:00Z"}
    assert {"bool": {"should": [{"range": {"published_at": since}},
                                {"bool": {"must_not": [{"exists": {"field": "published_at"}}],
                                          "filter": [{"range": {"fetched_at": since}}]}}],
                     "minimum_should_match": 1}} in filters
    assert {"term": {"on_topic": {"value": True}}} in filters
    assert {"term": {"subtopics": {"value": "border"}}} in filters
    assert {"bool": {"should": [{"term": {"language": {"value": "LT", "case_insensitive": True}}}],
                     "minimum_should_match": 1}} in filters
    assert body["size"] == 7 and body["sort"][0] == "_score"


def test_affiliation_paging_and_snippet_marks_reach_the_search_body(es: EsRecorder) -> None:
    query = SearchQuery(q="Lukashenko", affiliations=("state_controlled",), limit=10, offset=20, marks=("\x02", "\x03"))
    ready_index(es).search(query)
    body = es.sent("POST", "/newsmon-articles/_search")[0].json()
    filters = body["query"]["bool"]["filter"]
    assert {"bool": {"should": [{"term": {"source_affiliation": {"value": "state_controlled", "case_insensitive": True}}}],
                     "minimum_should_match": 1}} in filters
    assert (body["from"], body["size"]) == (20, 10)
    assert (body["highlight"]["pre_tags"], body["highlight"]["post_tags"]) == (["\x02"], ["\x03"])
    assert "source_affiliation" in body["_source"]["includes"]


def test_match_all_sorted_by_date_when_the_query_is_a_star(es: EsRecorder) -> None:
    ready_index(es).search(SearchQuery(q="*"))
    body = es.sent("POST", "/newsmon-articles/_search")[0].json()
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}


def test_bad_lucene_syntax_gives_the_same_error_as_sqlite_without_asking_the_cluster(es: EsRecorder) -> None:
    with pytest.raises(QuerySyntaxError, match="unbalanced quote"):
        index_on(es).search(SearchQuery(q='"unclosed phrase'))
    with pytest.raises(QuerySyntaxError, match="unknown field"):
        index_on(es).search(SearchQuery(q="author:someone"))
    assert es.requests == []


def test_a_query_elasticsearch_rejects_is_reported_as_a_query_error(es: EsRecorder) -> None:
    es.on("POST", "/newsmon-articles/_search",
          (400, {"error": {"type": "search_phase_execution_exception", "reason": "Failed to parse query"},
                 "status": 400}))
    with pytest.raises(QuerySyntaxError, match="Failed to parse query"):
        index_on(es).search(SearchQuery(q="published_at:[2026-01-01 TO 2025-01-01]"))


def test_hits_become_search_hits_with_snippet_and_cluster_size(es: EsRecorder) -> None:
    doc = article_to_document(sample_articles()[0])

    def answer(request: RecordedRequest, _es: EsRecorder) -> tuple[int, Any]:
        body = request.json()
        if "aggregations" in body:
            assert body["query"] == {"terms": {"cluster_id": ["k1"]}}
            return 200, search_response([], {"cluster_sizes": {"doc_count_error_upper_bound": 0,
                                                                "sum_other_doc_count": 0,
                                                                "buckets": [{"key": "k1", "doc_count": 4}]}})
        hit = {"_index": "newsmon-articles-000001", "_id": doc["id"], "_score": 3.5,
               "_source": {k: doc[k] for k in body["_source"]["includes"]},
               "highlight": {"text": ["[Šalčininkai]: punktas\n uždarytas."]}}
        return 200, search_response([hit])

    es.on("POST", "/newsmon-articles/_search", answer)
    (hit,) = index_on(es).search(SearchQuery(q="salcininkai"))
    assert (hit.id, hit.title, hit.language, hit.cluster_size, hit.score) == (doc["id"], doc["title"], "lt", 4, 3.5)
    assert hit.snippet == "[Šalčininkai]: punktas uždarytas."
    assert hit.subtopics == ("border", "smuggling") and hit.on_topic
    assert hit.source_affiliation == doc["source_affiliation"] is not None


# -- reindex (recorder) -----------------------------------------------------------------------------


def test_reindex_leaves_the_alias_alone_when_a_document_cannot_be_rebuilt(es: EsRecorder) -> None:
    index = ready_index(es)
    docs = [article_to_document(a) for a in sample_articles()]
    es.item_status = lambda doc_id, _attempt: 400 if doc_id == docs[0]["id"] else None
    report = index.reindex(lambda: docs)
    assert not report.swapped and set(report.failed) == {docs[0]["id"]}
    assert es.indices["newsmon-articles-000001"] == {"newsmon-articles": {"is_write_index": True}}
    assert es.sent("POST", "/_aliases") == []


def test_reindex_swaps_in_one_atomic_request_and_catches_up_articles_indexed_meanwhile(es: EsRecorder) -> None:
    index = ready_index(es)
    docs = [article_to_document(a) for a in sample_articles()]
    loads = iter([docs[:2], docs])  # the third article was indexed while the new index was being built
    report = index.reindex(lambda: next(loads), delete_old=True)
    (swap,) = es.sent("POST", "/_aliases")
    assert swap.json() == {"actions": [
        {"add": {"index": "newsmon-articles-000002", "alias": "newsmon-articles", "is_write_index": True}},
        {"remove_index": {"index": "newsmon-articles-000001"}},
    ]}
    assert report.created == 2 and report.caught_up == 1 and report.deleted_old
    assert set(es.docs["newsmon-articles-000002"]) == {d["id"] for d in docs}
