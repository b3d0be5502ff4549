"""Poll: a batch of feeds, their new entries' pages fetched, extracted, enriched and staged in the state DB."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from newsmon.app.stages.counts import Counts, recorded, utcnow
from newsmon.core.config import ConfigError, load_feeds
from newsmon.core.documents import article_to_document
from newsmon.core.outcomes import Count, EntryOutcome, FeedFailure, FetchFailure, PollOutcome, SkipReason, Stage
from newsmon.core.records import Article, Extracted, Feed, FeedEntry, FeedState, Page, ParsedFeed
from newsmon.core.settings import Settings
from newsmon.core.text import MAX_SITE_NAME_CHARS, clean_name, clean_names, clean_summary, clean_title
from newsmon.enrich.dedup import content_hash
from newsmon.enrich.lang import detect_language
from newsmon.enrich.topic import TopicPack, load_topic_pack, tag
from newsmon.ingest.deadline import CpuDeadlineExceeded, cpu_deadline
from newsmon.ingest.extract import ExtractionSkip, extract_article
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.ingest.poll import (
    PollResult,
    forget_validators,
    page_user_agent,
    poll_feed,
    record_failure,
    record_new_items,
)
from newsmon.ingest.urls import UrlError, article_id, canonical_url
from newsmon.store.db import StoreUnavailable, insert_ignore, open_engine
from newsmon.store.feedstate import load_feed_state, save_feed_state
from newsmon.store.schema import articles, seen_entries

log = logging.getLogger("newsmon.stages.poll")

Progress = Callable[[str, int], None]  # (event, amount): "feed" done, "entry" done

# An entry is marked seen as "unfinished:<attempt>" once its page is fetched, before extraction starts,
# and gets its real outcome when processing ends. If the worker is stopped inside extraction (a task
# timeout, a kill), the mark stays: the next poll tries the entry once more (the stop may have been a
# database outage) and after MAX_PROCESSING_ATTEMPTS counts it as a skip, so a page that hangs the
# extractor cannot stall every run.
UNFINISHED = "unfinished:"
MAX_PROCESSING_ATTEMPTS = 2
# Seen-entry lookups go to the DB in chunks of this many keys (well under SQLite's bound-variable limit).
SEEN_LOOKUP_CHUNK = 500
# The backstop behind the markup scan (ingest/markup_scan.py) for the Python side of processing one page
# (trafilatura's passes, htmldate, dateparser, tagging): a page that needs more CPU time than this is a
# counted skip. The slowest of the 711 corpus pages needs 0.3 s.
PAGE_PROCESSING_CPU_S = 10.0
# What each successful poll outcome is counted as (a failed poll is counted where it is handled).
_POLL_COUNTS = {
    PollOutcome.FETCHED: Count.FEEDS_POLLED,
    PollOutcome.NOT_MODIFIED: Count.FEEDS_UNCHANGED,
    PollOutcome.SAME_BODY: Count.FEEDS_UNCHANGED,
    PollOutcome.MOVED: Count.FEEDS_MOVED,
    PollOutcome.GONE: Count.FEEDS_GONE,
    PollOutcome.DISABLED: Count.FEEDS_DISABLED,
}


def _entry_key(entry: FeedEntry) -> str:
    return hashlib.sha256(entry.entry_id.encode("utf-8")).hexdigest()[:32]


def _attempts(outcome: str) -> int:
    """How many processing attempts an "unfinished:<n>" mark records (0 for a finished entry)."""
    return int(outcome.removeprefix(UNFINISHED) or 1) if outcome.startswith(UNFINISHED) else 0


def _mark_seen(conn: Connection, feed_id: str, key: str, outcome: str, article_id: str | None, now: datetime) -> None:
    """Set the entry's seen mark (insert it, or replace an earlier "unfinished" mark)."""
    done = conn.execute(update(seen_entries).where(
        seen_entries.c.feed_id == feed_id, seen_entries.c.entry_key == key,
    ).values(outcome=outcome[:32], article_id=article_id, seen_at=now))
    if not done.rowcount:
        insert_ignore(conn, seen_entries, {"feed_id": feed_id, "entry_key": key, "outcome": outcome[:32],
                                           "article_id": article_id, "seen_at": now})


def _article_exists(conn: Connection, article_id: str) -> bool:
    return conn.execute(select(articles.c.id).where(articles.c.id == article_id)).first() is not None


def _skipped(reason: SkipReason) -> tuple[EntryOutcome, str, None]:
    return EntryOutcome.SKIPPED, f"{EntryOutcome.SKIPPED}:{reason}", None


