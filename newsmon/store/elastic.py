"""Elasticsearch search backend on the official client: template, rollover-ready write alias, create-only bulk.

The index template (settings, analyzers, strict mapping) is `newsmon/store/es_mapping.json`, the one schema
file; this module sends it unchanged. Writes go through the alias `newsmon-articles` (write index
`newsmon-articles-000001`, then `-000002` after a reindex or rollover) with `_op_type: create` and
`_id` = the canonical-URL hash, so a rerun is a counted 409, never a second copy.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from newsmon.core.documents import article_to_document, parse_datetime
from newsmon.core.errors import UserError
from newsmon.core.query import QuerySyntaxError
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.store.db import StoreUnavailable
from newsmon.store.es_query import build_cluster_size_body, build_search_body
from newsmon.store.index import PutResult, SearchHit, SearchQuery

if TYPE_CHECKING:
    from types import ModuleType

    from elasticsearch import ApiError, Elasticsearch, TransportError

MAPPING_PATH = Path(__file__).with_name("es_mapping.json")
DEFAULT_ALIAS = "newsmon-articles"
# Item statuses worth another try: back-pressure (429) and a node or shard briefly unavailable (5xx).
RETRY_STATUSES = (429, 500, 502, 503, 504)
BULK_MAX_RETRIES = 4
BULK_INITIAL_BACKOFF_S = 2.0
BULK_MAX_BACKOFF_S = 60.0
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 20 * 1024 * 1024  # well under Elasticsearch's default http.max_content_length (100mb)
# Connection errors and timeouts are retried by the transport; statuses are retried by the bulk helper
# with backoff, so the transport does not also retry them (that would multiply attempts without waiting).
TRANSPORT_MAX_RETRIES = 2
_INDEX_NUMBER = re.compile(r"-(\d{6})$")


class ElasticConfigError(UserError):
    """Settings that cannot work (missing CA file, half-given credentials): the user must fix them."""


class ElasticSetupError(UserError):
    """The cluster is reachable but not in a state newsmon can use as-is; the message says what to do."""


def _es() -> ModuleType:
    """The official client package, imported when first needed: it takes about 0.1 s to import, which the CLI's
    start-up and installations on the embedded backend need not pay."""
    import elasticsearch
    import elasticsearch.helpers

    return elasticsearch


@lru_cache(maxsize=1)
def _mapping_file_text() -> str:
    return MAPPING_PATH.read_text(encoding="utf-8")


def load_template(alias: str = DEFAULT_ALIAS) -> dict[str, Any]:
    """The index template body from es_mapping.json, its pattern following `alias` (default: the file as-is)."""
    template: dict[str, Any] = json.loads(_mapping_file_text())
    if alias != DEFAULT_ALIAS:
        template["index_patterns"] = [f"{alias}-*"]
    return template


def load_mappings() -> dict[str, Any]:
    """The strict `mappings` section of the template (what every document must fit)."""
    return copy.deepcopy(load_template()["template"]["mappings"])


def redact_url(url: str) -> str:
    """`url` without user:password (the client accepts them in the URL; messages must not repeat them)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def index_name(alias: str, number: int) -> str:
    """Concrete index behind the alias, numbered like rollover does: newsmon-articles-000001."""
    return f"{alias}-{number:06d}"


def build_client(settings: Settings) -> Elasticsearch:
    """The official client for settings.es_url, with API key or user/password and an optional CA file."""
    options: dict[str, Any] = {
        "request_timeout": settings.es_timeout_s,
        "max_retries": TRANSPORT_MAX_RETRIES,
        "retry_on_timeout": True,
        "retry_on_status": (),
    }
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    elif settings.es_username or settings.es_password:
        if not (settings.es_username and settings.es_password):
            raise ElasticConfigError(
                "set both NEWSMON_ES_USERNAME and NEWSMON_ES_PASSWORD (or NEWSMON_ES_API_KEY instead)"
            )
        options["basic_auth"] = (settings.es_username, settings.es_password)
    if settings.es_ca_certs:
        ca_path = Path(settings.es_ca_certs)
        if not ca_path.is_file():
            raise ElasticConfigError(
                f"CA certificate {ca_path} not found: set NEWSMON_ES_CA_CERTS to the cluster's http_ca.crt"
            )
        options["ca_certs"] = str(ca_path)
    try:
        return _es().Elasticsearch(settings.es_url, **options)
    except ValueError as exc:
        raise ElasticConfigError(f"cannot use NEWSMON_ES_URL={settings.es_url!r}: {exc}") from exc


