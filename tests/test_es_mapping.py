"""The strict mapping in newsmon/store/es_mapping.json against the document builder and the pipeline's real documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from es_recorder import EsRecorder, mapping_violations, sample_articles

from newsmon.core.documents import DOCUMENT_FIELDS, article_to_document
from newsmon.core.query import DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS
from newsmon.store.elastic import MAPPING_PATH, load_mappings, load_template

LANGUAGE_ANALYZERS = {"en": "english", "lt": "lithuanian", "ru": "russian", "lv": "latvian", "de": "german"}


def test_mapping_file_is_the_template_body_and_its_mapping_is_strict() -> None:
    on_disk = json.loads(Path(MAPPING_PATH).read_text(encoding="utf-8"))
    assert load_template() == on_disk
    assert on_disk["template"]["mappings"]["dynamic"] == "strict"
    assert on_disk["index_patterns"] == ["newsmon-articles-*"]
    assert "aliases" not in on_disk["template"], "rollover needs the write alias on the index, not in the template"


def test_a_custom_alias_gets_its_own_index_pattern() -> None:
    assert load_template("lt-by-news")["index_patterns"] == ["lt-by-news-*"]


def test_every_document_field_is_mapped_and_every_mapped_field_is_a_document_field() -> None:
    mapped = set(load_mappings()["properties"])
    assert mapped - set(DOCUMENT_FIELDS) == set(), "mapped fields the document builder never writes"
    assert set(DOCUMENT_FIELDS) - mapped == set(), "document fields a strict mapping would reject"
    built = set(article_to_document(sample_articles()[0]))
    assert built == set(DOCUMENT_FIELDS)


def test_every_field_a_query_may_name_exists_in_the_mapping() -> None:
    props = load_mappings()["properties"]
    for name in TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS:
        assert name in props, f"newsmon.core.query allows {name}: but the index has no such field"


def test_filter_fields_are_exact_and_dates_are_dates() -> None:
    props = load_mappings()["properties"]
    for name in ("source", "source_affiliation", "language", "subtopics", "entities", "cluster_id", "topic"):
        assert props[name]["type"] == "keyword", name
    assert props["on_topic"]["type"] == "boolean"  # exact too, and `on_topic:true` works as in Kibana
    for name in ("published_at", "fetched_at", "modified_at"):
        assert props[name] == {"type": "date", "format": "strict_date_optional_time"}


def test_text_fields_fold_diacritics_and_have_a_stemmed_sub_field_per_language() -> None:
    template = load_template()
    analyzers = template["template"]["settings"]["index"]["analysis"]["analyzer"]
    props = template["template"]["mappings"]["properties"]
    for name in TEXT_FIELDS:
        folded = analyzers[props[name]["analyzer"]]
        assert folded["tokenizer"] == "standard"
        assert folded["filter"] == ["lowercase", "asciifolding"]
        subs = props[name]["fields"]
        for suffix, analyzer in LANGUAGE_ANALYZERS.items():
            assert subs[suffix] == {"type": "text", "analyzer": analyzer}


def test_every_fixture_article_builds_a_document_the_strict_mapping_accepts() -> None:
    props = load_mappings()["properties"]
    for article in sample_articles():
        assert mapping_violations(article_to_document(article), props) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"unexpected": "x"}, "unexpected: not in the mapping"),
        ({"published_at": "20.11.2026"}, "published_at: '20.11.2026' is not strict_date_optional_time"),
        ({"word_count": "12"}, "word_count: '12' is not a integer"),
        ({"on_topic": "yes"}, "on_topic: 'yes' is not a boolean"),
        ({"matched": [{"term": "x", "offset": 3}]}, "matched.offset: not in the mapping"),
    ],
)
def test_the_mapping_check_catches_what_elasticsearch_would_reject(change: dict, complaint: str) -> None:
    doc = {**article_to_document(sample_articles()[0]), **change}
    problems = mapping_violations(doc, load_mappings()["properties"])
    assert any(p.startswith(complaint) for p in problems), problems


def test_documents_the_pipeline_sends_from_the_demo_site_all_fit_the_mapping(tmp_path: Path) -> None:
    """End to end: the real pipeline over the team's demo site, indexing into Elasticsearch (the recorder)."""
    from newsmon.app.commands.demo import demo_settings
    from newsmon.app.demo import content as demo_content
    from newsmon.app.demo.fixture_server import FixtureServer
    from newsmon.app.stages.run import run_once
    from newsmon.core.settings import load_settings
    from newsmon.store.elastic import ElasticIndex

    with FixtureServer() as site, EsRecorder() as es:
        site.routes.update(demo_content.build_routes(site.base_url))
        demo = demo_settings(load_settings(), tmp_path, base_url=site.base_url, smtp_port=None)
        settings = demo.model_copy(update={"search_backend": "elasticsearch", "es_url": es.url})
        ElasticIndex.from_settings(settings).setup()
        summary = run_once(settings)

    bulk_docs = [line for r in es.sent("PUT", "/_bulk") for line in r.ndjson() if "create" not in line]
    assert summary.index.get("indexed", 0) == len(bulk_docs) >= 4
    props = load_mappings()["properties"]
    problems = {doc["id"]: mapping_violations(doc, props) for doc in bulk_docs}
    assert {k: v for k, v in problems.items() if v} == {}
    assert {d["language"] for d in bulk_docs} >= {"en", "lt", "ru"}
