"""The pipeline functions the Airflow DAG and the CLI both call: plan → poll → cluster + index → alert.

Each function opens its own clients from Settings, is idempotent, returns counts (what goes into
XCom), records skips with reasons, and raises for infrastructure failures so Airflow retries.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from newsmon.alerts.outbox import AlertDeliveryError, deliver_pending, enqueue_matches
from newsmon.core.config import ConfigError, load_alert_rules, load_feeds
from newsmon.core.documents import article_to_document, document_to_article
from newsmon.core.records import Article, Feed, FeedEntry, FeedState, Page, ParsedFeed
from newsmon.core.settings import Settings
from newsmon.core.text import MAX_SITE_NAME_CHARS, clean_name, clean_names, clean_summary, clean_title
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.enrich.lang import detect_language
from newsmon.enrich.topic import load_topic_packs, tag
from newsmon.ingest.deadline import CpuDeadlineExceeded, cpu_deadline
from newsmon.ingest.extract import ExtractionSkip, extract_article
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.ingest.poll import forget_validators, is_due, page_user_agent, poll_feed, record_failure, record_new_items
from newsmon.ingest.urls import UrlError, article_id, canonical_url
from newsmon.store.backends import open_index
from newsmon.store.clusters import assign_clusters, take_dedup_lock
from newsmon.store.db import StoreUnavailable, insert_ignore, open_engine
from newsmon.store.feedstate import all_feed_states, load_feed_state, save_feed_state
from newsmon.store.schema import articles, meta, runs, seen_entries

log = logging.getLogger("newsmon.pipeline")

Progress = Callable[[str, int], None]  # (event, amount): "feed" done, "entry" done


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Counts:
    """Outcome counters of one stage; `skipped` maps each reason to how many items it cost."""

    values: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        self.values[name] += n

    def skip(self, reason: str) -> None:
        self.values["skipped"] += 1
        self.skipped[reason] += 1

    def merge(self, other: dict) -> None:
        for k, v in other.items():
            if k == "skipped_reasons":
                self.skipped.update(v)
            else:
                self.values[k] += v

    def as_dict(self) -> dict:
        return {**dict(self.values), "skipped_reasons": dict(self.skipped)}


# ---------------------------------------------------------------- plan


def plan_feeds(settings: Settings, now: datetime | None = None, *, force: bool = False) -> list[list[str]]:
    """Ids of the feeds due now (all enabled ones with `force`), batched so that every host's feeds land in
    one batch (per-host politeness holds across parallel Airflow workers)."""
    now = now or utcnow()
    feeds = [f for f in load_feeds(settings.feeds_file) if f.enabled]
    engine = open_engine(settings.database_url)
    with engine.connect() as conn:
        states = all_feed_states(conn)
    by_host: dict[str, list[str]] = {}
    for feed in feeds:
        state = states.get(feed.id)
        # is_due also decides about disabled feeds: a feed disabled by a 410 comes back when
        # feeds.yaml gives it a new URL.
        if is_due(feed, state, now) or (force and not (state and state.disabled_reason)):
            host = urlsplit(state.url if state else feed.url).hostname or ""
            by_host.setdefault(host, []).append(feed.id)
    batches: list[list[str]] = []
    for host in sorted(by_host):
        ids = by_host[host]
        if batches and len(batches[-1]) + len(ids) <= settings.feed_batch_size:
            batches[-1].extend(ids)
        else:
            batches.append(list(ids))
    return batches


# ---------------------------------------------------------------- poll


def _entry_key(entry: FeedEntry) -> str:
    return hashlib.sha256(entry.entry_id.encode("utf-8")).hexdigest()[:32]


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


class _Poller:
    """Polls a batch of feeds with one HTTP client and one DB engine."""

    def __init__(self, settings: Settings, engine: Engine, client, packs, counts: Counts,
                 progress: Progress | None) -> None:
        self.settings, self.engine, self.client, self.packs = settings, engine, client, packs
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
            self.counts.add("feeds_failed")
            self.counts.skip(f"feed {feed.id}: {reason}")
            new_state = record_failure(self.client, feed, state, now, reason)
        with self.engine.begin() as conn:
            save_feed_state(conn, new_state)
        if self.progress:
            self.progress("feed", 1)

    def _poll(self, feed: Feed, state: FeedState | None, now: datetime) -> FeedState:
        result = poll_feed(self.client, feed, state, now)
        if result.error:
            self.counts.add("feeds_failed")
            self.counts.skip(f"feed {feed.id}: {result.error}")
            return result.state
        if result.unchanged or result.parsed is None:
            self.counts.add("feeds_unchanged")
            return result.state
        self.counts.add("feeds_polled")
        return self._ingest_parsed(feed, result.parsed, result.state, now)

    def _ingest_parsed(self, feed: Feed, parsed: ParsedFeed, state: FeedState, now: datetime) -> FeedState:
        """Ingest the entries not seen before, at most `max_entries_per_poll`; returns the state to save."""
        if parsed.items_not_read:
            self.counts.add("entries_not_read", parsed.items_not_read)
        fresh = self._unseen(feed, parsed.entries)
        todo = fresh[: self.settings.max_entries_per_poll]
        outcomes = [self.ingest_entry(feed, entry, now) for entry in todo]
        new_state = record_new_items(state, sum(o == "new" for o in outcomes), now, client=self.client)
        deferred = len(fresh) - len(todo)
        if deferred:
            self.counts.add("entries_deferred", deferred)
        if deferred or "retry" in outcomes:
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
                ).values(outcome="skipped:unfinished"))
            for _ in given_up:
                self.counts.skip(f"page processing was stopped (worker timeout or kill) {MAX_PROCESSING_ATTEMPTS} "
                                 "times; not tried again")
        return [entry for entry, key in zip(entries, keys, strict=True)
                if key not in seen or 0 < _attempts(seen[key]) < MAX_PROCESSING_ATTEMPTS]

    def ingest_entry(self, feed: Feed, entry: FeedEntry, now: datetime) -> str:
        """Handle one feed entry: "seen" (known already), "retry" (page failed for a passing reason, not
        marked seen) or "new" (staged, a duplicate, or skipped for good — marked seen either way)."""
        key = _entry_key(entry)
        with self.engine.connect() as conn:
            outcome = conn.execute(select(seen_entries.c.outcome).where(
                seen_entries.c.feed_id == feed.id, seen_entries.c.entry_key == key)).scalar_one_or_none()
        if outcome is not None and not outcome.startswith(UNFINISHED):
            return "seen"
        self.counts.add("entries_new")
        outcome, article_id = self._stage(feed, entry, key, _attempts(outcome or "") + 1, now)
        if outcome == "retry":
            return "retry"
        with self.engine.begin() as conn:
            _mark_seen(conn, feed.id, key, outcome, article_id, now)
        return "new"

    def _stage(self, feed: Feed, entry: FeedEntry, key: str, attempt: int, now: datetime) -> tuple[str, str | None]:
        if not entry.link:
            self.counts.skip("entry has no link")
            return "skipped:no-link", None
        try:
            entry_id = article_id(canonical_url(entry.link))
        except (UrlError, ValueError) as exc:  # mailto:, hostless, port 99999 or otherwise unusable link
            self.counts.skip(f"entry link not fetchable: {exc}")
            return "skipped:bad-link", None
        with self.engine.connect() as conn:
            if _article_exists(conn, entry_id):
                self.counts.add("duplicates_url")
                return "duplicate", entry_id
        try:
            page: Page = self.client.fetch(entry.link, kind="page", user_agent=page_user_agent(feed, entry.link))
        except FetchError as exc:
            if exc.retryable:
                self.counts.add("pages_retry_later")
                self.counts.skip(f"page fetch failed, will retry: {exc.reason}")
                return "retry", None
            self.counts.skip(f"page: {exc.reason}")
            return f"skipped:{exc.status or 'fetch'}", None
        self.counts.add("pages_fetched")
        with self.engine.begin() as conn:
            _mark_seen(conn, feed.id, key, f"{UNFINISHED}{attempt}", None, now)
        try:
            with cpu_deadline(PAGE_PROCESSING_CPU_S):
                extracted = extract_article(page.body, page.final_url, entry=entry, headers=page.headers)
                article = self._enrich(feed, entry, page, extracted, now)
        except ExtractionSkip as exc:
            self.counts.skip(f"extraction: {exc.reason}")
            return "skipped:extraction", None
        except CpuDeadlineExceeded as exc:
            self.counts.skip(f"extraction: took {exc} (limit {PAGE_PROCESSING_CPU_S:g} s)")
            return "skipped:too-slow", None
        except Exception as exc:  # a page that crashes a library is a bad item, not a reason to stop the feed
            log.exception("processing %s from feed %s failed", page.final_url, feed.id)
            self.counts.skip(f"page processing crashed ({type(exc).__name__}); see the task log")
            return "skipped:crash", None
        row = {
            "id": article.id,
            "canonical_url": article.canonical_url,
            "feed_id": feed.id,
            "source": article.source,
            "content_hash": article.content_hash,
            "published_at": article.published_at,
            "staged_at": now,
            "status": "staged",
            "alerted": False,
            "doc": _doc(article),
        }
        with self.engine.begin() as conn:
            created = insert_ignore(conn, articles, row)
        if not created:
            self.counts.add("duplicates_url")
            return "duplicate", article.id
        self.counts.add("staged")
        return "staged", article.id

    def _enrich(self, feed: Feed, entry: FeedEntry, page: Page, extracted, now: datetime) -> Article:
        canonical = canonical_url(page.final_url, page_canonical=extracted.canonical_url)
        # Feed entries reach here without extraction's clean-up of summary and authors; cleaning is idempotent.
        title = clean_title(extracted.title or entry.title) or ""
        language = extracted.language or entry.language or detect_language(f"{title}\n{extracted.text}", hint=feed.language)
        topic = tag(self.packs[0], title, extracted.text, language) if self.packs else None
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
            entities=topic.entities if topic else (),
        )


def _doc(article: Article) -> dict:
    return article_to_document(article)


def load_packs(settings: Settings) -> list:
    """The configured topic pack first (it sets Article.topic), then any others."""
    packs = load_topic_packs(settings.topics_dir)
    chosen = [p for p in packs if p.name == settings.topic]
    if not chosen:
        names = ", ".join(p.name for p in packs) or "none"
        raise ConfigError(f"topic pack {settings.topic!r} (NEWSMON_TOPIC) is not in {settings.topics_dir}; "
                          f"packs there: {names}")
    return chosen + [p for p in packs if p.name != settings.topic]


def poll_feeds(settings: Settings, feed_ids: Iterable[str], now: datetime | None = None,
               progress: Progress | None = None) -> dict:
    """Poll the given feeds: fetch, parse, fetch new pages, extract, enrich, stage. Returns counts."""
    now = now or utcnow()
    wanted = set(feed_ids)
    feeds = [f for f in load_feeds(settings.feeds_file) if f.id in wanted]
    unknown = wanted - {f.id for f in feeds}
    counts = Counts()
    for feed_id in sorted(unknown):
        counts.skip(f"feed {feed_id}: not in {settings.feeds_file}")
    engine = open_engine(settings.database_url)
    packs = load_packs(settings)
    with SafeClient(settings) as client:
        poller = _Poller(settings, engine, client, packs, counts, progress)
        for feed in feeds:
            poller.poll(feed, now)
    return counts.as_dict()


# ---------------------------------------------------------------- cluster + index


def _staged(conn: Connection, status: str, *, alerted: bool | None = None) -> list[Article]:
    stmt = select(articles.c.doc).where(articles.c.status == status)
    if alerted is not None:
        stmt = stmt.where(articles.c.alerted == alerted)
    rows = conn.execute(stmt.order_by(articles.c.id)).all()
    return [document_to_article(r.doc) for r in rows]


def cluster_and_index(settings: Settings, now: datetime | None = None) -> dict:
    """Assign staged articles to story clusters, then create them in the search index (409 = duplicate)."""
    now = now or utcnow()
    counts = Counts()
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        # Lock, then read: a concurrent run waits here and finds only what is still staged, instead of
        # clustering (and counting) the same articles a second time.
        take_dedup_lock(conn)
        staged = [replace(a, fingerprint=fingerprint(a.text)) for a in _staged(conn, "staged")]
        if staged:
            for article in assign_clusters(conn, staged, now):
                conn.execute(
                    update(articles).where(articles.c.id == article.id).values(
                        status="clustered", cluster_id=article.cluster_id, duplicate_of=article.duplicate_of,
                        dup_reason=article.dup_reason, doc=_doc(article)))
                counts.add("clustered")
                if article.dup_reason:
                    counts.add(f"duplicates_{article.dup_reason}")
    with engine.connect() as conn:
        pending = _staged(conn, "clustered")
    if not pending:
        return counts.as_dict()
    index = open_index(settings, engine)
    try:
        result = index.put_articles(pending)
    finally:
        index.close()
    done = result.created + result.duplicates
    with engine.begin() as conn:
        if done:
            conn.execute(update(articles).where(articles.c.id.in_(done)).values(status="indexed", index_error=None))
        for article_id, reason in result.failed.items():
            conn.execute(update(articles).where(articles.c.id == article_id).values(index_error=reason[:2000]))
    counts.add("indexed", len(result.created))
    counts.add("index_duplicates", len(result.duplicates))
    counts.add("index_failed_kept_staged", len(result.failed))
    for reason in result.failed.values():
        counts.skip(f"index: {reason[:200]}")
    return counts.as_dict()


# ---------------------------------------------------------------- alerts


def send_alerts(settings: Settings, now: datetime | None = None, *, raise_on_failure: bool = False) -> dict:
    """Match rules against newly indexed articles (one outbox row per rule and story), deliver instant alerts."""
    now = now or utcnow()
    rules = load_alert_rules(settings.alerts_file)
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        # Earliest copy first: when several copies of a story arrive in one run, the alert shows the original.
        fresh = sorted(_staged(conn, "indexed", alerted=False), key=lambda a: (a.published_at or a.fetched_at, a.id))
        queued = enqueue_matches(conn, rules, fresh, now)
        if fresh:
            conn.execute(update(articles).where(articles.c.id.in_([a.id for a in fresh])).values(alerted=True))
    delivered = deliver_pending(engine, rules, settings, now)
    counts = {**queued.as_dict(), **{k: v for k, v in delivered.as_dict().items() if k in ("sent", "retry_later", "failed")}}
    if delivered.errors:  # shown in the run summary next to the counts
        counts["skipped_reasons"] = {f"not delivered: {e[:200]}": n for e, n in Counter(delivered.errors).items()}
    _raise_if_undelivered(delivered, raise_on_failure)
    return counts


def _raise_if_undelivered(delivered, raise_on_failure: bool) -> None:
    if raise_on_failure and (delivered.retry_later or delivered.failed):
        raise AlertDeliveryError(
            f"{delivered.retry_later} alert(s) kept in the outbox for a retry, {delivered.failed} given up "
            f"(see `newsmon alerts outbox`): " + "; ".join(sorted(set(delivered.errors))[:3]))


def send_digests(settings: Settings, mode: str, now: datetime | None = None, *, raise_on_failure: bool = False) -> dict:
    """Deliver the pending hourly or daily digest rows, one message per rule."""
    engine = open_engine(settings.database_url)
    rules = load_alert_rules(settings.alerts_file)
    delivered = deliver_pending(engine, rules, settings, now or utcnow(), modes=(mode,))
    _raise_if_undelivered(delivered, raise_on_failure)
    return delivered.as_dict()


DIGEST_PERIODS = {"hourly": 3600, "daily": 86400}


def send_due_digests(settings: Settings, now: datetime | None = None) -> dict:
    """For `newsmon run` without Airflow: send each digest whose period has passed since the last one."""
    now = now or utcnow()
    engine = open_engine(settings.database_url)
    sent: dict = {}
    for mode, period_s in DIGEST_PERIODS.items():
        key = f"digest_{mode}_at"
        with engine.connect() as conn:
            last = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()
        if last is not None and (now - datetime.fromisoformat(last)).total_seconds() < period_s:
            continue
        if last is not None:
            sent[mode] = send_digests(settings, mode, now)
        with engine.begin() as conn:  # the first run only starts the clock
            conn.execute(meta.delete().where(meta.c.key == key))
            conn.execute(meta.insert().values(key=key, value=now.isoformat()))
    return sent


# ---------------------------------------------------------------- whole run


@dataclass
class RunSummary:
    batches: int
    feeds: int
    poll: dict
    index: dict
    alerts: dict


def run_once(settings: Settings, progress: Progress | None = None, *, on_plan: Callable[[int], None] | None = None,
             now: datetime | None = None, force: bool = False) -> RunSummary:
    """One full ingest pass in-process (what `newsmon run --once` does): the DAG's stages in order."""
    started_at = now or utcnow()
    batches = plan_feeds(settings, started_at, force=force)
    if on_plan:
        on_plan(sum(len(b) for b in batches))
    poll_counts = Counts()
    for batch in batches:
        poll_counts.merge(poll_feeds(settings, batch, started_at, progress))
    index_counts = cluster_and_index(settings, started_at)
    alert_counts = send_alerts(settings, started_at)
    summary = RunSummary(len(batches), sum(len(b) for b in batches), poll_counts.as_dict(), index_counts, alert_counts)
    record_run(settings, "run_once", started_at, {"poll": summary.poll, "index": index_counts, "alerts": alert_counts})
    return summary


def record_run(settings: Settings, stage: str, started_at: datetime, counts: dict) -> None:
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(runs.insert().values(stage=stage, started_at=started_at, finished_at=utcnow(), counts=counts))