class _Poller:
    """Polls a batch of feeds with one HTTP client and one DB engine."""

    def __init__(self, settings: Settings, engine: Engine, client: SafeClient, pack: TopicPack, counts: Counts,
                 progress: Progress | None) -> None:
        self.settings, self.engine, self.client, self.pack = settings, engine, client, pack
        self.counts, self.progress = counts, progress

    def poll(self, feed: Feed, now: datetime) -> None:
        """Poll one feed and save its state. Whatever goes wrong with this feed is this feed's failure."""
        with self.engine.connect() as conn:
            state = load_feed_state(conn, feed.id)
        try:
            new_state = self._poll(feed, state, now)
        except (SQLAlchemyError, StoreUnavailable):
            raise  # the state DB is infrastructure: the task fails and Airflow retries it
        except Exception as exc:
            # One feed's failure never stops the others: it is counted, backs off, and the batch goes on.
            log.exception("polling feed %s failed", feed.id)
            reason = f"polling crashed ({type(exc).__name__}: {str(exc)[:200]}); see the task log"
            self.counts.add(Count.FEEDS_FAILED)
            self.counts.skip(SkipReason.FEED_CRASHED, detail=f"feed {feed.id}: {reason}")
            new_state = record_failure(self.client, feed, state, now, reason)
        with self.engine.begin() as conn:
            save_feed_state(conn, new_state)
        if self.progress:
            self.progress("feed", 1)

    def _poll(self, feed: Feed, state: FeedState | None, now: datetime) -> FeedState:
        result = poll_feed(self.client, feed, state, now)
        if result.outcome == PollOutcome.FAILED:
            self._count_failure(feed, result)
            return result.state
        self.counts.add(_POLL_COUNTS[result.outcome])
        if result.moved_to:
            log.info("feed %s moved permanently to %s", feed.id, result.moved_to)
        if result.error:  # gone or disabled: the reason names the URL and what to do
            log.warning("feed %s: %s", feed.id, result.error)
            self.counts.example(str(_POLL_COUNTS[result.outcome]), f"feed {feed.id}: {result.error}")
        if result.parsed is None:
            return result.state
        return self._ingest_parsed(feed, result.parsed, result.state, now)

    def _count_failure(self, feed: Feed, result: PollResult) -> None:
        self.counts.add(Count.FEEDS_FAILED)
        detail = f"feed {feed.id}: {result.error}"
        if isinstance(result.failure, FeedFailure):
            self.counts.skip(SkipReason.FEED_UNPARSEABLE, result.failure, detail=detail)
        else:
            self.counts.skip(SkipReason.FEED_FETCH_FAILED, result.failure or FetchFailure.OTHER, detail=detail)

    def _ingest_parsed(self, feed: Feed, parsed: ParsedFeed, state: FeedState, now: datetime) -> FeedState:
        """Ingest the entries not seen before, at most `max_entries_per_poll`; returns the state to save."""
        if parsed.items_not_read:
            self.counts.add(Count.ENTRIES_NOT_READ, parsed.items_not_read)
        fresh = self._unseen(feed, parsed.entries)
        todo = fresh[: self.settings.max_entries_per_poll]
        outcomes = [self.ingest_entry(feed, entry, now) for entry in todo]
        new_state = record_new_items(state, sum(o is not None and o != EntryOutcome.RETRY for o in outcomes), now,
                                     client=self.client)
        deferred = len(fresh) - len(todo)
        if deferred:
            self.counts.add(Count.ENTRIES_DEFERRED, deferred)
        if deferred or EntryOutcome.RETRY in outcomes:
            # Entries past the cap and entries whose page failed for a passing reason are not marked seen;
            # dropping the validators and body hash makes the next poll parse the feed again even if it
            # has not changed, and the seen marks then leave exactly those entries to process.
            new_state = forget_validators(new_state)
        return new_state

    def _unseen(self, feed: Feed, entries: tuple[FeedEntry, ...]) -> list[FeedEntry]:
        """The entries still to process, in feed order: never seen, or left unfinished fewer than
        MAX_PROCESSING_ATTEMPTS times (those left unfinished more often become counted skips)."""
        keys = [_entry_key(entry) for entry in entries]
        seen: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), SEEN_LOOKUP_CHUNK):
                chunk = keys[start:start + SEEN_LOOKUP_CHUNK]
                rows = conn.execute(select(seen_entries.c.entry_key, seen_entries.c.outcome).where(
                    seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key.in_(chunk)))
                seen.update((row.entry_key, row.outcome) for row in rows)
        given_up = sorted(key for key, outcome in seen.items() if _attempts(outcome) >= MAX_PROCESSING_ATTEMPTS)
        if given_up:
            with self.engine.begin() as conn:
                conn.execute(update(seen_entries).where(
                    seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key.in_(given_up),
                ).values(outcome=f"{EntryOutcome.SKIPPED}:{SkipReason.PAGE_UNFINISHED}"))
            for _ in given_up:
                self.counts.skip(SkipReason.PAGE_UNFINISHED,
                                 detail=f"feed {feed.id}: page processing was stopped (worker timeout or kill) "
                                        f"{MAX_PROCESSING_ATTEMPTS} times; not tried again")
        return [entry for entry, key in zip(entries, keys, strict=True)
                if key not in seen or 0 < _attempts(seen[key]) < MAX_PROCESSING_ATTEMPTS]

    def ingest_entry(self, feed: Feed, entry: FeedEntry, now: datetime) -> EntryOutcome | None:
        """Handle one feed entry; None when it was seen already. A RETRY entry is not marked seen; every
        other outcome (staged, a duplicate, or skipped for good) is."""
        key = _entry_key(entry)
        with self.engine.connect() as conn:
            mark = conn.execute(select(seen_entries.c.outcome).where(
                seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key == key)).scalar_one_or_none()
        if mark is not None and not mark.startswith(UNFINISHED):
            return None
        self.counts.add(Count.ENTRIES_NEW)
        outcome, stored, article_id = self._stage(feed, entry, key, _attempts(mark or "") + 1, now)
        if outcome != EntryOutcome.RETRY:
            with self.engine.begin() as conn:
                _mark_seen(conn, feed.id, key, stored, article_id, now)
        return outcome

    def _stage(self, feed: Feed, entry: FeedEntry, key: str, attempt: int,
               now: datetime) -> tuple[EntryOutcome, str, str | None]:
        """(outcome, the seen mark to store, article id) for one new entry."""
        if not entry.link:
            self.counts.skip(SkipReason.ENTRY_NO_LINK, detail=f"feed {feed.id}: entry {entry.entry_id[:200]!r}")
            return _skipped(SkipReason.ENTRY_NO_LINK)
        try:
            entry_id = article_id(canonical_url(entry.link))
        except (UrlError, ValueError) as exc:  # mailto:, hostless, port 99999 or otherwise unusable link
            self.counts.skip(SkipReason.ENTRY_BAD_LINK, detail=f"feed {feed.id}: {entry.link[:200]}: {exc}")
            return _skipped(SkipReason.ENTRY_BAD_LINK)
        with self.engine.connect() as conn:
            if _article_exists(conn, entry_id):
                self.counts.add(Count.DUPLICATES_URL)
                return EntryOutcome.DUPLICATE, str(EntryOutcome.DUPLICATE), entry_id
        try:
            page: Page = self.client.fetch(entry.link, kind="page", user_agent=page_user_agent(feed, entry.link))
        except FetchError as exc:
            detail = f"feed {feed.id}: {exc.reason}"
            if exc.retryable:
                self.counts.add(Count.PAGES_RETRY_LATER)
                self.counts.skip(SkipReason.PAGE_RETRY_LATER, exc.category, detail=detail)
                return EntryOutcome.RETRY, str(EntryOutcome.RETRY), None
            self.counts.skip(SkipReason.PAGE_FETCH_FAILED, exc.category, detail=detail)
            return _skipped(SkipReason.PAGE_FETCH_FAILED)
        self.counts.add(Count.PAGES_FETCHED)
        with self.engine.begin() as conn:
            _mark_seen(conn, feed.id, key, f"{UNFINISHED}{attempt}", None, now)
        return self._process(feed, entry, page, now)

    def _process(self, feed: Feed, entry: FeedEntry, page: Page, now: datetime) -> tuple[EntryOutcome, str, str | None]:
        """Extract and enrich a fetched page, then stage the article."""
        where = f"feed {feed.id}: {page.final_url}"
        try:
            with cpu_deadline(PAGE_PROCESSING_CPU_S):
                extracted = extract_article(page.body, page.final_url, entry=entry, headers=page.headers)
                article = self._enrich(feed, entry, page, extracted)
        except ExtractionSkip as exc:
            self.counts.skip(SkipReason.EXTRACTION, exc.category, detail=f"{where}: {exc.reason} {exc.detail}".strip())
            return _skipped(SkipReason.EXTRACTION)
        except CpuDeadlineExceeded as exc:
            self.counts.skip(SkipReason.PAGE_TOO_SLOW, detail=f"{where}: took {exc} (limit {PAGE_PROCESSING_CPU_S:g} s)")
            return _skipped(SkipReason.PAGE_TOO_SLOW)
        except Exception as exc:  # a page that crashes a library is a bad item, not a reason to stop the feed
            log.exception("processing %s from feed %s failed", page.final_url, feed.id)
            self.counts.skip(SkipReason.PAGE_CRASHED, detail=f"{where}: {type(exc).__name__}; see the task log")
            return _skipped(SkipReason.PAGE_CRASHED)
        with self.engine.begin() as conn:
            created = insert_ignore(conn, articles, _article_row(article, feed, now))
        if not created:
            self.counts.add(Count.DUPLICATES_URL)
            return EntryOutcome.DUPLICATE, str(EntryOutcome.DUPLICATE), article.id
        self.counts.add(Count.STAGED)
        return EntryOutcome.STAGED, str(EntryOutcome.STAGED), article.id

    def _enrich(self, feed: Feed, entry: FeedEntry, page: Page, extracted: Extracted) -> Article:
        canonical = canonical_url(page.final_url, page_canonical=extracted.canonical_url)
        # Feed entries reach here without extraction's clean-up of summary and authors; cleaning is idempotent.
        title = clean_title(extracted.title or entry.title) or ""
        language = extracted.language or entry.language or detect_language(f"{title}\n{extracted.text}", hint=feed.language)
        topic = tag(self.pack, title, extracted.text, language)
        return Article(
            id=article_id(canonical),
            url=page.final_url,
            canonical_url=canonical,
            source=feed.id,
            source_affiliation=feed.affiliation,
            source_country=feed.country,
            feed_url=feed.url,
            title=title,
            text=extracted.text,
            summary=clean_summary(extracted.summary or entry.summary),
            authors=clean_names(extracted.authors or entry.authors),
            published_at=extracted.published_at or entry.published_at,
            modified_at=extracted.modified_at,
            fetched_at=page.fetched_at,
            language=language,
            site_name=clean_name(extracted.site_name, MAX_SITE_NAME_CHARS),
            image=extracted.image,
            content_hash=content_hash(extracted.text),
            topic=topic,
            entities=topic.entities,
        )


