"""State DB: the SQLAlchemy 2 engine, opening it at the right schema revision (migrate.py), storage errors."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, Table, bindparam, create_engine, event, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from newsmon.core.errors import Unavailable
from newsmon.core.settings import Settings
from newsmon.store import migrate
from newsmon.store.migrations import HEAD

# How long a writer waits for another one's lock before the state DB counts as unavailable.
BUSY_TIMEOUT_S = 30.0


class StoreUnavailable(Unavailable):
    """The state DB cannot be opened or written: infrastructure, so callers raise and Airflow retries."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets parallel Airflow workers read while one writes; busy_timeout makes writers wait, not fail.
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    _enable_wal(cur)
    # In WAL mode NORMAL never corrupts the file and survives a process crash; only a power cut can
    # lose the last commits, which the next run redoes (every stage is idempotent). It halves commit cost.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _enable_wal(cur) -> None:
    # Switching a fresh file to WAL writes its header while holding a read lock, and SQLite answers
    # "database is locked" at once, without the busy timeout, when another process is doing the same
    # (first start of parallel workers). The second attempt finds the file in WAL mode already.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# One engine (connection pool) per database URL and process, as SQLAlchemy intends; the schema revision
# is checked once per URL instead of on every pipeline call.
_ENGINES: dict[str, Engine] = {}
_CURRENT: set[str] = set()

T = TypeVar("T")


def open_engine(url: str) -> Engine:
    """The state DB at `url`, at this newsmon's schema revision; a new, empty DB is created at it.

    A DB at an older revision (or from before revisions) raises StateDBNeedsUpgrade ("run `newsmon db
    upgrade`"), one at a revision this newsmon does not know StateDBNewerThanCode ("upgrade newsmon");
    an unreachable or broken DB raises StoreUnavailable with the URL.
    """
    engine = _engine(url)
    if url not in _CURRENT:
        _usable(engine, lambda: migrate.ensure_current(engine))
        _CURRENT.add(url)
    return engine


def upgrade_database(url: str) -> migrate.Upgrade:
    """Create or upgrade the state DB at `url` to this newsmon's schema revision (`newsmon db upgrade`, the DAGs)."""
    engine = _engine(url)
    done = _usable(engine, lambda: migrate.upgrade(engine))
    _CURRENT.add(url)
    return done


def upgrade_state_db(settings: Settings) -> str:
    """The first task of every DAG: upgrade the configured state DB; returns the revision it is at."""
    return upgrade_database(settings.database_url).after


def dispose_engine(url: str) -> None:
    """Close the pooled connections to `url`; the next open_engine connects and checks the revision afresh."""
    _CURRENT.discard(url)
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


@dataclass(frozen=True)
class SchemaReport:
    """`newsmon db current`: the DB (password hidden), its revision and the one this newsmon needs."""

    url: str
    exists: bool
    state: migrate.RevisionState | None
    head: str = HEAD


