"""Every request the ES backend sends is checked against Elastic's own OpenAPI description, unknown keys included.

The description is read from ../shared/reference/elasticsearch-serverless-openapi.json (never copied into
the project). Its schemas mostly allow unknown keys, so this checker is stricter than JSON Schema: an
object key that no `properties` entry declares is an error unless the schema has `additionalProperties`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from es_recorder import EsRecorder, RecordedRequest, sample_articles
from shared_notes import require, shared_dir

from newsmon.core.documents import article_to_document
from newsmon.core.settings import load_settings
from newsmon.store.elastic import ElasticIndex, load_template
from newsmon.store.index import SearchQuery

SPEC_PATH = shared_dir() / "reference" / "elasticsearch-serverless-openapi.json"

# Stack settings the serverless description leaves out (serverless manages them itself). Each is
# documented for Elasticsearch 9 and is needed here; nothing else may be unknown.
STACK_ONLY_KEYS = {
    # index.query.default_field: unqualified Kibana Lucene queries search the folded + stemmed fields.
    # https://www.elastic.co/docs/reference/elasticsearch/index-settings/index-modules
    "$.settings.index.query",
    "$.template.settings.index.query",
}


@cache
def spec() -> dict[str, Any]:
    require(SPEC_PATH, "Elastic's OpenAPI description")
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


# Objects whose keys are field names of the index. Elastic's specification declares a sort as
# "SortOptions | {field: FieldSort}", but the OpenAPI export keeps only the fixed keys (_score, _doc...)
# and drops FieldSort, so field-name keys are checked against FieldSort as the specification defines it
# (elasticsearch-specification specification/_types/sort.ts) and against the mapping in a test below.
FIELD_SORT = {
    "type": "object",
    "properties": {
        "missing": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        "mode": {"$ref": "#/components/schemas/_types.SortMode"},
        "nested": {"$ref": "#/components/schemas/_types.NestedSortValue"},
        "order": {"$ref": "#/components/schemas/_types.SortOrder"},
        "unmapped_type": {"type": "string"},
        "numeric_type": {"type": "string", "enum": ["long", "double", "date", "date_nanos"]},
        "format": {"type": "string"},
    },
}
# Likewise `terms` is "QueryBase & {field: values}" (specification/_types/query_dsl/term.ts).
TERMS_FIELD = {"type": "array", "items": {"$ref": "#/components/schemas/_types.FieldValue"}}
FIELD_KEYED = {
    "#/components/schemas/_types.SortOptions": FIELD_SORT,
    "#/components/schemas/_types.query_dsl.TermsQuery": TERMS_FIELD,
}


class Checker:
    """OpenAPI 3.0 schema walker: types, enums, required, discriminators, and unknown keys."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            ref = schema["$ref"]
            node: Any = self.document
            for part in ref.removeprefix("#/").split("/"):
                node = node[part]
            schema = {**node, "additionalProperties": FIELD_KEYED[ref]} if ref in FIELD_KEYED else node
        return schema

    def known_keys(self, schema: dict[str, Any], *, part_of_all: bool = False) -> set[str] | None:
        """Keys an object may have under `schema`; None when any key is allowed."""
        schema = self.resolve(schema)
        if "additionalProperties" in schema and schema["additionalProperties"] is not False:
            return None
        variants = schema.get("oneOf") or schema.get("anyOf")
        if variants:  # whichever variant the value takes, its keys are allowed (each is checked strictly)
            union: set[str] = set()
            for variant in variants:
                if self.resolve(variant).get("type") in ("string", "number", "integer", "boolean", "array"):
                    continue
                sub = self.known_keys(variant)
                if sub is None:
                    return None
                union |= sub
            return union
        keys = set(schema.get("properties", {}))
        parts = schema.get("allOf", [])
        if not keys and not parts:
            # A bare {"type": "object"} alone means "any object"; as one part of an allOf it adds no keys.
            return set() if part_of_all else None
        for part in parts:
            sub = self.known_keys(part, part_of_all=True)
            if sub is None:
                return None
            keys |= sub
        return keys

    def errors(self, value: Any, schema: dict[str, Any], path: str = "$", strict: bool = True) -> list[str]:
        schema = self.resolve(schema)
        if value is None:
            return [] if schema.get("nullable") or not schema else [f"{path}: null is not allowed"]
        if "discriminator" in schema and isinstance(value, dict):
            tag = schema["discriminator"]["propertyName"]
            target = schema["discriminator"]["mapping"].get(value.get(tag))
            if target is None:
                return [f"{path}: {tag}={value.get(tag)!r} is not one of the documented variants"]
            return self.errors(value, {"$ref": target}, path, strict)
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                attempts = [self.errors(value, option, path, strict) for option in schema[combinator]]
                return [] if not all(attempts) else min(attempts, key=len)
        problems: list[str] = []
        for part in schema.get("allOf", []):
            problems += self.errors(value, part, path, strict=False)
        problems += self._type_errors(value, schema, path)
        if problems:
            return problems
        if "enum" in schema and value not in schema["enum"]:
            return [f"{path}: {value!r} is not one of {schema['enum']}"]
        if isinstance(value, dict):
            problems += self._object_errors(value, schema, path, strict)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                problems += self.errors(item, schema["items"], f"{path}[{i}]")
        return problems

    def _type_errors(self, value: Any, schema: dict[str, Any], path: str) -> list[str]:
        expected = schema.get("type")
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if expected in checks and not checks[expected](value):
            return [f"{path}: {value!r} is not of type {expected}"]
        return []

    def _object_errors(self, value: dict[str, Any], schema: dict[str, Any], path: str, strict: bool) -> list[str]:
        problems = [f"{path}: missing required {key!r}" for key in schema.get("required", []) if key not in value]
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            problems.append(f"{path}: needs at least {schema['minProperties']} key(s)")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            problems.append(f"{path}: allows at most {schema['maxProperties']} key(s)")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in properties:
                problems += self.errors(item, properties[key], where)
            elif isinstance(extra, dict):
                problems += self.errors(item, extra, where)
        if strict:
            known = self.known_keys(schema)
            if known is not None:
                problems += [f"{path}.{key}: unknown key" for key in value
                             if key not in known and f"{path}.{key}" not in STACK_ONLY_KEYS]
        return problems


