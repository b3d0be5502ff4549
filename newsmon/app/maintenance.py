"""State DB housekeeping for the maintenance DAG and `newsmon maintenance`: prune old rows, count stuck articles, optimise."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from newsmon.app.stages.counts import Counts, recorded
from newsmon.core.outcomes import Count, Stage
from newsmon.core.settings import Settings
from newsmon.store.clusters import prune_lsh
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox, alert_sends, articles, dedup_docs, seen_entries, story_keys
from newsmon.store.stories import day_number
from newsmon.store.stories import prune_story_keys as prune_keys

log = logging.getLogger("newsmon.maintenance")

# Feeds list entries for days, rarely weeks; 90 days of "seen" keys is far past any feed window.
# An entry that reappears after pruning is still not fetched again: its article row stays, and the
# pipeline finds it by canonical URL before any page request.
SEEN_ENTRIES_KEEP_DAYS = 90
# The sent row is what stops a story alerting twice: a copy arriving later than this can alert again,
# so the window is long. A dropped row (a `hold: drop` rule decided not to send) stops the story the same way
# and is kept as long, counted from when it was queued. Failed and pending rows are never pruned (someone
# should look at them).
SENT_ALERTS_KEEP_DAYS = 180
# Copies of a story arrive within days; near-duplicate bands older than this only make the band table grow.
LSH_WINDOW_DAYS = 30
LSH_PRUNE_CHUNK = 10_000
# VACUUM rewrites the whole SQLite file under an exclusive lock: only worth it when this share of pages is free.
SQLITE_VACUUM_FREE_RATIO = 0.2


@dataclass(frozen=True)
class Retention:
    """How long each kind of housekeeping row is kept, in days."""

    seen_entries_days: int = SEEN_ENTRIES_KEEP_DAYS
    sent_alerts_days: int = SENT_ALERTS_KEEP_DAYS
    lsh_window_days: int = LSH_WINDOW_DAYS

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        # Read by name so NEWSMON_SEEN_ENTRIES_KEEP_DAYS & co. apply once Settings declares them.
        return cls(
            seen_entries_days=int(getattr(settings, "seen_entries_keep_days", SEEN_ENTRIES_KEEP_DAYS)),
            sent_alerts_days=int(getattr(settings, "sent_alerts_keep_days", SENT_ALERTS_KEEP_DAYS)),
            lsh_window_days=int(getattr(settings, "lsh_window_days", LSH_WINDOW_DAYS)),
        )

    def __post_init__(self) -> None:
        for name in ("seen_entries_days", "sent_alerts_days", "lsh_window_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"retention {name} must be at least 1 day, got {getattr(self, name)}")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _engine(settings: Settings) -> Engine:
    return open_engine(settings.database_url)


@contextmanager
def _step(settings: Settings, stage: Stage, *, dry_run: bool) -> Iterator[Counts]:
    """The counts of one housekeeping step, recorded in `runs` unless it is a dry run (which changes nothing)."""
    if dry_run:
        yield Counts()
        return
    with recorded(settings, stage) as counts:
        yield counts


def prune_seen_entries(settings: Settings, now: datetime | None = None, *, dry_run: bool = False,
                       retention: Retention | None = None) -> int:
    """Forget feed entry keys first seen more than `seen_entries_days` ago; returns how many (would) go."""
    cutoff = _now(now) - timedelta(days=(retention or Retention.from_settings(settings)).seen_entries_days)
    old = seen_entries.c.seen_at < cutoff
    with _step(settings, Stage.PRUNE_SEEN_ENTRIES, dry_run=dry_run) as counts, _engine(settings).begin() as conn:
        if dry_run:
            return int(conn.execute(select(func.count()).select_from(seen_entries).where(old)).scalar_one())
        pruned = int(conn.execute(delete(seen_entries).where(old)).rowcount)
        counts.add(Count.SEEN_ENTRIES_PRUNED, pruned)
    return pruned


def prune_sent_alerts(settings: Settings, now: datetime | None = None, *, dry_run: bool = False,
                      retention: Retention | None = None) -> int:
    """Delete outbox rows delivered (or dropped) more than `sent_alerts_days` ago; returns how many (would) go."""
    cutoff = _now(now) - timedelta(days=(retention or Retention.from_settings(settings)).sent_alerts_days)
    old = (((alert_outbox.c.status == "sent") & (alert_outbox.c.sent_at < cutoff))
           | ((alert_outbox.c.status == "dropped") & (alert_outbox.c.created_at < cutoff)))
    with _step(settings, Stage.PRUNE_SENT_ALERTS, dry_run=dry_run) as counts, _engine(settings).begin() as conn:
        if dry_run:
            return int(conn.execute(select(func.count()).select_from(alert_outbox).where(old)).scalar_one())
        pruned = int(conn.execute(delete(alert_outbox).where(old)).rowcount)
        # The log of sends only ever answers "how many in the last hour" (max_per_hour): old rows say nothing.
        conn.execute(delete(alert_sends).where(alert_sends.c.sent_at < cutoff))
        counts.add(Count.SENT_ALERTS_PRUNED, pruned)
    return pruned


def prune_lsh_bands(settings: Settings, now: datetime | None = None, *, dry_run: bool = False,
                    retention: Retention | None = None) -> int:
    """Drop near-duplicate bands of articles seen before the LSH window; clusters and exact matches stay."""
    cutoff = _now(now) - timedelta(days=(retention or Retention.from_settings(settings)).lsh_window_days)
    engine = _engine(settings)
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(dedup_docs).where(
                dedup_docs.c.seen_at < cutoff, dedup_docs.c.signature.is_not(None))).scalar_one())
    total = 0
    with _step(settings, Stage.PRUNE_LSH_BANDS, dry_run=False) as counts:
        while True:
            # One transaction per chunk keeps each write lock short while the ingest DAG runs.
            with engine.begin() as conn:
                done = prune_lsh(conn, cutoff, limit=LSH_PRUNE_CHUNK)
            total += done
            if done < LSH_PRUNE_CHUNK:
                break
        counts.add(Count.LSH_PRUNED, total)
    return total


def prune_story_keys(settings: Settings, now: datetime | None = None, *, dry_run: bool = False,
                     retention: Retention | None = None) -> int:
    """Drop the story-candidate keys of days before the LSH window; stories and their members stay.

    A new article is compared only with articles of its own days (± the story window), so older keys
    only made the table grow by every article's keys, every day, for ever.
    """
    cutoff = _now(now) - timedelta(days=(retention or Retention.from_settings(settings)).lsh_window_days)
    engine = _engine(settings)
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(story_keys).where(
                story_keys.c.day < day_number(cutoff))).scalar_one())
    with _step(settings, Stage.PRUNE_STORY_KEYS, dry_run=False) as counts, engine.begin() as conn:
        pruned = prune_keys(conn, cutoff)
        counts.add(Count.STORY_KEYS_PRUNED, pruned)
    return pruned


def count_stuck_articles(settings: Settings, *, dry_run: bool = False) -> int:
    """Articles clustered but refused by the search index; the next ingest run retries them, so only count.

    It changes nothing either way; `dry_run` only keeps it out of the runs table, like the other steps.
    """
    stuck = (articles.c.status == "clustered") & articles.c.index_error.is_not(None)
    with _step(settings, Stage.COUNT_STUCK_ARTICLES, dry_run=dry_run) as counts:
        with _engine(settings).connect() as conn:
            rows = conn.execute(select(articles.c.index_error, func.count()).where(stuck)
                                .group_by(articles.c.index_error).order_by(func.count().desc())).all()
        total = sum(int(n) for _, n in rows)
        counts.add(Count.STUCK_INDEX_ERRORS, total)
        for reason, _ in rows[:3]:
            counts.example(Count.STUCK_INDEX_ERRORS, reason)
    if total:
        reasons = "; ".join(f"{n}× {reason[:200]}" for reason, n in rows[:3])
        log.warning("%d article(s) wait for the search index (retried every ingest run): %s", total, reasons)
    return total


def optimize_database(settings: Settings, *, dry_run: bool = False) -> dict[str, int]:
    """Refresh the query planner's statistics (SQLite: PRAGMA optimize, VACUUM when much is free; PostgreSQL: ANALYZE)."""
    done = {"analyzed": 0, "vacuumed": 0}
    if dry_run:
        return done
    with _step(settings, Stage.OPTIMIZE_DATABASE, dry_run=False) as counts:
        _optimize(_engine(settings), done)
        counts.add(Count.ANALYZED, done["analyzed"])
        counts.add(Count.VACUUMED, done["vacuumed"])
    return done


