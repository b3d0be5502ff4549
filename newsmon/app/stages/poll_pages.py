"""The new entries of one poll batch: pages fetched under the host limits, marked, processed on every core, staged.

Per page: the entry's link is checked and looked up (one query per feed), the page is fetched by one of a
few fetch threads (the per-host limiter spaces them, so the waits of different hosts overlap), the entry
is marked "unfinished:<attempt>" in the state DB, and only then is the page handed to the page pool
(page_pool.py); its result is staged with the entry's final mark. Marks and results are written for all
pages that reached that point together, in one transaction. A feed's state (validators, interval) is
saved only when every one of its entries has its outcome, so a task killed in the middle re-reads the
feed and finds exactly the entries still to do.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from newsmon.app.stages.counts import Counts
from newsmon.app.stages.index import staged_extras
from newsmon.app.stages.page_pool import Finished, InlinePages, WorkerPages
from newsmon.app.stages.page_work import PageDone, PageJob
from newsmon.core.documents import article_to_document
from newsmon.core.outcomes import Count, EntryOutcome, SkipReason
from newsmon.core.records import Article, Feed, FeedEntry, FeedState, Page
from newsmon.enrich.story_signals import StorySignals
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.ingest.limiter import host_key
from newsmon.ingest.poll import page_user_agent
from newsmon.ingest.urls import UrlError, article_id, canonical_url
from newsmon.store.db import insert_ignore, insert_ignore_many, insert_ignore_returning
from newsmon.store.schema import articles, seen_entries

log = logging.getLogger("newsmon.stages.poll")

# An entry is marked seen as "unfinished:<attempt>" once its page is fetched, before processing starts,
# and gets its real outcome when processing ends. If the task is stopped while the page is processed (a
# task timeout, a kill), the mark stays: the next poll tries the entry once more (the stop may have been a
# database outage) and after MAX_PROCESSING_ATTEMPTS counts it as a skip, so a page that hangs or kills
# the extractor cannot stall every run. Pages waiting in the worker pool share that mark: a kill costs
# each of them (a few per worker) one attempt.
UNFINISHED = "unfinished:"
MAX_PROCESSING_ATTEMPTS = 2
# Pages fetched at once. Each fetch waits for its host's turn, so several threads let the waits of
# different hosts overlap; per host, the limiter's concurrency and spacing still hold.
FETCH_THREADS = 4
# Fetched pages waiting for a worker, per worker (bodies are in memory until processed).
READY_PER_WORKER = 2


def entry_key(entry: FeedEntry) -> str:
    return hashlib.sha256(entry.entry_id.encode("utf-8")).hexdigest()[:32]


def attempts(outcome: str) -> int:
    """How many processing attempts an "unfinished:<n>" mark records (0 for a finished entry)."""
    return int(outcome.removeprefix(UNFINISHED) or 1) if outcome.startswith(UNFINISHED) else 0


def mark_seen(conn: Connection, feed_id: str, key: str, outcome: str, article_id: str | None, now: datetime,
              *, exists: bool = True) -> None:
    """Set the entry's seen mark: replace its earlier ("unfinished") mark, or insert it; `exists` says which
    to try first, so the usual case is one statement."""
    values = {"outcome": outcome[:32], "article_id": article_id, "seen_at": now}
    if not exists and insert_ignore(conn, seen_entries, {"feed_id": feed_id, "entry_key": key, **values}):
        return
    done = conn.execute(update(seen_entries).where(
        seen_entries.c.feed_id == feed_id, seen_entries.c.entry_key == key).values(**values))
    if not done.rowcount:
        insert_ignore(conn, seen_entries, {"feed_id": feed_id, "entry_key": key, **values})


@dataclass(frozen=True)
class Mark:
    """One seen mark to set: `exists` says whether the entry has a mark already (to replace) or not (to insert)."""

    feed_id: str
    key: str
    outcome: str
    article_id: str | None
    exists: bool


_STORED_IDS = select(articles.c.id).where(articles.c.id.in_(bindparam("ids", expanding=True)))
_REPLACE_MARK = update(seen_entries).where(
    seen_entries.c.feed_id == bindparam("b_feed_id"), seen_entries.c.entry_key == bindparam("b_key"),
).values(outcome=bindparam("b_outcome"), article_id=bindparam("b_article_id"), seen_at=bindparam("b_seen_at"))


def mark_seen_many(conn: Connection, marks: list[Mark], now: datetime) -> None:
    """Set many seen marks with one statement for the replacements and one for the new marks; when a driver's
    rowcount says that a guess was wrong (a mark missing or already there), each mark of that kind is set
    again one by one, which is idempotent."""
    replace = [m for m in marks if m.exists]
    if replace:
        done = conn.execute(_REPLACE_MARK, [{"b_feed_id": m.feed_id, "b_key": m.key, "b_outcome": m.outcome[:32],
                                            "b_article_id": m.article_id, "b_seen_at": now} for m in replace])
        if done.rowcount != len(replace):
            for m in replace:
                mark_seen(conn, m.feed_id, m.key, m.outcome, m.article_id, now)
    new = [m for m in marks if not m.exists]
    rows = [{"feed_id": m.feed_id, "entry_key": m.key, "outcome": m.outcome[:32], "article_id": m.article_id,
             "seen_at": now} for m in new]
    if new and insert_ignore_many(conn, seen_entries, rows) != len(new):
        for m in new:
            mark_seen(conn, m.feed_id, m.key, m.outcome, m.article_id, now)


@dataclass
class FeedWork:
    """One feed of the batch whose entries are in progress; `open` of them have no outcome yet."""

    feed: Feed
    state: FeedState
    open: int = 0
    outcomes: list[EntryOutcome] = field(default_factory=list)


@dataclass(eq=False)
class PageItem:
    """One new entry on its way: `attempt` is the processing attempt this poll makes (1 for a new entry)."""

    work: FeedWork
    entry: FeedEntry
    key: str
    attempt: int
    article_id: str = ""
    page: Page | None = None

    @property
    def has_mark(self) -> bool:
        """Whether the entry has a seen mark already: an "unfinished" one from this poll or an earlier one."""
        return self.attempt > 1 or self.page is not None


@dataclass
class _Settled:
    item: PageItem
    outcome: EntryOutcome
    stored: str  # the seen mark; RETRY entries get none
    article_id: str | None
    article: Article | None = None  # to stage: the outcome becomes DUPLICATE if the id is already there
    signals: StorySignals | None = None


def _skipped(item: PageItem, reason: SkipReason) -> _Settled:
    return _Settled(item, EntryOutcome.SKIPPED, f"{EntryOutcome.SKIPPED}:{reason}", None)


def _host(link: str) -> str:
    try:
        return host_key(link)
    except Exception:  # the fetch itself reports what is wrong with the link
        return ""


def interleaved(items: Iterable[PageItem]) -> list[PageItem]:
    """The items round-robin by host (feed order within a host), so fetch threads wait on different hosts."""
    by_host: dict[str, deque[PageItem]] = {}
    for item in items:
        by_host.setdefault(_host(item.entry.link or ""), deque()).append(item)
    order: list[PageItem] = []
    while by_host:
        for host in list(by_host):
            order.append(by_host[host].popleft())
            if not by_host[host]:
                del by_host[host]
    return order


class BatchPages:
    """The new entries of a batch's feeds, from link check to staged article; `on_feed_done(work)` is called
    once all entries of a feed have their outcome (their marks committed)."""

    def __init__(self, engine: Engine, client: SafeClient, counts: Counts, now: datetime,
                 on_feed_done: Callable[[FeedWork], None]) -> None:
        self.engine, self.client, self.counts, self.now = engine, client, counts, now
        self.on_feed_done = on_feed_done
        self.queue: deque[PageItem] = deque()
        self._settled: list[_Settled] = []
        self._retry_alone: list[PageItem] = []
        self._claimed: dict[str, PageItem] = {}  # article id → the item fetching or processing it
        self._waiting: dict[str, list[PageItem]] = {}  # article id → later entries with the same link
        self._in_pool: dict[int, PageItem] = {}
        self._keys = itertools.count()

    # ------------------------------------------------------------------ entries in

    def add(self, work: FeedWork, entries: list[tuple[FeedEntry, str, int]]) -> None:
        """Queue a feed's new entries ((entry, key, attempts already made)); settle those that need no fetch."""
        work.open += len(entries)
        candidates: list[PageItem] = []
        for entry, key, made in entries:
            self.counts.add(Count.ENTRIES_NEW)
            item = PageItem(work, entry, key, made + 1)
            if not entry.link:
                self.counts.skip(SkipReason.ENTRY_NO_LINK, detail=f"feed {work.feed.id}: entry {entry.entry_id[:200]!r}")
                self._settled.append(_skipped(item, SkipReason.ENTRY_NO_LINK))
                continue
            try:
                item.article_id = article_id(canonical_url(entry.link))
            except (UrlError, ValueError) as exc:  # mailto:, hostless, port 99999 or otherwise unusable link
                self.counts.skip(SkipReason.ENTRY_BAD_LINK, detail=f"feed {work.feed.id}: {entry.link[:200]}: {exc}")
                self._settled.append(_skipped(item, SkipReason.ENTRY_BAD_LINK))
                continue
            candidates.append(item)
        self._queue_unless_stored(candidates)
        if work.open == 0:
            self.on_feed_done(work)
        self._flush()

    def _queue_unless_stored(self, items: list[PageItem], *, front: bool = False) -> None:
        stored = self._stored_ids({item.article_id for item in items})
        for item in reversed(items) if front else items:
            if item.article_id in stored:
                self.counts.add(Count.DUPLICATES_URL)
                self._settled.append(_Settled(item, EntryOutcome.DUPLICATE, str(EntryOutcome.DUPLICATE), item.article_id))
            elif front:
                self.queue.appendleft(item)
            else:
                self.queue.append(item)

    def _stored_ids(self, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(_STORED_IDS, {"ids": sorted(ids)}).scalars())

    # ------------------------------------------------------------------ the loop

    def run(self, pool: InlinePages | WorkerPages) -> None:
        """Fetch, process and stage every queued page."""
        self.queue = deque(interleaved(self.queue))
        fetching: dict[Future, PageItem] = {}
        ready: deque[PageItem] = deque()
        backlog = max(FETCH_THREADS, pool.workers * READY_PER_WORKER)
        fetchers = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="newsmon-fetch")
        try:
            while self.queue or fetching or ready or pool.pending():
                self._start_fetches(fetchers, fetching, len(ready) + pool.pending() < backlog)
                self._hand_over(ready, pool)
                finished = pool.collect()
                if finished:
                    self._finish(finished, pool)
                    continue
                waitables = set(fetching) | set(pool.futures())
                if not waitables:
                    continue  # the inline pool processed the handed-over pages: collect them
                done, _ = wait(waitables, timeout=pool.wait_s(), return_when=FIRST_COMPLETED)
                for future in [f for f in done if f in fetching]:
                    self._fetched(fetching.pop(future), future, ready)
                self._flush()
            self._flush()
        finally:
            fetchers.shutdown(wait=True, cancel_futures=True)

    def _start_fetches(self, fetchers: ThreadPoolExecutor, fetching: dict[Future, PageItem], room: bool) -> None:
        while room and self.queue and len(fetching) < FETCH_THREADS:
            item = self.queue.popleft()
            if item.article_id in self._claimed:  # the same link from another feed: wait for its outcome
                self._waiting.setdefault(item.article_id, []).append(item)
                continue
            self._claimed[item.article_id] = item
            fetching[fetchers.submit(self._fetch, item)] = item

    def _fetch(self, item: PageItem) -> Page:  # in a fetch thread
        link = item.entry.link or ""
        return self.client.fetch(link, kind="page", user_agent=page_user_agent(item.work.feed, link))

    def _fetched(self, item: PageItem, future: Future, ready: deque[PageItem]) -> None:
        feed_id = item.work.feed.id
        try:
            item.page = future.result()
        except FetchError as exc:
            detail = f"feed {feed_id}: {exc.reason}"
            if exc.retryable:
                self.counts.add(Count.PAGES_RETRY_LATER)
                self.counts.skip(SkipReason.PAGE_RETRY_LATER, exc.category, detail=detail)
                self._settled.append(_Settled(item, EntryOutcome.RETRY, str(EntryOutcome.RETRY), None))
            else:
                self.counts.skip(SkipReason.PAGE_FETCH_FAILED, exc.category, detail=detail)
                self._settled.append(_skipped(item, SkipReason.PAGE_FETCH_FAILED))
            return
        except Exception as exc:  # a bug on one page's fetch path is that page's skip, not the batch's end
            log.exception("fetching %s for feed %s failed", item.entry.link, feed_id)
            self.counts.skip(SkipReason.PAGE_CRASHED, detail=f"feed {feed_id}: {item.entry.link}: "
                                                             f"{type(exc).__name__} while fetching; see the task log")
            self._settled.append(_skipped(item, SkipReason.PAGE_CRASHED))
            return
        self.counts.add(Count.PAGES_FETCHED)
        ready.append(item)

    def _hand_over(self, ready: deque[PageItem], pool: InlinePages | WorkerPages) -> None:
        """Write what is settled and mark the pages the pool has room for unfinished, in one commit (one per
        turn of the loop instead of two), then hand those pages over."""
        # In-process, one page at a time: a kill then costs an attempt only to the page being processed.
        room = 1 if isinstance(pool, InlinePages) else pool.room()
        batch = [ready.popleft() for _ in range(min(room, len(ready)))]
        if batch:
            settled, self._settled = self._settled, []
            with self.engine.begin() as conn:
                self._write(conn, settled)
                mark_seen_many(conn, [Mark(item.work.feed.id, item.key, f"{UNFINISHED}{item.attempt}", None,
                                           item.attempt > 1) for item in batch], self.now)
            self._after(settled)
        self._flush()
        for item in batch:
            self._submit(item, pool, alone=False)

    def _submit(self, item: PageItem, pool: InlinePages | WorkerPages, *, alone: bool) -> None:
        key = next(self._keys)
        self._in_pool[key] = item
        assert item.page is not None
        pool.submit(key, PageJob(item.work.feed, item.entry, item.page), alone=alone)

    def _finish(self, finished: list[Finished], pool: InlinePages | WorkerPages) -> None:
        for result in finished:
            item = self._in_pool.pop(result.key)
            if result.done is None:
                self._stopped(item)
            else:
                self._processed(item, result.done)
        retry, self._retry_alone = self._retry_alone, []
        if not retry:
            return  # the results are written with the next hand-over
        with self.engine.begin() as conn:  # a new attempt is recorded before it is made
            mark_seen_many(conn, [Mark(item.work.feed.id, item.key, f"{UNFINISHED}{item.attempt}", None, True)
                                  for item in retry], self.now)
        self._flush()
        for item in retry:
            self._submit(item, pool, alone=True)

    def _stopped(self, item: PageItem) -> None:
        """The page's worker died or hung: one more attempt, alone in the pool, unless it has had its attempts."""
        if item.attempt < MAX_PROCESSING_ATTEMPTS:
            item.attempt += 1
            self._retry_alone.append(item)
            return
        self.counts.skip(SkipReason.PAGE_UNFINISHED,
                         detail=f"feed {item.work.feed.id}: {item.entry.link}: page processing was stopped "
                                f"(worker crash or timeout) {item.attempt} times; not tried again")
        self._settled.append(_skipped(item, SkipReason.PAGE_UNFINISHED))

    def _processed(self, item: PageItem, done: PageDone) -> None:
        if done.article is not None:
            self._settled.append(_Settled(item, EntryOutcome.STAGED, str(EntryOutcome.STAGED), done.article.id,
                                          done.article, done.signals))
            return
        if done.trace:
            log.error("processing %s from feed %s failed:\n%s", item.entry.link, item.work.feed.id, done.trace)
        assert done.skip is not None
        self.counts.skip(done.skip, done.category, detail=done.detail)
        self._settled.append(_skipped(item, done.skip))

    # ------------------------------------------------------------------ outcomes out

    def _flush(self) -> None:
        """Write the settled entries (articles and marks) in one transaction, then finish what they complete."""
        while self._settled:
            settled, self._settled = self._settled, []
            with self.engine.begin() as conn:
                self._write(conn, settled)
            self._after(settled)

    def _write(self, conn: Connection, settled: list[_Settled]) -> None:
        staging = [s for s in settled if s.article is not None]
        if staging:
            self._stage(conn, staging)
        mark_seen_many(conn, [Mark(s.item.work.feed.id, s.item.key, s.stored, s.article_id, s.item.has_mark)
                              for s in settled if s.outcome != EntryOutcome.RETRY], self.now)

    def _stage(self, conn: Connection, staging: list[_Settled]) -> None:
        """Insert the articles (one statement); one whose id is already stored (by an earlier run, or by another
        poll task a moment ago) makes its entry a duplicate."""
        fresh: dict[str, _Settled] = {}
        for s in staging:
            assert s.article is not None
            if s.article.id in fresh:  # two links to one article: the first is staged
                self._duplicate(s)
            else:
                fresh[s.article.id] = s
        rows = [_article_row(s.article, s.signals, s.item.work.feed, self.now) for s in fresh.values() if s.article]
        inserted = insert_ignore_returning(conn, articles, rows, "id")
        for stored in [i for i in fresh if i not in inserted]:
            self._duplicate(fresh.pop(stored))
        if fresh:
            self.counts.add(Count.STAGED, len(fresh))

    def _duplicate(self, s: _Settled) -> None:
        self.counts.add(Count.DUPLICATES_URL)
        s.outcome, s.stored = EntryOutcome.DUPLICATE, str(EntryOutcome.DUPLICATE)

    def _after(self, settled: list[_Settled]) -> None:
        released: list[PageItem] = []
        for s in settled:
            work = s.item.work
            work.outcomes.append(s.outcome)
            work.open -= 1
            if work.open == 0:
                self.on_feed_done(work)
            if self._claimed.get(s.item.article_id) is s.item:
                del self._claimed[s.item.article_id]
                released += self._waiting.pop(s.item.article_id, [])
        if released:  # stored by now (a duplicate), or the first copy failed and this one is fetched instead
            self._queue_unless_stored(released, front=True)


def _article_row(article: Article, signals: StorySignals | None, feed: Feed, now: datetime) -> dict:
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
        "doc": {**article_to_document(article), **staged_extras(article, signals)},
    }