def schema_report(url: str) -> SchemaReport:
    """Where the state DB at `url` stands, without creating or changing anything."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return SchemaReport(_redact(url), exists=False, state=None)
    engine = _engine(url, create_dir=False)
    return SchemaReport(_redact(url), exists=True, state=_usable(engine, lambda: migrate.state_of(engine)))


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _engine(url: str, *, create_dir: bool = True) -> Engine:
    """The process's engine for `url`, with newsmon's pragmas and storage-error hook; no schema work."""
    if url in _ENGINES:
        return _ENGINES[url]
    path = _sqlite_path(url)
    if path is not None and create_dir:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the state directory {path.parent}: {exc}; set NEWSMON_STATE_DIR") from exc
    shown = _redact(url)
    try:
        # JSON columns keep non-ASCII letters as they are: escaped (\u0436), a Russian article's document
        # took three times the bytes (bench/bench_store_scale.py).
        engine = create_engine(url, future=True, json_serializer=_json_dumps)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise StoreUnavailable(f"NEWSMON_STATE_URL {shown!r} is not a usable database URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", _storage_errors(engine, shown))
    _ENGINES[url] = engine
    return engine


def _usable(engine: Engine, step: Callable[[], T]) -> T:
    """Run a schema step; a DB that cannot be reached or read becomes StoreUnavailable naming the setting."""
    try:
        return step()
    except (OperationalError, DatabaseError) as exc:
        raise StoreUnavailable(f"state DB {migrate.shown_url(engine)} is not usable: {getattr(exc, 'orig', exc)}; "
                               "check NEWSMON_STATE_URL / NEWSMON_STATE_DIR") from exc


def _json_dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _storage_errors(engine: Engine, shown: str) -> Callable[[ExceptionContext], None]:
    """A handle_error hook: a full disk, a failing or read-only one, a lock never released → StoreUnavailable.

    Every write path of the pipeline goes through the engine, so this is the one place that turns
    them into the message the CLI prints and Airflow retries on, instead of a driver traceback.
    """
    where = _where(engine, shown)

    def hook(context: ExceptionContext) -> None:
        why = _storage_failure(context.original_exception, where)
        if why is not None:
            raise StoreUnavailable(f"state DB {shown} {why}") from context.original_exception

    return hook


def _where(engine: Engine, shown: str) -> str:
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return f"the disk holding {Path(database).resolve().parent}"
    return f"the database server of {shown}"


def _storage_failure(exc: BaseException, where: str) -> str | None:
    """What to tell the operator about a storage failure (None: not one; the error stays as it is)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return (f"is full ({exc}): free space on {where} (or lift the database's size limit), then run again; "
                    "what was stored before is kept and the interrupted step is redone")
        if code == sqlite3.SQLITE_IOERR:
            return f"cannot be read or written ({exc}): check {where}"
        if code == sqlite3.SQLITE_READONLY:
            return f"is read-only ({exc}): the user running newsmon needs write access to the file and its directory"
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return (f"stayed locked by another process for over {BUSY_TIMEOUT_S:.0f} s ({exc}); "
                    "run again once the other newsmon run is done")
        return None
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == "53100":  # disk_full
        return f"is full ({str(exc).strip()}): free space on {where}, then run again; what was stored before is kept"
    return None


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def one_of(conn, column, values: Sequence) -> ColumnElement[bool]:
    """`column IN values` for a long list of values: on SQLite one JSON parameter that json_each reads (the same
    index search as an IN list), elsewhere the IN list. SQLAlchemy renders and binds every value of an IN list
    apart, which was most of the CPU of looking up a batch's thousands of LSH band and story keys."""
    if conn.dialect.name != "sqlite":
        return column.in_(values)
    listed = func.json_each(bindparam(None, json.dumps(list(values)), type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def insert_ignore(conn, table: Table, values: dict) -> bool:
    """Insert a row unless its unique key exists; True when a row was inserted. Works on SQLite and PostgreSQL."""
    # psycopg reports rowcount -1 for INSERT … ON CONFLICT unless asked to keep it.
    return conn.execute(_insert_ignore(conn, table).values(**values),
                        execution_options={"preserve_rowcount": True}).rowcount == 1


def insert_ignore_many(conn, table: Table, rows: list[dict]) -> int:
    """Insert the rows whose unique key does not exist yet, in one executemany; returns the rowcount the driver
    reports (the rows inserted, where it can tell; a caller that needs to know which falls back to insert_ignore
    when it is not len(rows))."""
    if not rows:
        return 0
    return conn.execute(_insert_ignore(conn, table), rows, execution_options={"preserve_rowcount": True}).rowcount


def insert_ignore_returning(conn, table: Table, rows: list[dict], key: str) -> set:
    """Insert the rows whose unique key does not exist yet, in one statement; returns the `key` column of the rows
    inserted, so that the caller knows which were new without reading them first."""
    if not rows:
        return set()
    return set(conn.execute(_insert_ignore(conn, table, returning=key), rows).scalars())


# Built once per dialect, table and returned column: a statement built anew for every call costs its cache key
# again (the poll stage inserts a few rows at a time, hundreds of times a run).
_INSERT_IGNORE: dict[tuple[str, str, str | None], Any] = {}


def _insert_ignore(conn, table: Table, *, returning: str | None = None):
    cache_key = (conn.dialect.name, table.name, returning)
    stmt = _INSERT_IGNORE.get(cache_key)
    if stmt is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # imported here: only a PostgreSQL state DB needs its dialect

            stmt = postgresql.insert(table).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        if returning is not None:
            stmt = stmt.returning(table.c[returning])
        _INSERT_IGNORE[cache_key] = stmt
    return stmt
