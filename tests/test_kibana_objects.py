"""kibana/newsmon.ndjson: parses, references resolve, fields exist in the mapping, queries are valid Lucene."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsmon.core.query import parse_query
from newsmon.store.elastic import load_mappings

ROOT = Path(__file__).resolve().parents[1]
NDJSON = ROOT / "kibana" / "newsmon.ndjson"
AGGREGATABLE = {"keyword", "date", "boolean", "integer", "long", "float", "double"}


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines() if line.strip()]


def field_type(path: str) -> str | None:
    """Mapping type of `path`, following multi-fields (title.raw) and object properties (matched.term)."""
    props = load_mappings()["properties"]
    head, _, rest = path.partition(".")
    spec = props.get(head)
    if spec is None:
        return None
    if not rest:
        return spec.get("type", "object")
    sub = spec.get("fields", {}).get(rest) or spec.get("properties", {}).get(rest)
    return sub.get("type") if sub else None


def by_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in objects() if o["type"] == kind]


def test_every_line_is_a_saved_object_with_a_unique_id() -> None:
    found = objects()
    assert len(found) == len(NDJSON.read_text(encoding="utf-8").splitlines())
    for obj in found:
        assert {"id", "type", "attributes", "references"} <= set(obj)
        assert obj["attributes"].get("title")
    assert len({(o["type"], o["id"]) for o in found}) == len(found)
    assert {o["type"] for o in found} == {"index-pattern", "search", "lens", "dashboard"}


def test_the_committed_ndjson_is_what_the_builder_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("kibana_saved_objects", ROOT / "kibana" / "saved_objects.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert NDJSON.read_text(encoding="utf-8") == module.render(), "run: python kibana/saved_objects.py > kibana/newsmon.ndjson"


def test_every_reference_resolves_to_an_object_in_the_set() -> None:
    present = {(o["type"], o["id"]) for o in objects()}
    for obj in objects():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in present, f"{obj['id']} refers to missing {ref['type']}/{ref['id']}"


def test_the_data_view_is_the_alias_with_published_at_as_time_field() -> None:
    (view,) = by_type("index-pattern")
    assert view["attributes"]["title"] == "newsmon-articles"
    assert field_type(view["attributes"]["timeFieldName"]) == "date"
    for name in json.loads(view["attributes"]["fieldFormatMap"]):
        assert field_type(name) is not None, name


def test_saved_searches_use_lucene_queries_that_parse_and_fields_that_exist() -> None:
    searches = by_type("search")
    for search in searches:
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["language"] == "lucene"
        parse_query(source["query"]["query"])  # raises on bad syntax or an unknown field
        assert source["indexRefName"] in {r["name"] for r in search["references"]}
        for name in search["attributes"]["columns"] + [s[0] for s in search["attributes"]["sort"]]:
            assert field_type(name) is not None, f"{search['id']}: {name} is not in the mapping"


def test_there_is_a_saved_search_for_on_topic_each_subtopic_affiliation_and_non_english() -> None:
    pack = yaml.safe_load((ROOT / "config" / "topics" / "lt-by.yaml").read_text(encoding="utf-8"))
    queries = {json.loads(s["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
               for s in by_type("search")}
    assert "on_topic:true" in queries
    for subtopic in pack["subtopics"]:
        assert f"on_topic:true AND subtopics:{subtopic}" in queries, f"no saved search for subtopic {subtopic}"
    assert any("source_affiliation:state_controlled" in q for q in queries)
    assert any("source_affiliation:(independent" in q for q in queries)
    assert any("NOT language:en" in q for q in queries)


def test_lens_charts_use_aggregatable_fields_and_reference_the_data_view_per_layer() -> None:
    charts = by_type("lens")
    assert {c["attributes"]["visualizationType"] for c in charts} == {"lnsXY", "lnsPie", "lnsDatatable"}
    for chart in charts:
        state = chart["attributes"]["state"]
        parse_query(state["query"]["query"])
        assert state["query"]["language"] == "lucene"
        layers = state["datasourceStates"]["formBased"]["layers"]
        ref_names = {r["name"] for r in chart["references"]}
        for layer_id, layer in layers.items():
            assert f"indexpattern-datasource-layer-{layer_id}" in ref_names
            assert set(layer["columnOrder"]) == set(layer["columns"])
            for column in layer["columns"].values():
                if column["sourceField"] == "___records___":
                    continue
                kind = field_type(column["sourceField"])
                assert kind in AGGREGATABLE, f"{chart['id']}: {column['sourceField']} ({kind}) cannot be aggregated"
            for column in layer["columns"].values():
                order = column.get("params", {}).get("orderBy", {}).get("columnId")
                assert order is None or order in layer["columns"]


def test_the_dashboard_panels_match_its_references_and_cover_the_required_views() -> None:
    (board,) = by_type("dashboard")
    panels = json.loads(board["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in board["references"]}
    titles = {}
    present = {(o["type"], o["id"]): o for o in objects()}
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"]
        titles[ref["id"]] = present[(ref["type"], ref["id"])]["attributes"]["title"]
        grid = panel["gridData"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 48
    assert set(titles) == {
        "newsmon-lens-on-topic-over-time", "newsmon-lens-top-sources", "newsmon-lens-languages",
        "newsmon-lens-latest-stories", "newsmon-lens-top-entities", "newsmon-on-topic",
    }
    json.loads(board["attributes"]["optionsJSON"])
    assert json.loads(board["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["language"] == "lucene"


def test_the_dashboard_offers_an_entity_facet_over_an_aggregatable_field_it_can_resolve() -> None:
    (board,) = by_type("dashboard")
    controls = json.loads(board["attributes"]["controlGroupInput"]["panelsJSON"])
    refs = {r["name"]: r for r in board["references"]}
    fields = {}
    for control_id, control in controls.items():
        assert control["type"] == "optionsListControl"
        name = control["explicitInput"]["fieldName"]
        assert field_type(name) in AGGREGATABLE, f"{control_id}: {name} cannot be a facet"
        ref = refs[f"controlGroup_{control_id}:optionsListDataView"]
        assert (ref["type"], ref["id"]) == ("index-pattern", "newsmon-articles")
        fields[name] = control
    assert "entities" in fields
    assert fields["entities"]["explicitInput"]["searchTechnique"] == "prefix"  # typing person/ lists the people


@pytest.mark.parametrize("query", ["on_topic:true AND (", "author:x"])
def test_a_broken_saved_search_query_would_be_caught(query: str) -> None:
    from newsmon.core.query import QuerySyntaxError

    with pytest.raises(QuerySyntaxError):
        parse_query(query)
