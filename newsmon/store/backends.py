"""The factory that opens the configured search backend: the embedded SQLite FTS5 index or Elasticsearch."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from newsmon.core.config import ConfigError
from newsmon.core.settings import Settings
from newsmon.store.elastic import ElasticIndex
from newsmon.store.index import SearchIndex
from newsmon.store.sqlite_index import SqliteIndex


def open_index(settings: Settings, engine: Engine) -> SearchIndex:
    """The configured backend: the embedded SQLite FTS5 index (default) or Elasticsearch."""
    if settings.search_backend == "elasticsearch":
        return ElasticIndex.from_settings(settings)
    if engine.dialect.name != "sqlite":
        raise ConfigError("NEWSMON_SEARCH_BACKEND=sqlite keeps its index in a SQLite state DB, but NEWSMON_STATE_URL "
                          f"is {engine.dialect.name}; set NEWSMON_SEARCH_BACKEND=elasticsearch")
    return SqliteIndex(engine)
