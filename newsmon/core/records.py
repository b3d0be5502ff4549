"""Typed records that flow between pipeline stages (frozen; stages return dataclasses.replace)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Feed:
    """One configured feed (from config/feeds.yaml)."""

    id: str
    url: str
    name: str
    language: str | None = None
    country: str | None = None
    affiliation: str | None = None
    enabled: bool = True
    note: str | None = None
    evidence: str | None = None  # where the URL is shown to work; required for enabled feeds
    user_agent: str | None = None  # overrides the default User-Agent for this feed's site
    user_agent_note: str | None = None


@dataclass(frozen=True)
class FeedState:
    """What we remember about a feed between polls (persisted in the state DB)."""

    feed_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    interval_s: int | None = None
    disabled_reason: str | None = None
    items_seen: int = 0
    configured_url: str | None = None  # feeds.yaml's URL when this state began; `url` may differ after a 301


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a parsed feed, already in our own types (no feedparser dicts past ingest/feeds.py)."""

    entry_id: str
    link: str | None
    title: str | None = None
    summary: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """What the project's parser makes of one feed document."""

    source: str
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[FeedEntry, ...]
    problems: tuple[str, ...] = ()
    items_not_read: int = 0  # items after the parsing limits (ingest/feeds.py): never parsed, never ingested


@dataclass(frozen=True)
class Page:
    """One fetched HTTP response body (feed or article page)."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime
    not_modified: bool = False


@dataclass(frozen=True)
class Extracted:
    """The article that extraction found in one page, before enrichment."""

    title: str | None
    text: str
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image: str | None = None
    summary: str | None = None

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class TopicMatch:
    """One pack term found in the text: why an article was tagged."""

    term: str
    surface: str
    start: int
    end: int
    field: str = "text"
    kind: str = ""


@dataclass(frozen=True)
class TopicResult:
    topic: str
    on_topic: bool
    relevance: float
    subtopics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    matched: tuple[TopicMatch, ...] = ()
    explanation: str = ""


@dataclass(frozen=True)
class Article:
    """An enriched article: what is staged, clustered, indexed and alerted on."""

    id: str
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    fetched_at: datetime
    content_hash: str
    source_affiliation: str | None = None
    source_country: str | None = None
    feed_url: str | None = None
    summary: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    image: str | None = None
    topic: TopicResult | None = None
    entities: tuple[str, ...] = ()
    cluster_id: str | None = None
    duplicate_of: str | None = None
    dup_reason: str | None = None
    story_id: str | None = None  # the event-level story (newsmon/store/stories.py): copies and translations of one event
    fingerprint: tuple[int, ...] = field(default=(), repr=False)

    @property
    def word_count(self) -> int:
        return len(self.text.split())
