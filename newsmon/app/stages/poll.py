"""Poll: a batch of feeds, their new entries' pages fetched, extracted, enriched and staged in the state DB."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from newsmon.app.stages.counts import Counts, recorded, utcnow
from newsmon.app.stages.page_pool import PagePools
from newsmon.app.stages.page_work import PAGE_PROCESSING_CPU_S
from newsmon.app.stages.poll_pages import MAX_PROCESSING_ATTEMPTS, BatchPages, FeedWork, attempts, entry_key
from newsmon.core.config import ConfigError, load_feeds
from newsmon.core.outcomes import Count, EntryOutcome, FeedFailure, FetchFailure, PollOutcome, SkipReason, Stage
from newsmon.core.records import Feed, FeedEntry, FeedState
from newsmon.core.settings import Settings
from newsmon.enrich.topic import TopicPack
from newsmon.ingest.http import SafeClient
from newsmon.ingest.poll import PollResult, forget_validators, poll_feed, record_failure, record_new_items
from newsmon.store.db import StoreUnavailable, open_engine
from newsmon.store.feedstate import load_feed_state, save_feed_state
from newsmon.store.pack_cache import cached_topic_pack
from newsmon.store.schema import seen_entries

log = logging.getLogger("newsmon.stages.poll")

Progress = Callable[[str, int], None]  # (event, amount): "feed" done

__all__ = ["MAX_PROCESSING_ATTEMPTS", "PAGE_PROCESSING_CPU_S", "Progress", "load_pack", "poll_feeds"]

# Where under the state directory the compiled topic pack is kept.
PACK_CACHE_DIR = "cache"
# Seen-entry lookups go to the DB in chunks of this many keys (well under SQLite's bound-variable limit).
SEEN_LOOKUP_CHUNK = 500
# What each successful poll outcome is counted as (a failed poll is counted where it is handled).
_POLL_COUNTS = {
    PollOutcome.FETCHED: Count.FEEDS_POLLED,
    PollOutcome.NOT_MODIFIED: Count.FEEDS_UNCHANGED,
    PollOutcome.SAME_BODY: Count.FEEDS_UNCHANGED,
    PollOutcome.MOVED: Count.FEEDS_MOVED,
    PollOutcome.GONE: Count.FEEDS_GONE,
    PollOutcome.DISABLED: Count.FEEDS_DISABLED,
}


class _Poller:
    """Polls a batch of feeds with one HTTP client and one DB engine: first every feed, then all their pages."""

    def __init__(self, settings: Settings, engine: Engine, client: SafeClient, counts: Counts,
                 progress: Progress | None, now: datetime, pools: PagePools) -> None:
        self.settings, self.engine, self.client = settings, engine, client
        self.counts, self.progress, self.now, self.pools = counts, progress, now, pools
        self.pages = BatchPages(engine, client, counts, now, self._feed_done)

    def poll(self, feed: Feed) -> None:
        """Poll one feed and queue its new entries. Whatever goes wrong with this feed is this feed's failure."""
        with self.engine.connect() as conn:
            state = load_feed_state(conn, feed.id)
        try:
            self._poll(feed, state)
        except (SQLAlchemyError, StoreUnavailable):
            raise  # the state DB is infrastructure: the task fails and Airflow retries it
        except Exception as exc:
            # One feed's failure never stops the others: it is counted, backs off, and the batch goes on.
            log.exception("polling feed %s failed", feed.id)
            reason = f"polling crashed ({type(exc).__name__}: {str(exc)[:200]}); see the task log"
            self.counts.add(Count.FEEDS_FAILED)
            self.counts.skip(SkipReason.FEED_CRASHED, detail=f"feed {feed.id}: {reason}")
            self._save(record_failure(self.client, feed, state, self.now, reason))

    def _poll(self, feed: Feed, state: FeedState | None) -> None:
        result = poll_feed(self.client, feed, state, self.now)
        if result.outcome == PollOutcome.FAILED:
            self._count_failure(feed, result)
            self._save(result.state)
            return
        self.counts.add(_POLL_COUNTS[result.outcome])
        if result.moved_to:
            log.info("feed %s moved permanently to %s", feed.id, result.moved_to)
        if result.error:  # gone or disabled: the reason names the URL and what to do
            log.warning("feed %s: %s", feed.id, result.error)
            self.counts.example(str(_POLL_COUNTS[result.outcome]), f"feed {feed.id}: {result.error}")
        if result.parsed is None:
            self._save(result.state)
            return
        parsed = result.parsed
        if parsed.items_not_read:
            self.counts.add(Count.ENTRIES_NOT_READ, parsed.items_not_read)
        fresh = self._unseen(feed, parsed.entries)
        todo = fresh[: self.settings.max_entries_per_poll]
        state = result.state
        deferred = len(fresh) - len(todo)
        if deferred:
            self.counts.add(Count.ENTRIES_DEFERRED, deferred)
            # Entries past the cap are not marked seen; dropping the validators and body hash makes the next
            # poll parse the feed again even if it has not changed, and the marks leave exactly those to do.
            state = forget_validators(state)
        self.pages.add(FeedWork(feed, state), todo)
        self.pools.expect(len(self.pages.queue))

    def _feed_done(self, work: FeedWork) -> None:
        """Every entry of the feed has its outcome: teach the interval, then save the state."""
        outcomes = work.outcomes
        state = record_new_items(work.state, sum(o != EntryOutcome.RETRY for o in outcomes), self.now,
                                 client=self.client)
        if EntryOutcome.RETRY in outcomes:  # pages that failed for a passing reason: read the feed again next time
            state = forget_validators(state)
        self._save(state)

    def _save(self, state: FeedState) -> None:
        with self.engine.begin() as conn:
            save_feed_state(conn, state)
        if self.progress:
            self.progress("feed", 1)

    def _count_failure(self, feed: Feed, result: PollResult) -> None:
        self.counts.add(Count.FEEDS_FAILED)
        detail = f"feed {feed.id}: {result.error}"
        if isinstance(result.failure, FeedFailure):
            self.counts.skip(SkipReason.FEED_UNPARSEABLE, result.failure, detail=detail)
        else:
            self.counts.skip(SkipReason.FEED_FETCH_FAILED, result.failure or FetchFailure.OTHER, detail=detail)

    def _unseen(self, feed: Feed, entries: tuple[FeedEntry, ...]) -> list[tuple[FeedEntry, str, int]]:
        """(entry, key, attempts made) of the entries still to process, in feed order, each key once: never
        seen, or left unfinished fewer than MAX_PROCESSING_ATTEMPTS times (those left unfinished more often
        become counted skips)."""
        keys = [entry_key(entry) for entry in entries]
        seen: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), SEEN_LOOKUP_CHUNK):
                chunk = keys[start:start + SEEN_LOOKUP_CHUNK]
                rows = conn.execute(select(seen_entries.c.entry_key, seen_entries.c.outcome).where(
                    seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key.in_(chunk)))
                seen.update((row.entry_key, row.outcome) for row in rows)
        given_up = sorted(key for key, outcome in seen.items() if attempts(outcome) >= MAX_PROCESSING_ATTEMPTS)
        if given_up:
            with self.engine.begin() as conn:
                conn.execute(update(seen_entries).where(
                    seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key.in_(given_up),
                ).values(outcome=f"{EntryOutcome.SKIPPED}:{SkipReason.PAGE_UNFINISHED}"))
            for _ in given_up:
                self.counts.skip(SkipReason.PAGE_UNFINISHED,
                                 detail=f"feed {feed.id}: page processing was stopped (worker timeout or kill) "
                                        f"{MAX_PROCESSING_ATTEMPTS} times; not tried again")
        todo: dict[str, tuple[FeedEntry, str, int]] = {}
        for entry, key in zip(entries, keys, strict=True):
            made = attempts(seen.get(key, ""))
            if key not in todo and (key not in seen or 0 < made < MAX_PROCESSING_ATTEMPTS):
                todo[key] = (entry, key, made)
        return list(todo.values())


