"""Loopback HTTP server recording what the real Elasticsearch client sends, plus checks shared by the ES suites.

It is a transport-level recorder, not a search engine: it keeps just enough state (templates,
indices, aliases, document ids) to answer the administrative calls and `create` conflicts with
well-formed Elasticsearch responses. Search answers are whatever a test scripts with `on(...)`.
Tests assert on `requests`, the bytes the client really sent.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from newsmon.core.records import Article, TopicMatch, TopicResult

PRODUCT_HEADERS = {
    "X-Elastic-Product": "Elasticsearch",
    "Content-Type": "application/vnd.elasticsearch+json;compatible-with=9",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def ndjson(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.body.decode("utf-8").splitlines() if line.strip()]


Reply = tuple[int, Any]
Responder = Callable[[RecordedRequest, "EsRecorder"], Reply]
ItemStatus = Callable[[str, int], int | None]  # (doc id, attempt number from 1) -> status, None = default


@dataclass
class EsRecorder:
    """Start with `with EsRecorder() as es:`; point the client at `es.url`."""

    requests: list[RecordedRequest] = field(default_factory=list)
    templates: dict[str, Any] = field(default_factory=dict)
    indices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # index -> alias -> props
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # index -> id -> source
    item_status: ItemStatus | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    routes: list[tuple[str, re.Pattern[str], Responder]] = field(default_factory=list)

    def __enter__(self) -> EsRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # keep test output quiet
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without NODELAY each reply waits for a delayed ACK.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                split = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=unquote(split.path),
                    query=parse_qs(split.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                recorder.requests.append(request)
                status, payload = recorder.respond(request)
                data = b"" if payload is None or self.command == "HEAD" else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in PRODUCT_HEADERS.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def on(self, method: str, path_pattern: str, responder: Responder | Reply) -> None:
        """Script a reply (or a function making one) for requests matching method and path regex; newest wins."""
        func: Responder = responder if callable(responder) else (lambda _r, _e, reply=responder: reply)
        self.routes.insert(0, (method, re.compile(path_pattern), func))

    def sent(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # -- default answers ----------------------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> Reply:
        for method, pattern, responder in self.routes:
            if method == request.method and pattern.fullmatch(request.path):
                return responder(request, self)
        return self._default(request)

    def _resolve(self, name: str) -> list[str]:
        if name in self.indices:
            return [name]
        if "*" in name:
            regex = re.compile(re.escape(name).replace(r"\*", ".*"))
            return [i for i in self.indices if regex.fullmatch(i)]
        return [i for i, aliases in self.indices.items() if name in aliases]

    def _write_target(self, name: str) -> str | None:
        targets = self._resolve(name)
        if name in self.indices:
            return name
        for index in targets:
            if self.indices[index][name].get("is_write_index"):
                return index
        return targets[0] if len(targets) == 1 else None

    def _default(self, r: RecordedRequest) -> Reply:
        parts = [p for p in r.path.split("/") if p]
        m, body = r.method, r.json() if r.body and not r.path.endswith("_bulk") else None
        if not parts:
            return 200, {"name": "recorder", "cluster_name": "loopback", "version": {"number": "9.1.0"},
                         "tagline": "You Know, for Search"}
        if parts[0] == "_index_template" and len(parts) == 2:
            if m == "PUT":
                self.templates[parts[1]] = body
                return 200, {"acknowledged": True}
            if parts[1] in self.templates:
                return 200, {"index_templates": [{"name": parts[1], "index_template": self.templates[parts[1]]}]}
            return 404, _error("resource_not_found_exception", f"index template matching [{parts[1]}] not found")
        if parts[0] == "_alias" and len(parts) == 2:
            found = {i: {"aliases": {parts[1]: a[parts[1]]}} for i, a in self.indices.items() if parts[1] in a}
            if not found:
                return 404, {"error": f"alias [{parts[1]}] missing", "status": 404}
            return 200, found
        if len(parts) == 2 and parts[1] == "_alias":
            found = {i: {"aliases": self.indices[i]} for i in self._resolve(parts[0])}
            return (200, found) if found else (404, _error("index_not_found_exception", f"no such index [{parts[0]}]"))
        if parts[0] == "_aliases" and m == "POST":
            for action in body["actions"]:
                (kind, spec), = action.items()
                if kind == "add":
                    self.indices[spec["index"]][spec["alias"]] = {k: v for k, v in spec.items()
                                                                  if k not in ("index", "alias")}
                elif kind == "remove":
                    self.indices[spec["index"]].pop(spec["alias"], None)
                elif kind == "remove_index":
                    self.indices.pop(spec["index"], None)
                    self.docs.pop(spec["index"], None)
            return 200, {"acknowledged": True, "errors": False}
        if parts[-1] == "_bulk":
            return 200, self._bulk(r, default_index=parts[0] if len(parts) == 2 else None)
        if len(parts) == 2 and parts[1] == "_count":
            targets = self._resolve(parts[0])
            if not targets:
                return 404, _error("index_not_found_exception", f"no such index [{parts[0]}]")
            return 200, {"count": sum(len(self.docs.get(i, {})) for i in targets),
                         "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
        if len(parts) == 2 and parts[1] == "_search":
            targets = self._resolve(parts[0])
            if not targets:
                return 404, _error("index_not_found_exception", f"no such index [{parts[0]}]")
            ids = ((body or {}).get("query") or {}).get("ids", {}).get("values")
            hits = [{"_index": i, "_id": d, "_score": 1.0, "_source": s}
                    for i in targets for d, s in self.docs.get(i, {}).items() if ids is None or d in ids]
            return 200, _search_response(hits[: (body or {}).get("size", 10)])
        if len(parts) == 2 and parts[1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if len(parts) == 1:
            if m == "HEAD":
                return (200, None) if self._resolve(parts[0]) else (404, None)
            if m == "PUT":
                if parts[0] in self.indices:
                    return 400, _error("resource_already_exists_exception", f"index [{parts[0]}] already exists")
                self.indices[parts[0]] = dict((body or {}).get("aliases") or {})
                self.docs[parts[0]] = {}
                return 200, {"acknowledged": True, "shards_acknowledged": True, "index": parts[0]}
        return 404, _error("recorder_no_route", f"the recorder has no answer for {m} {r.path}")

    def _bulk(self, r: RecordedRequest, default_index: str | None) -> dict[str, Any]:
        lines = r.ndjson()
        items, errors = [], False
        require_alias = r.query.get("require_alias") == ["true"]
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            (op, meta), = action.items()
            target_name = meta.get("_index") or default_index or ""
            doc_id = meta["_id"]
            self.attempts[doc_id] = self.attempts.get(doc_id, 0) + 1
            scripted = self.item_status(doc_id, self.attempts[doc_id]) if self.item_status else None
            target = self._write_target(target_name)
            base = {"_index": target or target_name, "_id": doc_id}
            if require_alias and target_name in self.indices:
                status = 404
                error = _error("index_not_found_exception", f"[{target_name}] is not an alias")["error"]
            elif scripted is not None and scripted >= 300:
                status, error = scripted, _item_error(scripted, doc_id)
            elif target is None:
                status = 404
                error = _error("index_not_found_exception", f"no such index [{target_name}]")["error"]
            elif op == "create" and any(doc_id in self.docs.get(i, {}) for i in [target]):
                status, error = 409, _item_error(409, doc_id)
            else:
                self.docs.setdefault(target, {})[doc_id] = source
                status, error = 201, None
            item: dict[str, Any] = {**base, "status": status}
            if error:
                errors = True
                item["error"] = error
            else:
                item.update(result="created", _version=1, _seq_no=0, _primary_term=1,
                            _shards={"total": 1, "successful": 1, "failed": 0})
            items.append({op: item})
        return {"took": 1, "errors": errors, "items": items}


def _error(kind: str, reason: str) -> dict[str, Any]:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
            "status": 404}


def _item_error(status: int, doc_id: str) -> dict[str, Any]:
    kinds = {
        409: ("version_conflict_engine_exception", f"[{doc_id}]: version conflict, document already exists"),
        429: ("es_rejected_execution_exception", "rejected execution of coordinating operation"),
        400: ("document_parsing_exception", "[1:2] mapping set to strict, dynamic introduction of [x] not allowed"),
        503: ("unavailable_shards_exception", "primary shard is not active"),
    }
    kind, reason = kinds.get(status, ("exception", f"status {status}"))
    return {"type": kind, "reason": reason}


def _search_response(hits: list[dict[str, Any]], aggregations: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "took": 1,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"max_score": max((h.get("_score") or 0 for h in hits), default=None), "hits": hits},
    }
    if aggregations is not None:
        response["aggregations"] = aggregations
    return response


search_response = _search_response


# -- fixture articles shared by the ES suites -------------------------------------------------------

FETCHED_AT = datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=UTC)


def sample_articles() -> list[Article]:
    """Articles that exercise every document field: diacritics, Cyrillic, nulls, matched terms, clusters."""
    checkpoint = TopicResult(
        topic="lt-by",
        on_topic=True,
        relevance=0.8731,
        subtopics=("border", "smuggling"),
        entities=("place/salcininkai", "person/lukashenko"),
        matched=(
            TopicMatch(term="salcininkai", surface="Šalčininkų", start=0, end=10, field="title", kind="place"),
            TopicMatch(term="baltarusija", surface="Baltarusijos", start=31, end=43, field="text", kind="country"),
        ),
        explanation="title names a Lithuanian checkpoint and Belarus",
    )
    return [
        Article(
            id="a1" + "0" * 62,
            url="https://www.lrt.lt/naujienos/lietuvoje/2/1/salcininku-punktas?utm_source=rss",
            canonical_url="https://www.lrt.lt/naujienos/lietuvoje/2/1/salcininku-punktas",
            source="lrt-lt",
            source_affiliation="public",
            source_country="LT",
            feed_url="https://www.lrt.lt/rss",
            title="Šalčininkų pasienio punktas uždarytas dėl balionų iš Baltarusijos",
            text="Šalčininkai: punktas uždarytas. Lietuvoje sustabdytas eismas į Baltarusiją, vilkikai stovi eilėse.",
            summary="Pasienio punktas uždarytas.",
            authors=("Rūta Petrauskienė",),
            published_at=datetime(2026, 11, 20, 7, 5, tzinfo=UTC),
            modified_at=None,
            fetched_at=FETCHED_AT,
            language="lt",
            site_name="LRT",
            image="https://www.lrt.lt/img/1.jpg",
            content_hash="c" * 64,
            topic=checkpoint,
            entities=("place/salcininkai", "person/lukashenko"),
            cluster_id="k1",
        ),
        Article(
            id="b2" + "0" * 62,
            url="https://news.example.by/2026/11/20/granica",
            canonical_url="https://news.example.by/2026/11/20/granica",
            source="belta-ru",
            source_affiliation="state",
            source_country="BY",
            title="Литва закрыла пункты пропуска на границе с Беларусью",
            text="Литва закрыла пункты пропуска. Белорусские грузовики остаются на границе.",
            published_at=None,
            fetched_at=FETCHED_AT,
            language="ru",
            content_hash="d" * 64,
            topic=TopicResult(topic="lt-by", on_topic=True, relevance=0.5, subtopics=("border",)),
            cluster_id="k1",
            duplicate_of="a1" + "0" * 62,
            dup_reason="story",
        ),
        Article(
            id="c3" + "0" * 62,
            url="https://example.com/weather",
            canonical_url="https://example.com/weather",
            source="example-en",
            title="Weather in Riga",
            text="Sunny.",
            fetched_at=FETCHED_AT,
            content_hash="e" * 64,
        ),
    ]


# -- the strict mapping, as a document check -----------------------------------------------------------

# strict_date_optional_time as newsmon writes it: UTC, optional fraction (ES keeps up to nanoseconds).
_ES_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$")
_INT_RANGE = {"integer": 2**31, "long": 2**63, "short": 2**15, "byte": 2**7}


def mapping_violations(doc: dict[str, Any], properties: dict[str, Any], path: str = "") -> list[str]:
    """What Elasticsearch would reject in `doc` under a `dynamic: strict` mapping (empty list = fits)."""
    problems: list[str] = []
    for key, value in doc.items():
        where = f"{path}{key}"
        spec = properties.get(key)
        if spec is None:
            problems.append(f"{where}: not in the mapping (strict mapping rejects the document)")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            problems.extend(_value_violations(item, spec, where))
    return problems


def _value_violations(value: Any, spec: dict[str, Any], where: str) -> list[str]:
    kind = spec.get("type", "object")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        return mapping_violations(value, spec.get("properties", {}), f"{where}.")
    if kind in ("keyword", "text"):
        ok = isinstance(value, str) or (kind == "keyword" and isinstance(value, bool | int | float))
        return [] if ok else [f"{where}: {value!r} is not a string for a {kind} field"]
    if kind == "date":
        if not isinstance(value, str) or not _ES_DATE.match(value):
            return [f"{where}: {value!r} is not strict_date_optional_time"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if kind in _INT_RANGE:
        limit = _INT_RANGE[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
        return [] if ok else [f"{where}: {value!r} is not a {kind}"]
    if kind in ("float", "double", "half_float", "scaled_float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    return [f"{where}: the check does not know mapping type {kind!r}"]


def drop_live_test_data(index: Any) -> None:
    """Delete a live test run's indices and template (by name: clusters refuse wildcard deletes by default)."""
    client = index.client.options(ignore_status=404)
    found = client.indices.get(index=f"{index.alias}-*", expand_wildcards="all")
    names = sorted(found.body) if found.meta.status == 200 else []
    if names:
        client.indices.delete(index=",".join(names))
    client.indices.delete_index_template(name=index.alias)
