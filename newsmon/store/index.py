"""The search-index protocol both backends implement, and the query, hit and result records it speaks in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from newsmon.core.records import Article


@dataclass(frozen=True)
class SearchQuery:
    """A Lucene-syntax query plus the CLI's convenience filters."""

    q: str
    since: datetime | None = None
    until: datetime | None = None
    languages: tuple[str, ...] = ()
    on_topic: bool | None = None
    sources: tuple[str, ...] = ()
    subtopics: tuple[str, ...] = ()
    limit: int = 20
    sort: str = "relevance"  # relevance | date
    affiliations: tuple[str, ...] = ()  # any of these source_affiliation values
    offset: int = 0  # hits to skip: with limit, one page of the ranking
    # What the snippet puts around each matched word. The CLI prints the brackets; the desk uses two
    # control characters, which stored text never holds, so it can escape the snippet and then mark it.
    marks: tuple[str, str] = ("[", "]")


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    url: str
    source: str
    published_at: datetime | None
    language: str | None
    on_topic: bool
    relevance: float
    subtopics: tuple[str, ...]
    cluster_id: str | None
    snippet: str
    score: float
    cluster_size: int = 1
    source_affiliation: str | None = None


@dataclass
class PutResult:
    """Outcome of one put_articles call: every article lands in exactly one list."""

    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # id -> reason; stays staged for the next run


class SearchIndex(Protocol):
    def put_articles(self, articles: Sequence[Article]) -> PutResult: ...

    def search(self, query: SearchQuery) -> list[SearchHit]: ...

    def get(self, article_id: str) -> dict[str, Any] | None: ...

    def count(self) -> int: ...

    def close(self) -> None: ...