def _optimize(engine: Engine, done: dict[str, int]) -> None:
    if engine.dialect.name == "sqlite":
        # VACUUM cannot run inside a transaction, hence autocommit.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
            free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
            if pages and free / pages >= SQLITE_VACUUM_FREE_RATIO:
                conn.exec_driver_sql("VACUUM")
                done["vacuumed"] = 1
            # analysis_limit bounds the work on a large file; optimize only analyses what needs it.
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("PRAGMA optimize")
            done["analyzed"] = 1
            # In WAL mode VACUUM writes the whole file through the -wal file, and a checkpoint only marks the
            # -wal file for reuse: it kept its largest size (as large as the database after a VACUUM) for good.
            # TRUNCATE gives the space back; a reader still inside the file only makes it wait for the next run.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        # Autovacuum reclaims space on PostgreSQL; fresh statistics after the deletes are what helps here.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        done["analyzed"] = 1
    else:
        log.info("no optimisation step for the %s dialect", engine.dialect.name)


def run_maintenance(settings: Settings, now: datetime | None = None, *, dry_run: bool = False,
                    retention: Retention | None = None) -> dict[str, int]:
    """Every housekeeping step in order; returns the counts (what the DAG logs and `newsmon maintenance` prints)."""
    now = _now(now)
    retention = retention or Retention.from_settings(settings)
    counts = {
        "seen_entries_pruned": prune_seen_entries(settings, now, dry_run=dry_run, retention=retention),
        "sent_alerts_pruned": prune_sent_alerts(settings, now, dry_run=dry_run, retention=retention),
        "lsh_pruned": prune_lsh_bands(settings, now, dry_run=dry_run, retention=retention),
        "story_keys_pruned": prune_story_keys(settings, now, dry_run=dry_run, retention=retention),
        "stuck_index_errors": count_stuck_articles(settings, dry_run=dry_run),
    }
    counts.update(optimize_database(settings, dry_run=dry_run))
    return counts
