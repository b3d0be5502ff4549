"""Builds kibana/newsmon.ndjson (data view, saved searches, Lens charts, dashboard); run it after changing them.

    .venv/bin/python kibana/saved_objects.py > kibana/newsmon.ndjson

The NDJSON is committed (it is what `newsmon kibana import` uploads); tests check that it equals this
script's output, that every reference resolves, that every field exists in newsmon/store/es_mapping.json and that
every query parses as Lucene.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA_VIEW_ID = "newsmon-articles"
ALIAS = "newsmon-articles"
CORE_MIGRATION_VERSION = "8.8.0"
# Versions of each saved-object type's own schema these objects are written in; Kibana 9 migrates
# anything older on import, so they only need to be true, not the newest.
TYPE_MIGRATION_VERSION = {"index-pattern": "7.11.0", "search": "7.9.3", "lens": "8.9.0", "dashboard": "8.7.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
COLUMNS = ["title", "source", "source_affiliation", "language", "subtopics", "entities", "relevance", "cluster_id"]
# The dashboard's facets: an options list per keyword field (entity ids such as person/lukashenko).
CONTROLS = [("control-entities", "entities", "Entities (person/…, place/…, org/…)"),
            ("control-subtopics", "subtopics", "Subtopics")]


def subtopics() -> list[str]:
    pack = yaml.safe_load((ROOT / "config" / "topics" / "lt-by.yaml").read_text(encoding="utf-8"))
    return list(pack["subtopics"])


def saved_object(kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict:
    return {
        "id": object_id,
        "type": kind,
        "attributes": attributes,
        "references": references,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[kind],
        "managed": False,
    }


def data_view() -> dict:
    return saved_object("index-pattern", DATA_VIEW_ID, {
        "title": ALIAS,
        "name": "newsmon articles",
        "timeFieldName": "published_at",
        "fields": "[]",
        "fieldFormatMap": json.dumps({"url": {"id": "url"}, "canonical_url": {"id": "url"}}),
        "runtimeFieldMap": "{}",
        "typeMeta": "{}",
        "allowNoIndex": True,
    }, [])


def lucene(query: str) -> dict[str, str]:
    return {"query": query, "language": "lucene"}


def saved_search(object_id: str, title: str, query: str, description: str) -> dict:
    source = {"query": lucene(query), "filter": [], "highlightAll": True, "indexRefName": INDEX_REF}
    return saved_object("search", object_id, {
        "title": title,
        "description": description,
        "columns": COLUMNS,
        "sort": [["published_at", "desc"]],
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, ensure_ascii=False)},
    }, [{"name": INDEX_REF, "type": "index-pattern", "id": DATA_VIEW_ID}])


def saved_searches() -> list[dict]:
    found = [
        saved_search("newsmon-on-topic", "LT–BY: on-topic articles", "on_topic:true",
                     "Every article the topic tagger judged to be about Lithuania–Belarus relations."),
        saved_search("newsmon-state-controlled", "LT–BY: state-controlled sources",
                     "on_topic:true AND source_affiliation:state_controlled",
                     "On-topic articles from state-controlled outlets."),
        saved_search("newsmon-independent", "LT–BY: independent sources",
                     "on_topic:true AND source_affiliation:(independent OR public_broadcaster)",
                     "On-topic articles from independent outlets and public broadcasters."),
        saved_search("newsmon-non-english", "LT–BY: not in English", "on_topic:true AND NOT language:en",
                     "On-topic articles in Lithuanian, Russian, Belarusian, Polish and other languages."),
    ]
    for name in subtopics():
        label = name.replace("_", " ")
        found.append(saved_search(f"newsmon-subtopic-{name}", f"LT–BY subtopic: {label}",
                                  f"on_topic:true AND subtopics:{name}", f"On-topic articles tagged {label}."))
    return found


def column(label: str, operation: str, field: str | None, data_type: str, bucketed: bool,
           params: dict | None = None) -> dict:
    col: dict[str, Any] = {
        "label": label,
        "customLabel": True,
        "dataType": data_type,
        "operationType": operation,
        "isBucketed": bucketed,
        "scale": "interval" if operation == "date_histogram" else ("ordinal" if bucketed else "ratio"),
        "sourceField": field or "___records___",
    }
    if params is not None:
        col["params"] = params
    return col


def terms(size: int, order_column: str, direction: str = "desc") -> dict:
    return {"size": size, "orderBy": {"type": "column", "columnId": order_column}, "orderDirection": direction,
            "otherBucket": False, "missingBucket": False, "parentFormat": {"id": "terms"}}


def lens(object_id: str, title: str, vis_type: str, visualization: dict, columns: dict[str, dict],
         query: str = "") -> dict:
    layer = "layer-main"
    state = {
        "visualization": visualization,
        "query": lucene(query),
        "filters": [],
        "datasourceStates": {"formBased": {"layers": {layer: {
            "columns": columns, "columnOrder": list(columns), "incompleteColumns": {}}}}},
        "internalReferences": [],
        "adHocDataViews": {},
    }
    return saved_object("lens", object_id, {
        "title": title, "description": "", "visualizationType": vis_type, "state": state,
    }, [{"type": "index-pattern", "id": DATA_VIEW_ID, "name": f"indexpattern-datasource-layer-{layer}"}])


def xy(series: str, x: str, y: str, split: str | None = None) -> dict:
    layer: dict[str, Any] = {"layerId": "layer-main", "layerType": "data", "seriesType": series,
                             "xAccessor": x, "accessors": [y]}
    if split:
        layer["splitAccessor"] = split
    return {"preferredSeriesType": series, "layers": [layer], "legend": {"isVisible": True, "position": "right"},
            "valueLabels": "hide", "fittingFunction": "None"}


def charts() -> list[dict]:
    return [
        lens("newsmon-lens-on-topic-over-time", "On-topic articles over time by subtopic", "lnsXY",
             xy("bar_stacked", "col-date", "col-count", "col-subtopic"), {
                 "col-date": column("Published", "date_histogram", "published_at", "date", True,
                                    {"interval": "auto", "includeEmptyRows": True}),
                 "col-subtopic": column("Subtopic", "terms", "subtopics", "string", True, terms(10, "col-count")),
                 "col-count": column("Articles", "count", None, "number", False),
             }, query="on_topic:true"),
        lens("newsmon-lens-top-sources", "Top sources of on-topic articles", "lnsXY",
             xy("bar_horizontal", "col-source", "col-count"), {
                 "col-source": column("Source", "terms", "source", "string", True, terms(15, "col-count")),
                 "col-count": column("Articles", "count", None, "number", False),
             }, query="on_topic:true"),
        lens("newsmon-lens-languages", "Languages of on-topic articles", "lnsPie", {
            "shape": "donut",
            "layers": [{"layerId": "layer-main", "layerType": "data", "primaryGroups": ["col-language"],
                        "metrics": ["col-count"], "numberDisplay": "percent", "categoryDisplay": "default",
                        "legendDisplay": "default", "nestedLegend": False}],
        }, {
            "col-language": column("Language", "terms", "language", "string", True, terms(10, "col-count")),
            "col-count": column("Articles", "count", None, "number", False),
        }, query="on_topic:true"),
        lens("newsmon-lens-top-entities", "People, places and organisations named in on-topic articles", "lnsXY",
             xy("bar_horizontal", "col-entity", "col-count"), {
                 "col-entity": column("Entity", "terms", "entities", "string", True, terms(20, "col-count")),
                 "col-count": column("Articles", "count", None, "number", False),
             }, query="on_topic:true"),
        lens("newsmon-lens-latest-stories", "Latest on-topic stories (one row per story, with its size)",
             "lnsDatatable", {
                 "layerId": "layer-main", "layerType": "data",
                 "columns": [{"columnId": c} for c in ("col-story", "col-latest", "col-title", "col-source",
                                                       "col-copies")],
             }, {
                 "col-story": column("Story (cluster)", "terms", "cluster_id", "string", True,
                                     terms(25, "col-latest")),
                 "col-latest": column("Latest copy", "max", "published_at", "date", False),
                 "col-title": column("Title", "last_value", "title.raw", "string", False,
                                     {"sortField": "published_at"}),
                 "col-source": column("Latest source", "last_value", "source", "string", False,
                                      {"sortField": "published_at"}),
                 "col-copies": column("Copies", "count", None, "number", False),
             }, query="on_topic:true"),
    ]


def dashboard(charts_: list[dict]) -> dict:
    layout = [  # (object, x, y, w, h) on Kibana's 48-column grid
        (charts_[0], 0, 0, 48, 14),
        (charts_[1], 0, 14, 24, 14),
        (charts_[2], 24, 14, 24, 14),
        (charts_[3], 0, 28, 48, 16),
        (charts_[4], 0, 44, 48, 16),
        ({"type": "search", "id": "newsmon-on-topic"}, 0, 60, 48, 18),
    ]
    panels, references = [], []
    for number, (obj, x, y, w, h) in enumerate(layout, start=1):
        index = str(number)
        panels.append({"version": CORE_MIGRATION_VERSION, "type": obj["type"], "panelIndex": index,
                       "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                       "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{index}"})
        references.append({"name": f"{index}:panel_{index}", "type": obj["type"], "id": obj["id"]})
    controls, control_references = control_group()
    return saved_object("dashboard", "newsmon-overview", {
        "title": "newsmon: Lithuania–Belarus overview",
        "description": "On-topic coverage over time by subtopic, top sources, languages, the entities named and "
                       "the latest stories; filter by entity or subtopic with the controls above the panels.",
        "controlGroupInput": controls,
        "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "syncCursor": True,
                                   "syncTooltips": False, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-7d",
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 600000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": lucene(""), "filter": []})},
    }, references + control_references)


def control_group() -> tuple[dict, list[dict[str, str]]]:
    """Options-list controls (facets) over CONTROLS, and the data-view references Kibana resolves them by."""
    panels = {}
    for order, (control_id, field, title) in enumerate(CONTROLS):
        panels[control_id] = {"order": order, "width": "large" if field == "entities" else "medium", "grow": True,
                              "type": "optionsListControl",
                              "explicitInput": {"id": control_id, "fieldName": field, "title": title,
                                                "searchTechnique": "prefix", "selectedOptions": [],
                                                "enhancements": {}}}
    references = [{"name": f"controlGroup_{control_id}:optionsListDataView", "type": "index-pattern",
                   "id": DATA_VIEW_ID} for control_id, _, _ in CONTROLS]
    return {
        "controlStyle": "oneLine",
        "chainingSystem": "HIERARCHICAL",
        "panelsJSON": json.dumps(panels),
        "ignoreParentSettingsJSON": json.dumps({"ignoreFilters": False, "ignoreQuery": False,
                                                "ignoreTimerange": False, "ignoreValidations": False}),
    }, references


def build() -> list[dict]:
    lens_charts = charts()
    return [data_view(), *saved_searches(), *lens_charts, dashboard(lens_charts)]


def render() -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in build())


if __name__ == "__main__":
    sys.stdout.write(render())
