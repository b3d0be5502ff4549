"""Load and save FeedState rows in the state DB's feed_state table."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from newsmon.core.records import FeedState
from newsmon.store.schema import feed_state

_DATETIME_FIELDS = ("next_poll_at", "last_polled_at", "last_success_at")
_FIELDS = tuple(f.name for f in fields(FeedState))


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; we only ever store UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_to_state(row: Any) -> FeedState:
    values = {name: getattr(row, name) for name in _FIELDS}
    for name in _DATETIME_FIELDS:
        values[name] = _utc(values[name])
    values["failures"] = values["failures"] or 0
    values["items_seen"] = values["items_seen"] or 0
    return FeedState(**values)


def load_feed_state(conn: Connection, feed_id: str) -> FeedState | None:
    """The stored state of `feed_id`, or None when the feed was never polled."""
    row = conn.execute(select(feed_state).where(feed_state.c.feed_id == feed_id)).first()
    return None if row is None else _row_to_state(row)


def all_feed_states(conn: Connection) -> dict[str, FeedState]:
    """Every stored feed state, by feed id."""
    return {row.feed_id: _row_to_state(row) for row in conn.execute(select(feed_state))}


def save_feed_state(conn: Connection, state: FeedState) -> None:
    """Insert or replace the state of one feed (portable upsert: SQLite and PostgreSQL)."""
    values = asdict(state)
    for name in _DATETIME_FIELDS:
        values[name] = _utc(values[name])
    updated = conn.execute(
        feed_state.update().where(feed_state.c.feed_id == state.feed_id).values(**values)
    ).rowcount
    if not updated:
        conn.execute(feed_state.insert().values(**values))
