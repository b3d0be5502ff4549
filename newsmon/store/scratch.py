"""A throw-away in-memory state DB with every table, for one-off runs that must not touch the real one."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from newsmon.store.schema import metadata


def scratch_engine() -> Engine:
    """An empty in-memory SQLite state DB; it is gone when the engine is disposed."""
    # One shared connection: every new connection to sqlite:// would open a different, empty database.
    engine = create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine)
    return engine
