"""The desk's views built from the layers below: search index, event-level stories, outbox, feed health, config files."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine

from newsmon.alerts.outbox import OutboxEntry, list_outbox, outbox_totals, retry_failed
from newsmon.app.commands.search import parse_since
from newsmon.app.desk import models
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import AFFILIATIONS, AlertRule, ConfigError, load_alert_rules, load_feeds
from newsmon.core.entity_ids import ENTITY_ID_HELP, is_entity_id
from newsmon.core.errors import UserError
from newsmon.core.query import with_keyword_filters
from newsmon.core.records import Feed
from newsmon.core.settings import Settings
from newsmon.enrich.explain import explain_document, kind_label
from newsmon.enrich.topic import load_topic_pack
from newsmon.store.health import feed_health
from newsmon.store.index import SearchHit, SearchIndex, SearchQuery
from newsmon.store.stories import StoryMember, affiliation_group, stories_of
from newsmon.store.story_search import FoundStory, search_stories, story_members

log = logging.getLogger(__name__)

# Around each matched word of a snippet. Stored text holds no control characters (newsmon.core.text strips
# them where text is born), so these cannot collide with the article's own characters.
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
_MARKS = re.compile(f"([{MARK_OPEN}{MARK_CLOSE}])")
PER_PAGE = 20
EXPLAINED_MEMBERS = 20  # a story page explains this many members (each is one read of the full document)
STORY_MEMBERS = 200
OUTBOX_SHOWN = 50
ACTIVITY_WINDOW_DAYS = 7
# Outbox rows read for what each rule fired (newest first): weeks of alerts for a newsroom's rule set.
ACTIVITY_ROWS = 5000
LATEST_SHOWN = 5

T = TypeVar("T")


class BadSearch(UserError):
    """A search the desk cannot run as given (a bad `since`, a page number below 1)."""


@dataclass
class _ConfigFile(Generic[T]):
    """A YAML config file read again whenever it changes on disk; a broken file keeps its error until fixed."""

    path: Path
    load: Callable[[Path], T]
    empty: T
    _stamp: tuple[int, int] | None = None
    _value: T | None = None
    _error: str | None = None

    def get(self) -> tuple[T, str | None]:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp != self._stamp:
            try:
                self._value, self._error = self.load(self.path), None
            except ConfigError as exc:
                self._value, self._error = self.empty, str(exc)
            self._stamp = stamp
        return (self._value if self._value is not None else self.empty), self._error


@dataclass
class Desk:
    """Everything a view reads from: the store, the index, the config files, and the clock."""

    settings: Settings
    engine: Engine
    index: SearchIndex
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _feeds: _ConfigFile[list[Feed]] = field(init=False)
    _rules: _ConfigFile[list[AlertRule]] = field(init=False)
    _pack: tuple[dict[str, str], tuple[str, ...]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._feeds = _ConfigFile(self.settings.feeds_file, load_feeds, [])
        self._rules = _ConfigFile(self.settings.alerts_file, load_alert_rules, [])

    def feeds(self) -> tuple[list[Feed], str | None]:
        return self._feeds.get()

    def rules(self) -> tuple[list[AlertRule], str | None]:
        return self._rules.get()

    def outlet_names(self) -> dict[str, str]:
        return {feed.id: feed.name for feed in self.feeds()[0]}

    def pack_terms(self) -> tuple[dict[str, str], tuple[str, ...]]:
        """The topic pack's side labels and subtopic ids, for labels and the subtopic filter (empty if unreadable)."""
        if self._pack is None:
            try:
                pack = load_topic_pack(self.settings.topics_dir / f"{self.settings.topic}.yaml")
                self._pack = (dict(pack.side_labels), tuple(pack.subtopic_ids))
            except UserError as exc:
                log.warning("the desk shows no topic pack labels: %s", exc)
                self._pack = ({}, ())
        return self._pack


# ---------------------------------------------------------------- search


