"""What each desk view shows, as typed records: the pages render them and the JSON API returns them as they are."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Filters(BaseModel):
    """The search as asked: Lucene query plus the filters of `newsmon search`."""

    q: str = ""
    since: str = ""
    languages: list[str] = []
    sources: list[str] = []
    affiliations: list[str] = []
    subtopics: list[str] = []
    entities: list[str] = []
    on_topic: bool = False
    sort: str = "relevance"


class Copy(BaseModel):
    """One copy of a story: the article as one outlet published it."""

    id: str
    title: str
    url: str
    source: str = Field(description="feed id")
    outlet: str = Field(description="the feed's name in feeds.yaml (its id when it is not configured)")
    affiliation: str | None
    language: str | None
    published_at: datetime | None
    on_topic: bool | None = Field(description="null for a member of the story that did not match the search")
    relevance: float | None
    subtopics: list[str]
    snippet: str = Field(description="text around the matched words, without marks")
    highlights: list[tuple[int, int]] = Field(description="[start, end) of each matched word in the snippet")
    matched: bool = Field(description="false for a copy shown because its story matched, not itself")


class StoryRow(BaseModel):
    """One result row: a story, its best-matching copy first, the others folded under it."""

    key: str = Field(description="the story id, or the article id of an article without a story")
    story_id: str | None = Field(description="the event-level story (newsmon stories), null for an article without one")
    title: str
    size: int = Field(description="articles of the story (copies and translations), shown or not")
    outlets: list[str]
    languages: list[str]
    copies: list[Copy]


class SearchResult(BaseModel):
    filters: Filters
    page: int
    per_page: int
    has_next: bool
    stories: list[StoryRow]


class TermMatch(BaseModel):
    term: str = Field(description="the topic pack's concept id")
    kind: str = Field(description="side:<side>, subtopic:<id> or negative:<kind>")
    label: str
    field: str = Field(description="title or text")
    surface: str = Field(description="the words as the article writes them")
    before: str
    after: str


class Evidence(BaseModel):
    """One term of the topic pack with all its matches in the article: the reasons, one line each."""

    term: str
    kind: str
    label: str
    count: int
    fields: list[str]
    first: TermMatch = Field(description="where it first occurs, with the words around it")


class Explanation(BaseModel):
    """Why an article was tagged: the decision and each term of the topic pack found in it, with where."""

    topic: str | None
    on_topic: bool
    relevance: float
    subtopics: list[str]
    entities: list[str]
    summary: str
    evidence: list[Evidence]
    matches: list[TermMatch] = Field(description="every match in document order, title first")


class Member(BaseModel):
    id: str
    title: str
    url: str
    source: str
    outlet: str
    affiliation: str | None
    language: str | None
    published_at: datetime | None
    on_topic: bool | None = Field(description="null past the first members of a large story (not read)")
    relevance: float | None
    explanation: Explanation | None = Field(description="left out past the first members of a large story")


class OutletGroup(BaseModel):
    outlet: str
    affiliation: str | None
    group: str = Field(description="state-controlled, independent, public broadcaster, international or unknown")
    members: list[str] = Field(description="ids of its members, oldest first")


class LanguageGroup(BaseModel):
    language: str
    outlets: list[OutletGroup]


class Story(BaseModel):
    key: str
    story_id: str | None
    title: str
    size: int
    first_seen_at: datetime | None
    outlets: list[str]
    languages: list[str]
    members: list[Member] = Field(description="oldest first")
    by_language: list[LanguageGroup] = Field(description="the members by language (most first), then by outlet")
    more_members: int = Field(description="articles beyond the ones listed")


class OutboxItem(BaseModel):
    id: int
    rule: str
    status: str = Field(description="pending | sending | sent | failed")
    attempts: int
    created_at: datetime
    story_key: str
    title: str
    last_error: str | None


class Rule(BaseModel):
    """A rule of config/alerts.yaml (read-only here) and what it fired."""

    name: str
    query: str
    mode: str
    enabled: bool
    on_topic: bool | None
    subtopics: list[str]
    languages: list[str]
    sources: list[str]
    min_relevance: float
    channels: list[str] = Field(description="as `newsmon alerts check` names them: never with a secret")
    fired_recently: int = Field(description="alerts created in the last window_days")
    last_fired_at: datetime | None
    latest: list[OutboxItem]


class Alerts(BaseModel):
    window_days: int
    rules: list[Rule]
    totals: dict[str, int] = Field(description="outbox rows per status")
    failed: list[OutboxItem]
    pending: list[OutboxItem] = Field(description="pending and sending rows")
    config_error: str | None = None


class Retried(BaseModel):
    queued: int = Field(description="1 when the alert was failed and is pending again, else 0")
    item: OutboxItem


class FeedRow(BaseModel):
    id: str
    name: str
    url: str = Field(description="the URL newsmon polls (after a permanent redirect: where it moved)")
    configured_url: str
    language: str | None
    country: str | None
    affiliation: str | None
    enabled: bool
    health: str = Field(description="ok, new, failing xN, disabled (stopped by newsmon, e.g. 410 Gone), off")
    failures: int
    last_success_at: datetime | None
    last_error: str | None
    items_per_day: float | None
    interval_s: int | None
    next_poll_at: datetime | None
    moved_to: str | None
    gone: bool
    verdict: str = Field(description="what `newsmon feeds report` tells an operator: ok, new, off, silent, failing, moved, gone")
    why: str = Field(description="the verdict in one sentence with what to do ('' when ok)")


class Feeds(BaseModel):
    feeds: list[FeedRow]
    counts: dict[str, int] = Field(description="feeds per health (failing counted once whatever N)")
    config_error: str | None = None