def load_pack(settings: Settings) -> TopicPack:
    """The configured topic pack (NEWSMON_TOPIC), read from config/topics/<id>.yaml; no other pack is loaded.

    Compiled once and kept as a pickle under <state dir>/cache/ (store/pack_cache.py): a poll task then
    loads it in about a tenth of the time, until the file or newsmon's code changes.
    """
    for suffix in (".yaml", ".yml"):
        path = settings.topics_dir / f"{settings.topic}{suffix}"
        if path.is_file():
            break
    else:
        names = ", ".join(sorted(p.stem for p in settings.topics_dir.glob("*.y*ml"))) or "none"
        raise ConfigError(f"topic pack {settings.topic!r} (NEWSMON_TOPIC) is not in {settings.topics_dir}: "
                          f"expected {settings.topic}.yaml; packs there: {names}")
    pack = cached_topic_pack(path, settings.state_path / PACK_CACHE_DIR)
    if pack.name != settings.topic:
        raise ConfigError(f"{path} has topic id {pack.name!r}, but NEWSMON_TOPIC is {settings.topic!r}: "
                          "give the file its topic id as name, or set NEWSMON_TOPIC to the id")
    return pack


def poll_feeds(settings: Settings, feed_ids: Iterable[str], now: datetime | None = None,
               progress: Progress | None = None, *, pools: PagePools | None = None) -> dict:
    """Poll the given feeds: fetch, parse, fetch new pages, extract, enrich, stage. Returns counts.

    Pages are processed in worker processes when there are enough of them (page_pool.py); `pools` lets
    several calls (the batches of `newsmon run`) share one set of workers.
    """
    now = now or utcnow()
    with recorded(settings, Stage.POLL) as counts:
        wanted = set(feed_ids)
        feeds = [f for f in load_feeds(settings.feeds_file) if f.id in wanted]
        for feed_id in sorted(wanted - {f.id for f in feeds}):
            counts.skip(SkipReason.FEED_UNKNOWN, detail=f"feed {feed_id}: not in {settings.feeds_file}")
        engine = open_engine(settings.database_url)
        pack = load_pack(settings)
        with SafeClient(settings) as client, (PagePools(settings) if pools is None else nullcontext(pools)) as used:
            poller = _Poller(settings, engine, client, counts, progress, now, used)
            for feed in feeds:
                poller.poll(feed)
            poller.pages.run(used.for_pages(len(poller.pages.queue), pack))
        return counts.as_dict()