def split_marks(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """The snippet without its marks, and the [start, end) of each marked stretch in that text.

    A mark left open (a snippet cut short inside a match) marks nothing.
    """
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for piece in _MARKS.split(snippet):
        if piece == MARK_OPEN:
            start = length
        elif piece == MARK_CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            plain.append(piece)
            length += len(piece)
    return "".join(plain), spans


def search_query(filters: models.Filters, now: datetime) -> SearchQuery:
    since = None
    if filters.since:
        try:
            since = parse_since(filters.since, now)
        except argparse.ArgumentTypeError as exc:
            raise BadSearch(f"since: {exc}") from exc
    for entity in filters.entities:
        if not is_entity_id(entity):
            raise BadSearch(f"entity: {entity!r} is not an entity id; write {ENTITY_ID_HELP}")
    return SearchQuery(
        q=with_keyword_filters(filters.q, "entities", tuple(filters.entities)), since=since,
        languages=tuple(filters.languages), sources=tuple(filters.sources),
        affiliations=tuple(filters.affiliations), subtopics=tuple(filters.subtopics),
        on_topic=True if filters.on_topic else None, sort=filters.sort, marks=(MARK_OPEN, MARK_CLOSE),
    )


def search_view(desk: Desk, filters: models.Filters, page: int = 1, per_page: int = PER_PAGE) -> models.SearchResult:
    if page < 1:
        raise BadSearch("page: give 1 or more")
    found = search_stories(desk.index, desk.engine, search_query(filters, desk.clock()), page=page, per_page=per_page)
    names = desk.outlet_names()
    return models.SearchResult(filters=filters, page=found.page, per_page=found.per_page, has_next=found.has_next,
                               stories=[_story_row(story, names) for story in found.stories])


def _story_row(story: FoundStory, names: dict[str, str]) -> models.StoryRow:
    copies = [_copy(hit, names) for hit in story.matched] + [_other(m, names) for m in story.others]
    summary = story.summary
    outlets = [names.get(o, o) for o in summary.outlets] if summary else []
    return models.StoryRow(key=story.key, story_id=story.story_id, title=story.lead.title, size=story.size,
                           outlets=list(dict.fromkeys([*(c.outlet for c in copies), *outlets])),
                           languages=list(dict.fromkeys([*(c.language for c in copies if c.language),
                                                         *(summary.languages if summary else ())])),
                           copies=copies)


def _copy(hit: SearchHit, names: dict[str, str]) -> models.Copy:
    snippet, highlights = split_marks(hit.snippet)
    return models.Copy(id=hit.id, title=hit.title, url=hit.url, source=hit.source, outlet=names.get(hit.source, hit.source),
                       affiliation=hit.source_affiliation, language=hit.language, published_at=hit.published_at,
                       on_topic=hit.on_topic, relevance=hit.relevance, subtopics=list(hit.subtopics), snippet=snippet,
                       highlights=highlights, matched=True)


def _other(member: StoryMember, names: dict[str, str]) -> models.Copy:
    """A member of the story that did not match the search itself: what the state DB knows of it."""
    source = member.source or ""
    return models.Copy(id=member.article_id, title=member.title or "", url=member.url or "", source=source,
                       outlet=names.get(source, source), affiliation=member.affiliation, language=member.language,
                       published_at=member.seen_at, on_topic=None, relevance=None, subtopics=[], snippet="",
                       highlights=[], matched=False)


# ---------------------------------------------------------------- story


def story_view(desk: Desk, key: str) -> models.Story | None:
    """Every member of one story, by language and outlet, with why each was tagged; None for an unknown key."""
    members = story_members(desk.engine, key)
    if not members:
        # An alert of a rule grouped by copy cluster names the cluster's first article: show its story.
        with desk.engine.connect() as conn:
            story_id = stories_of(conn, [key]).get(key)
        if story_id:
            key, members = story_id, story_members(desk.engine, story_id)
    names = desk.outlet_names()
    labels, _ = desk.pack_terms()
    if members:
        rows = [_member(desk.index, m, names, labels, explain=i < EXPLAINED_MEMBERS)
                for i, m in enumerate(members[:STORY_MEMBERS])]
    else:
        # An article indexed before stories existed is a story of its own.
        doc = desk.index.get(key)
        if doc is None:
            return None
        rows = [_lone_member(doc, names, labels)]
    return models.Story(
        key=key, story_id=key if members else None, title=rows[0].title, size=max(len(members), len(rows)),
        first_seen_at=members[0].seen_at if members else rows[0].published_at, outlets=list(dict.fromkeys(m.outlet for m in rows)),
        languages=list(dict.fromkeys(m.language for m in rows if m.language)),
        members=rows, by_language=_by_language(rows), more_members=max(0, len(members) - len(rows)),
    )


def _by_language(rows: list[models.Member]) -> list[models.LanguageGroup]:
    """The members grouped by language (most members first), then by outlet, in the order they appeared."""
    grouped: dict[str, dict[str, list[models.Member]]] = {}
    for row in rows:
        grouped.setdefault(row.language or "?", {}).setdefault(row.outlet, []).append(row)
    return [models.LanguageGroup(language=language, outlets=[models.OutletGroup(
                outlet=outlet, affiliation=found[0].affiliation, group=affiliation_group(found[0].affiliation),
                members=[m.id for m in found]) for outlet, found in outlets.items()])
            for language, outlets in sorted(grouped.items(), key=lambda item: -sum(map(len, item[1].values())))]


def _member(index: SearchIndex, member: StoryMember, names: dict[str, str], labels: dict[str, str], *,
            explain: bool) -> models.Member:
    doc = index.get(member.article_id) if explain else None
    if doc is not None:
        return _lone_member(doc, names, labels)
    source = member.source or ""
    return models.Member(id=member.article_id, title=member.title or "", url=member.url or "", source=source,
                         outlet=names.get(source, source), affiliation=member.affiliation, language=member.language,
                         published_at=member.seen_at, on_topic=None, relevance=None, explanation=None)


def _lone_member(doc: dict[str, Any], names: dict[str, str], labels: dict[str, str]) -> models.Member:
    """A member as its indexed document tells it, with the explanation of its topic decision."""
    source = doc.get("source") or ""
    return models.Member(id=doc["id"], title=doc.get("title") or "", url=doc.get("url") or "", source=source,
                         outlet=names.get(source, source), affiliation=doc.get("source_affiliation"),
                         language=doc.get("language"), published_at=doc.get("published_at"),
                         on_topic=bool(doc.get("on_topic")), relevance=float(doc.get("relevance") or 0.0),
                         explanation=_explanation(doc, labels))


def _explanation(doc: dict[str, Any], labels: dict[str, str]) -> models.Explanation:
    found = explain_document(doc, labels=labels)

    def match(m: Any) -> models.TermMatch:
        return models.TermMatch(term=m.term, kind=m.kind, label=kind_label(m.kind, labels), field=m.field,
                                surface=m.surface, before=m.before, after=m.after)

    return models.Explanation(
        topic=found.topic, on_topic=found.on_topic, relevance=found.relevance, subtopics=list(found.subtopics),
        entities=list(found.entities), summary=found.summary,
        evidence=[models.Evidence(term=e.term, kind=e.kind, label=kind_label(e.kind, labels), count=e.count,
                                  fields=list(e.fields), first=match(e.first)) for e in found.evidence],
        matches=[match(m) for m in found.matches],
    )


# ---------------------------------------------------------------- alerts


def alert_story_key(outbox_key: str) -> str:
    """The desk's story key for an outbox key: `story:<id>` and `pickup:<id>:<kind>` name the story, anything
    else is a copy cluster's id, which the story page resolves to the story of that article."""
    kind, _, rest = outbox_key.partition(":")
    return rest.split(":", 1)[0] if kind in ("story", "pickup") and rest else outbox_key


def outbox_item(entry: OutboxEntry) -> models.OutboxItem:
    return models.OutboxItem(id=entry.id, rule=entry.rule, status=entry.status, attempts=entry.attempts,
                             created_at=_aware(entry.created_at), story_key=alert_story_key(entry.cluster_id),
                             title=entry.title, last_error=entry.last_error)


def _aware(at: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; every newsmon time is UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RuleActivity:
    """What one rule fired: alerts since a time, when it last fired, and its newest alerts."""

    fired: int
    last_fired_at: datetime | None
    latest: tuple[OutboxEntry, ...]


def rule_activity(entries: Sequence[OutboxEntry], rules: Sequence[str], since: datetime,
                  latest: int = LATEST_SHOWN) -> dict[str, RuleActivity]:
    """Per rule name, from outbox rows newest first (list_outbox): alerts since `since`, the newest one's time,
    and the newest `latest` rows. The desk reads the outbox only through its reader functions, so that how
    alerts are queued and delivered can change under it."""
    found: dict[str, list[OutboxEntry]] = {name: [] for name in rules}
    for entry in entries:
        # A story update (a later copy of an alerted story, carried by the next message) is not an alert.
        if entry.rule in found and not entry.copy_id:
            found[entry.rule].append(entry)
    return {name: RuleActivity(fired=sum(_aware(e.created_at) >= since for e in rows),
                               last_fired_at=_aware(rows[0].created_at) if rows else None,
                               latest=tuple(rows[:latest]))
            for name, rows in found.items()}


def alerts_view(desk: Desk) -> models.Alerts:
    rules, error = desk.rules()
    since = desk.clock() - timedelta(days=ACTIVITY_WINDOW_DAYS)
    activity = rule_activity(list_outbox(desk.engine, limit=ACTIVITY_ROWS), [rule.name for rule in rules], since)
    pending = [*list_outbox(desk.engine, status="sending", limit=OUTBOX_SHOWN),
               *list_outbox(desk.engine, status="pending", limit=OUTBOX_SHOWN)]
    return models.Alerts(
        window_days=ACTIVITY_WINDOW_DAYS,
        rules=[_rule(rule, activity[rule.name]) for rule in rules],
        totals=outbox_totals(desk.engine),
        failed=[outbox_item(e) for e in list_outbox(desk.engine, status="failed", limit=OUTBOX_SHOWN)],
        pending=[outbox_item(e) for e in sorted(pending, key=lambda e: -e.id)],
        config_error=error,
    )


def _rule(rule: AlertRule, activity: RuleActivity) -> models.Rule:
    return models.Rule(
        name=rule.name, query=rule.query, mode=rule.mode, enabled=rule.enabled, on_topic=rule.on_topic,
        subtopics=list(rule.subtopics), languages=list(rule.languages), sources=list(rule.sources),
        min_relevance=rule.min_relevance, channels=[describe_channel(c.url) for c in rule.channels],
        fired_recently=activity.fired, last_fired_at=activity.last_fired_at,
        latest=[outbox_item(e) for e in activity.latest],
    )


def retry_view(desk: Desk, outbox_id: int) -> models.Retried | None:
    """What `newsmon alerts retry --id N` does, for one alert; None when the outbox has no such row."""
    queued = retry_failed(desk.engine, [outbox_id])
    # A retried alert is pending now; one that was not failed is wherever it was.
    for status in ("pending", None):
        entry = next((e for e in list_outbox(desk.engine, status=status, limit=ACTIVITY_ROWS) if e.id == outbox_id), None)
        if entry is not None:
            return models.Retried(queued=queued, item=outbox_item(entry))
    return None


# ---------------------------------------------------------------- feeds


def feeds_view(desk: Desk) -> models.Feeds:
    feeds, error = desk.feeds()
    rows = []
    for feed, health in zip(feeds, feed_health(desk.engine, feeds, desk.clock()), strict=True):
        rows.append(models.FeedRow(
            id=feed.id, name=feed.name, url=health.url, configured_url=feed.url, language=feed.language,
            country=feed.country, affiliation=feed.affiliation, enabled=feed.enabled, health=health.health,
            failures=health.failures, last_success_at=health.last_success_at, last_error=health.last_error,
            items_per_day=health.items_per_day, interval_s=health.interval_s, next_poll_at=health.next_poll_at,
            moved_to=health.moved_to, gone=health.health == "disabled", verdict=str(health.verdict), why=health.why,
        ))
    counts: dict[str, int] = {}
    for row in rows:
        word = row.health.split()[0]
        counts[word] = counts.get(word, 0) + 1
    return models.Feeds(feeds=rows, counts=counts, config_error=error)


def filter_choices(desk: Desk) -> dict[str, Sequence[Any]]:
    """The options the search form offers: languages and outlets of feeds.yaml, affiliations, the pack's subtopics."""
    feeds, _ = desk.feeds()
    return {
        "languages": sorted({f.language for f in feeds if f.language}),
        "sources": sorted(((f.id, f.name) for f in feeds), key=lambda pair: pair[1].lower()),
        "affiliations": AFFILIATIONS,
        "subtopics": desk.pack_terms()[1],
    }
