"""Per-feed health for `newsmon feeds status`: what the state DB knows of each configured feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from newsmon.core.records import Feed, FeedState
from newsmon.store.feedstate import all_feed_states
from newsmon.store.schema import seen_entries

RATE_WINDOW_DAYS = 7


@dataclass(frozen=True)
class FeedHealth:
    """One configured feed as an operator sees it. `health` is ok, new (never polled), failing xN, disabled
    (newsmon stopped polling it, e.g. after a 410) or off (disabled in feeds.yaml)."""

    id: str
    health: str
    url: str
    last_success_at: datetime | None
    last_error: str | None
    items_per_day: float | None  # None until the feed has been watched for an hour
    interval_s: int | None
    next_poll_at: datetime | None
    failures: int = 0  # failed polls in a row (the backoff grows with them)
    moved_to: str | None = None  # the URL a permanent redirect moved the feed to, when it differs from feeds.yaml


def _health(feed: Feed, state: FeedState | None) -> str:
    if not feed.enabled:
        return "off"
    if state is None:
        return "new"
    if state.disabled_reason:
        return "disabled"
    if state.failures:
        return f"failing x{state.failures}"
    return "ok"


def feed_health(engine: Engine, feeds: Sequence[Feed], now: datetime) -> list[FeedHealth]:
    """The health of every feed in `feeds`, in their order."""
    with engine.connect() as conn:
        states = all_feed_states(conn)
    rates = items_per_day(engine, now)
    rows = []
    for feed in feeds:
        state = states.get(feed.id)
        rate = rates.get(feed.id)
        rows.append(FeedHealth(
            id=feed.id,
            health=_health(feed, state),
            url=state.url if state else feed.url,
            last_success_at=state.last_success_at if state else None,
            last_error=(state.disabled_reason or state.last_error) if state else None,
            items_per_day=round(rate, 1) if rate is not None else None,
            interval_s=state.interval_s if state else None,
            next_poll_at=state.next_poll_at if state else None,
            failures=state.failures if state else 0,
            moved_to=state.url if state and state.url != feed.url else None,
        ))
    return rows


def items_per_day(engine: Engine, now: datetime, window_days: int = RATE_WINDOW_DAYS) -> dict[str, float | None]:
    """New entries per day per feed over the last week, leaving out each feed's first-poll backlog."""
    since = now - timedelta(days=window_days)
    first = seen_entries.alias("first_seen")
    rates: dict[str, float | None] = {}
    with engine.connect() as conn:
        firsts = dict(conn.execute(select(seen_entries.c.feed_id, func.min(seen_entries.c.seen_at))
                                   .group_by(seen_entries.c.feed_id)).all())
        counts = dict(conn.execute(
            select(seen_entries.c.feed_id, func.count())
            .where(seen_entries.c.seen_at >= since)
            .where(seen_entries.c.seen_at > select(func.min(first.c.seen_at)).where(
                first.c.feed_id == seen_entries.c.feed_id).scalar_subquery())
            .group_by(seen_entries.c.feed_id)).all())
    for feed_id, first_at in firsts.items():
        if first_at.tzinfo is None:
            first_at = first_at.replace(tzinfo=UTC)
        span_days = (now - max(first_at, since)).total_seconds() / 86400
        rates[feed_id] = None if span_days < 1 / 24 else counts.get(feed_id, 0) / span_days
    return rates