def operation_for(request: RecordedRequest) -> tuple[str, dict[str, Any]]:
    """The documented path template and operation for a recorded request (most literal match wins)."""
    matches = []
    for template, item in spec()["paths"].items():
        pattern = "/".join("[^/]+" if seg.startswith("{") else re.escape(seg) for seg in template.split("/"))
        if re.fullmatch(pattern, request.path) and request.method.lower() in item:
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            matches.append((literal, template, item[request.method.lower()]))
    assert matches, f"{request.method} {request.path} is not an operation in Elastic's API description"
    _, template, operation = max(matches, key=lambda m: m[0])
    return template, operation


def request_problems(request: RecordedRequest) -> list[str]:
    checker = Checker(spec())
    template, operation = operation_for(request)
    where = f"{request.method} {template}"
    params = {checker.resolve(p)["name"] for p in operation.get("parameters", []) if checker.resolve(p)["in"] == "query"}
    problems = [f"{where}: undocumented query parameter {name!r}" for name in request.query if name not in params]
    if not request.body:
        return problems
    body_schema = checker.resolve(operation["requestBody"])["content"]["application/json"]["schema"]
    if template.endswith("_bulk"):
        lines = request.ndjson()
        container = {"$ref": "#/components/schemas/_global.bulk.OperationContainer"}
        for i, action in enumerate(lines[::2]):
            problems += [f"{where} line {2 * i + 1}: {p}" for p in checker.errors(action, container)]
        problems += [f"{where}: {p}" for p in checker.errors(lines, body_schema, strict=False)]
        return problems
    return problems + [f"{where}: {p}" for p in checker.errors(request.json(), body_schema)]


def session_requests() -> list[RecordedRequest]:
    """Everything the backend sends in a typical life: setup, index, rerun, searches, get, count, reindex."""
    with EsRecorder() as es:
        index = ElasticIndex.from_settings(load_settings(es_url=es.url), bulk_initial_backoff_s=0.001)
        index.setup()
        index.setup()
        articles = sample_articles()
        index.put_articles(articles)
        index.put_articles(articles)
        for query in SEARCHES:
            index.search(query)
        index.get(articles[0].id)
        index.count()
        docs = [article_to_document(a) for a in articles]
        index.reindex(lambda: docs)
        index.reindex(lambda: docs, delete_old=True)
        return list(es.requests)