@dataclass
class SetupReport:
    """What `setup` found and did, for the CLI to print."""

    template: str
    template_changed: bool
    write_index: str
    created_index: bool
    previous_template_version: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class IndexStatus:
    """What `newsmon es status` shows."""

    indices: dict[str, bool]  # index behind the alias -> is its write index
    installed_template_version: int | None
    file_template_version: int | None
    count: int


@dataclass
class ReindexReport:
    new_index: str
    old_indices: list[str]
    created: int
    duplicates: int
    failed: dict[str, str]
    caught_up: int
    swapped: bool
    deleted_old: bool


class ElasticIndex:
    """SearchIndex on an Elasticsearch alias. Infrastructure failures raise StoreUnavailable."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        alias: str = DEFAULT_ALIAS,
        url: str = "",
        bulk_max_retries: int = BULK_MAX_RETRIES,
        bulk_initial_backoff_s: float = BULK_INITIAL_BACKOFF_S,
        bulk_chunk_docs: int = BULK_CHUNK_DOCS,
    ) -> None:
        self.client = client
        self.alias = alias
        self.url = redact_url(url)  # shown in messages and logs, so never with a password in it
        self.bulk_max_retries = bulk_max_retries
        self.bulk_initial_backoff_s = bulk_initial_backoff_s
        self.bulk_chunk_docs = bulk_chunk_docs

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ElasticIndex:
        return cls(build_client(settings), alias=settings.es_alias, url=settings.es_url, **options)

    def close(self) -> None:
        self.client.close()

    # -- errors -------------------------------------------------------------------------------------

    @contextmanager
    def _cluster(self, doing: str) -> Iterator[None]:
        """Turn the client's infrastructure errors into StoreUnavailable with what to check."""
        es = _es()
        try:
            yield
        except (es.AuthenticationException, es.AuthorizationException) as exc:
            raise StoreUnavailable(
                f"Elasticsearch at {self.url} refused to {doing} (HTTP {exc.status_code}: {_reason(exc)}); "
                "check NEWSMON_ES_API_KEY or NEWSMON_ES_USERNAME/NEWSMON_ES_PASSWORD and the user's privileges"
            ) from exc
        except es.NotFoundError as exc:
            raise StoreUnavailable(
                f"Elasticsearch at {self.url} has no {self.alias!r} to {doing} ({_reason(exc)}); "
                "run `newsmon es setup` first"
            ) from exc
        except es.ApiError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise StoreUnavailable(
                    f"Elasticsearch at {self.url} failed to {doing} (HTTP {exc.status_code}: {_reason(exc)}); "
                    "check the cluster's health (GET _cluster/health) and try again"
                ) from exc
            raise
        except es.TransportError as exc:
            raise StoreUnavailable(
                f"cannot reach Elasticsearch at {self.url} to {doing} ({_transport_reason(exc)}); check that it is up "
                "(docker compose up -d elasticsearch), NEWSMON_ES_URL, and NEWSMON_ES_CA_CERTS for https"
            ) from exc

    # -- writes -------------------------------------------------------------------------------------

    def put_articles(self, articles: Sequence[Article]) -> PutResult:
        """Bulk-create through the write alias; every article ends in exactly one PutResult list."""
        documents = [article_to_document(article) for article in articles]
        with self._cluster("index articles"):
            return self._bulk_create(documents, target=self.alias, require_alias=True)

    def _bulk_create(self, documents: Iterable[dict[str, Any]], *, target: str, require_alias: bool) -> PutResult:
        result = PutResult()
        pending: set[str] = set()

        def actions() -> Iterator[dict[str, Any]]:
            for doc in documents:
                doc_id = doc["id"]
                if doc_id in pending or doc_id in result.duplicates:
                    result.duplicates.append(doc_id)  # the same article twice in one batch
                    continue
                pending.add(doc_id)
                yield {"_op_type": "create", "_index": target, "_id": doc_id, "_source": doc}

        outcomes = _es().helpers.streaming_bulk(
            self.client,
            actions(),
            chunk_size=self.bulk_chunk_docs,
            max_chunk_bytes=BULK_CHUNK_BYTES,
            raise_on_error=False,
            raise_on_exception=False,
            max_retries=self.bulk_max_retries,
            initial_backoff=self.bulk_initial_backoff_s,
            max_backoff=BULK_MAX_BACKOFF_S,
            retry_on_status=RETRY_STATUSES,
            require_alias=require_alias,
        )
        for ok, item in outcomes:
            info = next(iter(item.values()))
            doc_id = str(info.get("_id"))
            status = int(info.get("status") or 0)
            pending.discard(doc_id)
            if not ok and isinstance(info.get("exception"), _es().ApiError) and status in RETRY_STATUSES:
                # The whole request kept failing (not one document): infrastructure, so the task retries.
                raise StoreUnavailable(
                    f"Elasticsearch at {self.url} kept answering HTTP {status} to bulk requests after "
                    f"{self.bulk_max_retries} retries; check the cluster's health (GET _cluster/health)"
                )
            if ok:
                result.created.append(doc_id)
            elif status == 409:
                result.duplicates.append(doc_id)
            elif status in (401, 403):
                raise StoreUnavailable(
                    f"Elasticsearch at {self.url} refused to index (HTTP {status}: {_item_reason(info)}); "
                    "check NEWSMON_ES_API_KEY or NEWSMON_ES_USERNAME/NEWSMON_ES_PASSWORD and the user's privileges"
                )
            elif status == 404 and require_alias:
                raise StoreUnavailable(
                    f"Elasticsearch at {self.url} has no write alias {target!r} ({_item_reason(info)}); "
                    "run `newsmon es setup`"
                )
            else:
                result.failed[doc_id] = f"HTTP {status}: {_item_reason(info)}"
        for doc_id in pending:  # never expected; counted so that nothing goes missing silently
            result.failed[doc_id] = "no result for this document in the bulk response"
        return result

    # -- reads --------------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> list[SearchHit]:
        body = build_search_body(query)  # raises QuerySyntaxError before any request
        with self._cluster("search"):
            try:
                response = self.client.search(index=self.alias, body=body)
            except _es().BadRequestError as exc:
                raise QuerySyntaxError(f"Elasticsearch cannot run {query.q!r}: {_reason(exc)}") from exc
            hits = response["hits"]["hits"]
            sizes = self._cluster_sizes([h["_source"].get("cluster_id") for h in hits])
        return [_hit(h, sizes) for h in hits]

    def _cluster_sizes(self, cluster_ids: list[str | None]) -> dict[str, int]:
        wanted = sorted({c for c in cluster_ids if c})
        if not wanted:
            return {}
        response = self.client.search(index=self.alias, body=build_cluster_size_body(wanted))
        buckets = response.get("aggregations", {}).get("cluster_sizes", {}).get("buckets", [])
        return {str(b["key"]): int(b["doc_count"]) for b in buckets}

    def get(self, article_id: str) -> dict[str, Any] | None:
        # An ids query instead of GET /<alias>/_doc/<id>: that one fails once the alias spans indices.
        with self._cluster("read a document"):
            response = self.client.search(index=self.alias, query={"ids": {"values": [article_id]}}, size=1)
        hits = response["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    def count(self) -> int:
        with self._cluster("count documents"):
            return int(self.client.count(index=self.alias)["count"])

    # -- administration (newsmon es setup / reindex) --------------------------------------------------

    def setup(self) -> SetupReport:
        """Idempotent: put the template, create the first index with the write alias unless the alias exists."""
        template = load_template(self.alias)
        with self._cluster("install the index template"):
            previous = self._installed_template_version()
            self.client.indices.put_index_template(name=self.alias, body=template)
            report = SetupReport(
                template=self.alias,
                template_changed=previous != template.get("version"),
                write_index="",
                created_index=False,
                previous_template_version=previous,
            )
            if self.client.indices.exists_alias(name=self.alias):
                report.write_index = self._write_index() or ""
                if previous is not None and previous != template.get("version"):
                    report.notes.append(
                        f"the template changed from version {previous} to {template.get('version')}: existing "
                        "indices keep their old mapping; run `newsmon es reindex` to rebuild with the new one"
                    )
                return report
            if self.client.indices.exists(index=self.alias):
                raise ElasticSetupError(
                    f"{self.alias!r} on {self.url} is an index, not an alias (documents were written before "
                    f"`newsmon es setup`, with a guessed mapping); delete it (DELETE /{self.alias}) or set "
                    "NEWSMON_ES_ALIAS to another name, then run `newsmon es setup` again"
                )
            first = index_name(self.alias, 1)
            if self.client.indices.exists(index=first):
                self.client.indices.update_aliases(
                    actions=[{"add": {"index": first, "alias": self.alias, "is_write_index": True}}]
                )
            else:
                self._create_index(first, with_alias=True)
                report.created_index = True
            report.write_index = first
        return report

    def status(self) -> IndexStatus:
        with self._cluster("read the index state"):
            indices = {name: bool(props.get("is_write_index")) for name, props in self._alias_indices().items()}
            return IndexStatus(
                indices=indices,
                installed_template_version=self._installed_template_version(),
                file_template_version=load_template(self.alias).get("version"),
                count=self.count() if indices else 0,
            )

    def _installed_template_version(self) -> int | None:
        try:
            found = self.client.indices.get_index_template(name=self.alias)
        except _es().NotFoundError:
            return None
        for item in found.get("index_templates", []):
            version = item.get("index_template", {}).get("version")
            return int(version) if version is not None else None
        return None

    def _create_index(self, name: str, *, with_alias: bool) -> None:
        # Settings and mappings come from the template (index_patterns matches `name`).
        aliases = {self.alias: {"is_write_index": True}} if with_alias else None
        try:
            self.client.indices.create(index=name, aliases=aliases)
        except _es().ApiError as exc:
            if exc.status_code == 400 and "resource_already_exists" in str(exc):
                return  # another `es setup` created it a moment ago
            raise

    def _alias_indices(self) -> dict[str, dict[str, Any]]:
        """index name -> alias properties, for every index the alias points at ({} if none)."""
        try:
            found = self.client.indices.get_alias(name=self.alias)
        except _es().NotFoundError:
            return {}
        return {index: props.get("aliases", {}).get(self.alias, {}) for index, props in found.body.items()}

    def _write_index(self) -> str | None:
        indices = self._alias_indices()
        for index, props in indices.items():
            if props.get("is_write_index"):
                return index
        return next(iter(indices), None) if len(indices) == 1 else None

    def _next_index_number(self) -> int:
        try:
            found = self.client.indices.get_alias(index=f"{self.alias}-*")
        except _es().NotFoundError:
            return 1
        numbers = [int(m.group(1)) for name in found.body if (m := _INDEX_NUMBER.search(name))]
        return max(numbers, default=0) + 1

    def reindex(
        self,
        load_documents: Callable[[], Iterable[dict[str, Any]]],
        *,
        delete_old: bool = False,
    ) -> ReindexReport:
        """Rebuild into a new numbered index from `load_documents()`, then swap the alias atomically.

        The alias is only moved when every document made it into the new index. After the swap the
        documents are loaded again and created through the alias, so articles the pipeline indexed into
        the old index during the rebuild are not lost (they answer 409 if already there).
        """
        template = load_template(self.alias)
        with self._cluster("reindex"):
            self.client.indices.put_index_template(name=self.alias, body=template)
            old = sorted(self._alias_indices())
            new = index_name(self.alias, self._next_index_number())
            self._create_index(new, with_alias=False)
            built = self._bulk_create(load_documents(), target=new, require_alias=False)
            report = ReindexReport(
                new_index=new,
                old_indices=old,
                created=len(built.created),
                duplicates=len(built.duplicates),
                failed=built.failed,
                caught_up=0,
                swapped=False,
                deleted_old=False,
            )
            if built.failed:
                return report
            self.client.indices.refresh(index=new)
            actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": self.alias, "is_write_index": True}}]
            if delete_old:
                actions += [{"remove_index": {"index": index}} for index in old]
            else:
                actions += [{"remove": {"index": index, "alias": self.alias}} for index in old]
            self.client.indices.update_aliases(actions=actions)
            report.swapped = True
            report.deleted_old = delete_old and bool(old)
            caught = self._bulk_create(load_documents(), target=self.alias, require_alias=True)
            report.caught_up = len(caught.created)
            report.failed = caught.failed
        return report


def _reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("reason") or error.get("type") or exc.message)
    return str(error or exc.message)