def _article_row(article: Article, feed: Feed, now: datetime) -> dict:
    return {
        "id": article.id,
        "canonical_url": article.canonical_url,
        "feed_id": feed.id,
        "source": article.source,
        "content_hash": article.content_hash,
        "published_at": article.published_at,
        "staged_at": now,
        "status": "staged",
        "alerted": False,
        "doc": article_to_document(article),
    }


def load_pack(settings: Settings) -> TopicPack:
    """The configured topic pack (NEWSMON_TOPIC), read from config/topics/<id>.yaml; no other pack is loaded."""
    for suffix in (".yaml", ".yml"):
        path = settings.topics_dir / f"{settings.topic}{suffix}"
        if path.is_file():
            break
    else:
        names = ", ".join(sorted(p.stem for p in settings.topics_dir.glob("*.y*ml"))) or "none"
        raise ConfigError(f"topic pack {settings.topic!r} (NEWSMON_TOPIC) is not in {settings.topics_dir}: "
                          f"expected {settings.topic}.yaml; packs there: {names}")
    pack = load_topic_pack(path)
    if pack.name != settings.topic:
        raise ConfigError(f"{path} has topic id {pack.name!r}, but NEWSMON_TOPIC is {settings.topic!r}: "
                          "give the file its topic id as name, or set NEWSMON_TOPIC to the id")
    return pack


def poll_feeds(settings: Settings, feed_ids: Iterable[str], now: datetime | None = None,
               progress: Progress | None = None) -> dict:
    """Poll the given feeds: fetch, parse, fetch new pages, extract, enrich, stage. Returns counts."""
    now = now or utcnow()
    with recorded(settings, Stage.POLL) as counts:
        wanted = set(feed_ids)
        feeds = [f for f in load_feeds(settings.feeds_file) if f.id in wanted]
        for feed_id in sorted(wanted - {f.id for f in feeds}):
            counts.skip(SkipReason.FEED_UNKNOWN, detail=f"feed {feed_id}: not in {settings.feeds_file}")
        engine = open_engine(settings.database_url)
        pack = load_pack(settings)
        with SafeClient(settings) as client:
            poller = _Poller(settings, engine, client, pack, counts, progress)
            for feed in feeds:
                poller.poll(feed, now)
        return counts.as_dict()
