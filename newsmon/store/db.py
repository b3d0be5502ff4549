"""State DB: the SQLAlchemy 2 engine, schema creation and upgrade (the tables are in newsmon/store/schema.py), storage errors."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import (
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from newsmon.core.errors import Unavailable
from newsmon.store.schema import SCHEMA_VERSION, SQLITE_DDL, meta, metadata

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


# One engine (connection pool) per database URL and process, as SQLAlchemy intends; schema
# creation runs once per URL instead of on every pipeline call.
_ENGINES: dict[str, Engine] = {}


def open_engine(url: str) -> Engine:
    """Open (and create or upgrade) the state DB at `url`. Raises StoreUnavailable with the URL on failure."""
    if url in _ENGINES:
        return _ENGINES[url]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
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
    try:
        init_schema(engine)
    except (OperationalError, DatabaseError) as exc:
        raise StoreUnavailable(f"state DB {shown} is not usable: {getattr(exc, 'orig', exc)}; "
                               "check NEWSMON_STATE_URL / NEWSMON_STATE_DIR") from exc
    _ENGINES[url] = engine
    return engine


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


def _add_missing_columns(bind) -> None:
    """Additive migration: add columns a newer newsmon defines to tables an older one created.

    create_all() creates missing tables but never alters existing ones; new columns are always
    nullable or carry a default, so adding them in place keeps an existing state DB usable.
    """
    inspector = inspect(bind)
    existing_tables = set(inspector.get_table_names())
    with (bind.begin() if isinstance(bind, Engine) else nullcontext(bind)) as conn:
        for table in metadata.sorted_tables:
            if table.name not in existing_tables:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(conn.dialect)}"
                default = column.default.arg if column.default is not None and column.default.is_scalar else None
                if default is not None:
                    ddl += f" DEFAULT {int(default) if isinstance(default, bool) else repr(default)}"
                elif not column.nullable:
                    raise StoreUnavailable(
                        f"state DB table {table.name} lacks column {column.name}, which cannot be added in place; "
                        "export what you need and start a new state DB (NEWSMON_STATE_DIR)"
                    )
                conn.exec_driver_sql(ddl)


def init_schema(engine: Engine) -> None:
    """Create missing tables (idempotent) and refuse a DB written by a newer schema.

    Several workers may open a fresh database at once (two `run --once`, Airflow's first tasks), so
    the whole check-and-create runs under one lock: the others wait, then find everything in place.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")  # held until this transaction ends
            _create_or_upgrade(conn)
    elif engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # IMMEDIATE takes SQLite's write lock before the schema is read; a deferred transaction would
            # let two processes both see an empty file and both create the tables.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            _create_or_upgrade(conn)
            conn.commit()
    else:
        with engine.begin() as conn:
            _create_or_upgrade(conn)


def _create_or_upgrade(conn: Connection) -> None:
    _add_missing_columns(conn)
    metadata.create_all(conn)
    row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
    if row is None:
        conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif int(row.value) > SCHEMA_VERSION:
        raise StoreUnavailable(
            f"state DB has schema version {row.value}, this newsmon knows {SCHEMA_VERSION}: upgrade newsmon"
        )
    if conn.dialect.name == "sqlite":
        for ddl in SQLITE_DDL:
            conn.exec_driver_sql(ddl)


def insert_ignore(conn, table: Table, values: dict) -> bool:
    """Insert a row unless its unique key exists; True when a row was inserted. Works on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # imported here: only a PostgreSQL state DB needs its dialect

        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    # psycopg reports rowcount -1 for INSERT … ON CONFLICT unless asked to keep it.
    return conn.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount == 1