def _transport_reason(exc: TransportError) -> str:
    text = str(exc)
    for marker, short in (("Connection refused", "connection refused"), ("Name or service not known", "unknown host"),
                          ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"), ("timed out", "timed out")):
        if marker in text:
            return short
    return text[:200]


def _item_reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        kind, reason = error.get("type", "error"), error.get("reason", "")
        return f"{kind}: {reason}" if reason else str(kind)
    return str(error or "unknown error")


def _hit(hit: dict[str, Any], sizes: dict[str, int]) -> SearchHit:
    source = hit["_source"]
    fragments = hit.get("highlight", {}).get("text") or [""]
    cluster_id = source.get("cluster_id")
    return SearchHit(
        id=str(source.get("id") or hit["_id"]),
        title=source.get("title") or "",
        url=source.get("url") or "",
        source=source.get("source") or "",
        published_at=parse_datetime(source.get("published_at")),
        language=source.get("language"),
        on_topic=bool(source.get("on_topic")),
        relevance=float(source.get("relevance") or 0.0),
        subtopics=tuple(source.get("subtopics") or ()),
        cluster_id=cluster_id,
        snippet=" ".join(fragments[0].split()),
        score=float(hit.get("_score") or 0.0),
        cluster_size=sizes.get(cluster_id, 1) if cluster_id else 1,
        source_affiliation=source.get("source_affiliation"),
    )