SEARCHES = [
    SearchQuery(q="salcininkai"),
    SearchQuery(q="*", sort="date"),
    SearchQuery(q='"border guard" OR balion* NOT source:belta', on_topic=True, limit=5),
    SearchQuery(q="lang:lt AND published_at:[2026-01-01 TO *]", since=datetime(2026, 1, 1, tzinfo=UTC),
                until=datetime(2026, 12, 1, tzinfo=UTC), languages=("lt", "ru"), sources=("lrt-lt",),
                subtopics=("border", "airspace"), sort="date"),
    SearchQuery(q="lukashenko", affiliations=("state_controlled", "wire"), limit=10,
                offset=30, marks=("\x02", "\x03")),
]


def test_every_request_of_a_backend_session_is_a_documented_operation_with_valid_body() -> None:
    requests = session_requests()
    assert {r.method + " " + operation_for(r)[0] for r in requests} >= {
        "PUT /_index_template/{name}", "PUT /{index}", "PUT /_bulk", "POST /{index}/_search", "POST /_aliases",
    }
    problems = [p for r in requests for p in request_problems(r)]
    assert problems == []


def test_fields_named_in_search_bodies_exist_in_the_mapping() -> None:
    from newsmon.store.elastic import load_mappings
    from newsmon.store.es_query import DEFAULT_TEXT_FIELDS, build_search_body

    props = load_mappings()["properties"]
    for query in SEARCHES:
        body = build_search_body(query)
        sort_fields = [next(iter(s)) for s in body["sort"] if isinstance(s, dict)]
        filter_fields = [next(iter(next(iter(f.values())))) for f in body["query"]["bool"]["filter"] if "bool" not in f]
        for name in sort_fields + filter_fields + body["_source"]["includes"]:
            assert name in props, name
    for pattern in DEFAULT_TEXT_FIELDS:
        assert pattern.split(".")[0].split("^")[0] in props


def test_the_index_template_from_the_mapping_file_fits_the_put_template_schema() -> None:
    checker = Checker(spec())
    schema = {"$ref": "#/components/requestBodies/indices.put_index_template"}
    body_schema = checker.resolve(schema)["content"]["application/json"]["schema"]
    assert checker.errors(load_template(), body_schema) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda t: t["template"]["mappings"]["properties"]["title"].update(analyser="english"),
         "$.template.mappings.properties.title.analyser: unknown key"),
        (lambda t: t["template"]["mappings"]["properties"]["source"].update(type="keywrd"),
         "type='keywrd' is not one of the documented variants"),
        (lambda t: t["template"]["settings"]["index"].update(number_of_shard=1),
         "$.template.settings.index.number_of_shard: unknown key"),
        (lambda t: t.update(priority="high"), "$.priority: 'high' is not of type number"),
    ],
)
def test_the_checker_rejects_typos_unknown_keys_and_wrong_types(change: Any, complaint: str) -> None:
    template = load_template()
    change(template)
    checker = Checker(spec())
    body_schema = checker.resolve({"$ref": "#/components/requestBodies/indices.put_index_template"})
    problems = checker.errors(template, body_schema["content"]["application/json"]["schema"])
    assert any(complaint in p for p in problems), problems


def test_an_unknown_key_in_a_search_body_or_bulk_action_is_reported() -> None:
    search = RecordedRequest("POST", "/newsmon-articles/_search", {}, {},
                             json.dumps({"query": {"query_string": {"query": "x", "default_operater": "AND"}}}).encode())
    bulk = RecordedRequest("PUT", "/_bulk", {"refresh_after": ["1"]}, {},
                           b'{"create":{"_id":"1","_index":"a","op_type":"create"}}\n{"id":"1"}\n')
    assert any("default_operater: unknown key" in p for p in request_problems(search))
    bulk_problems = request_problems(bulk)
    assert any("op_type: unknown key" in p for p in bulk_problems)
    assert any("undocumented query parameter 'refresh_after'" in p for p in bulk_problems)
