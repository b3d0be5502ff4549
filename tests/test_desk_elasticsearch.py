"""The desk on the Elasticsearch backend: the same pages through the same index protocol, on the real official client.

The cluster is the loopback recorder (tests/es_recorder.py): it answers searches with a few lines of
script below (cluster sizes, documents by id, a highlighted hit for anything else), and the test checks what
the desk made the client send. Stories come from the state DB, as they do beside a real cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from desk_data import copy_store
from desk_server import serve_desk
from es_recorder import EsRecorder, RecordedRequest, search_response

from newsmon.core.documents import document_to_article
from newsmon.core.settings import Settings, load_settings
from newsmon.store.db import open_engine
from newsmon.store.elastic import ElasticIndex
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex


def _stored_documents(store: Settings) -> list[dict[str, Any]]:
    index = SqliteIndex(open_engine(store.database_url))
    return [index.get(hit.id) for hit in index.search(SearchQuery(q="", limit=100))]


def _answer(docs: dict[str, dict[str, Any]]):
    """Just enough of Elasticsearch: cluster sizes, documents by id, anything else matches every document."""
    def answer(request: RecordedRequest, _es: EsRecorder) -> tuple[int, Any]:
        body = request.json()
        if "aggregations" in body:
            wanted = body["query"]["terms"]["cluster_id"]
            sizes = {key: sum(d["cluster_id"] == key for d in docs.values()) for key in wanted}
            return 200, search_response([], {"cluster_sizes": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                                                               "buckets": [{"key": k, "doc_count": n} for k, n in sizes.items()]}})
        if "ids" in body.get("query", {}):
            found = [d for d in docs.values() if d["id"] in body["query"]["ids"]["values"]]
            return 200, search_response([{"_index": "newsmon-articles-000001", "_id": d["id"], "_score": 1.0,
                                          "_source": d} for d in found])
        chosen = list(docs.values())
        hits = [{"_index": "newsmon-articles-000001", "_id": d["id"], "_score": 2.0,
                 "_source": {k: d[k] for k in body["_source"]["includes"]},
                 "highlight": {"text": [f"{body['highlight']['pre_tags'][0]}{d['title'].split()[0]}"
                                        f"{body['highlight']['post_tags'][0]} {d['text'][:80]}"]}} for d in chosen]
        start = body.get("from", 0)
        return 200, search_response(hits[start:start + body["size"]])
    return answer


@pytest.fixture
def desk_on_es(desk_store: Settings, tmp_path) -> Iterator[tuple[object, EsRecorder]]:
    import desk_data

    store = copy_store(desk_store, tmp_path)
    docs = {d["id"]: d for d in _stored_documents(store)}
    with EsRecorder() as es:
        settings = load_settings(home=store.home, config_dir=store.config_path, state_dir=store.state_path,
                                 state_url=None, search_backend="elasticsearch", es_url=es.url)
        index = ElasticIndex.from_settings(settings)
        index.setup()
        index.put_articles([document_to_article(d) for d in docs.values()])
        es.on("POST", "/newsmon-articles/_search", _answer(docs))
        es.requests.clear()
        served = serve_desk(settings, lambda: desk_data.DESK_NOW)
        yield served, es
        served.stop()


def test_the_search_page_on_elasticsearch_folds_the_two_copies_into_one_row_and_sends_every_filter(desk_on_es):
    desk, es = desk_on_es
    params = {"q": "medininkai", "lang": "en", "affiliation": "wire", "entity": "place/minsk", "subtopic": "airspace",
              "on_topic": "true", "since": "30d"}
    found = httpx.get(f"{desk.url}/api/search", params=params).json()["stories"]
    (story,) = [s for s in found if len(s["copies"]) == 2]
    assert sorted(story["outlets"]) == ["Baltic Wire", "North Daily"] and story["size"] == 2  # ranked by the cluster
    assert story["copies"][0]["highlights"]  # Elasticsearch's highlight, turned into offsets
    body = es.sent("POST", "/newsmon-articles/_search")[0].json()
    filters = body["query"]["bool"]["filter"]
    # The entity filter goes into the query string, as `newsmon search --entity` sends it.
    assert body["query"]["bool"]["must"][0]["query_string"]["query"] == '(medininkai) AND entities:"place/minsk"'
    assert {"term": {"subtopics": {"value": "airspace"}}} in filters
    assert {"term": {"on_topic": {"value": True}}} in filters
    assert any("source_affiliation" in str(f) and "wire" in str(f) for f in filters)
    page = httpx.get(f"{desk.url}/", params=params).text
    assert page.count('<li class="story"') == len(found) and "<mark>" in page


def test_the_story_page_on_elasticsearch_lists_the_members_and_explains_them_from_the_stored_documents(desk_on_es):
    desk, es = desk_on_es
    (story,) = [s for s in httpx.get(f"{desk.url}/api/search", params={"q": "x"}).json()["stories"]
                if len(s["copies"]) == 2]
    full = httpx.get(f"{desk.url}/api/stories/{story['key']}").json()
    assert [m["outlet"] for m in full["members"]] == ["Baltic Wire", "North Daily"]
    assert all(m["explanation"]["on_topic"] for m in full["members"])
    queries = [r.json()["query"] for r in es.sent("POST", "/newsmon-articles/_search")]
    assert {"ids": {"values": [full["members"][0]["id"]]}} in queries
    assert httpx.get(f"{desk.url}/story/{story['key']}").status_code == 200
