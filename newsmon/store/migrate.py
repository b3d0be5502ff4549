"""Schema revisions of the state DB: upgrade it with Alembic under one lock, adopt pre-migration DBs, say where it stands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from newsmon import __version__
from newsmon.core.errors import UserError
from newsmon.store.migrations import HEAD, REVISIONS
from newsmon.store.migrations.baseline import BASELINE_TABLES, SQLITE_SEARCH_DDL, baseline_metadata

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BASELINE = REVISIONS[0]
# Any fixed number: every newsmon process that creates or upgrades a PostgreSQL state DB takes this lock.
SCHEMA_LOCK_KEY = 4242001


class StateSchemaError(UserError):
    """The state DB's schema does not fit this newsmon: the operator must act, so it is not retried."""


class StateDBNewerThanCode(StateSchemaError):
    """The state DB was upgraded by a newer newsmon: upgrade newsmon."""


class StateDBNeedsUpgrade(StateSchemaError):
    """The state DB is behind this newsmon's schema: run `newsmon db upgrade`."""


@dataclass(frozen=True)
class RevisionState:
    """Where a state DB stands: its Alembic revision (None: not recorded) and whether newsmon's tables exist."""

    current: str | None
    has_tables: bool
    legacy_version: str | None = None  # newsmon_meta.schema_version of a DB from before migrations

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables

    @property
    def known(self) -> bool:
        return self.current is None or self.current in REVISIONS


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did to the DB at `url` (password hidden): the revision before (None: none recorded) and after."""

    url: str
    before: str | None
    after: str
    created: bool = False
    adopted: bool = False


def read_state(conn: Connection) -> RevisionState:
    names = set(inspect(conn).get_table_names())
    current = None
    if "alembic_version" in names:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        current = ",".join(sorted(versions)) or None
    legacy = None
    if current is None and "newsmon_meta" in names:
        legacy = conn.execute(text("SELECT value FROM newsmon_meta WHERE key = 'schema_version'")).scalar_one_or_none()
    return RevisionState(current, bool(names & set(BASELINE_TABLES)), legacy)


def state_of(engine: Engine) -> RevisionState:
    with engine.connect() as conn:
        return read_state(conn)


def shown_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def ensure_current(engine: Engine) -> None:
    """On opening: create an empty DB (nothing to lose), accept one at HEAD, refuse any other with what to do."""
    state = state_of(engine)
    if state.empty:
        upgrade(engine)
        return
    if state.current == HEAD:
        return
    _refuse_newer(state, shown_url(engine))
    if state.current is None:
        raise StateDBNeedsUpgrade(
            f"state DB {shown_url(engine)} was created by a newsmon from before schema revisions: run "
            f"`newsmon db upgrade` once (it checks the tables, keeps every row and upgrades to revision {HEAD})"
        )
    raise StateDBNeedsUpgrade(
        f"state DB {shown_url(engine)} is at schema revision {state.current}, this newsmon needs {HEAD}: "
        "run `newsmon db upgrade` (it keeps every row)"
    )


def _refuse_newer(state: RevisionState, shown: str) -> None:
    if not state.known:
        raise StateDBNewerThanCode(
            f"state DB {shown} is at schema revision {state.current}, which this newsmon ({__version__}, revisions "
            f"{REVISIONS[0]}–{HEAD}) does not know: a newer newsmon upgraded it; upgrade newsmon"
        )
    if state.current is None and state.legacy_version is not None and _legacy_number(state.legacy_version, shown) > 1:
        raise StateDBNewerThanCode(
            f"state DB {shown} has schema version {state.legacy_version} in newsmon_meta but no revision "
            "that this newsmon knows: a newer newsmon wrote it; upgrade newsmon"
        )


def _legacy_number(value: str, shown: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise StateSchemaError(f"state DB {shown} has schema version {value!r} in newsmon_meta, which no newsmon "
                               "wrote; point NEWSMON_STATE_URL / NEWSMON_STATE_DIR at newsmon's own DB") from None


def upgrade(engine: Engine) -> Upgrade:
    """Bring the state DB to HEAD: create it, or adopt a pre-migration one at BASELINE, then run the revisions.

    Everything runs under one lock and in one transaction (SQLite and PostgreSQL both have transactional
    DDL): workers starting together wait for the first, then find the DB at HEAD; a failure changes nothing.
    """
    shown = shown_url(engine)
    if state_of(engine).current == HEAD:  # the usual case (every DAG run starts here): no write lock needed
        return Upgrade(shown, before=HEAD, after=HEAD)
    with _schema_lock(engine) as conn:
        state = read_state(conn)
        _refuse_newer(state, shown)
        if state.current == HEAD:
            return Upgrade(shown, before=HEAD, after=HEAD)
        config = _alembic_config(conn)
        from alembic import command  # imported here: only an upgrade needs Alembic (0.1 s to import)

        if state.current is None and state.has_tables:
            _adopt_pre_migration_db(conn, shown)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
    return Upgrade(shown, before=state.current, after=HEAD, created=state.empty,
                   adopted=state.current is None and state.has_tables)


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the schema lock until it commits."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # IMMEDIATE takes SQLite's write lock before the schema is read; a deferred transaction would
            # let two processes both see an empty file and both create the tables.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
    else:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")  # released at commit
            yield conn


def _alembic_config(conn: Connection):
    from alembic.config import Config  # imported here: only an upgrade needs Alembic

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = conn  # env.py runs the revisions on it, inside the lock's transaction
    return config


def script_revisions() -> list[str]:
    """The revisions in versions/, oldest first, as Alembic reads them."""
    from alembic.script import ScriptDirectory  # imported here: only tests and upgrades read the scripts

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def _adopt_pre_migration_db(conn: Connection, shown: str) -> None:
    """Make a DB from before migrations exactly revision BASELINE, or refuse it without changing it.

    That newsmon created missing tables and added new columns in place on every start; a DB it last
    opened some versions ago may lack what came later, so this does the same, then checks the result.
    """
    baseline = baseline_metadata()
    _add_missing_columns(conn, baseline, shown)
    baseline.create_all(conn)  # checkfirst: only the tables that DB does not have yet
    if conn.dialect.name == "sqlite":
        for ddl in SQLITE_SEARCH_DDL:
            conn.exec_driver_sql(ddl)
    _add_missing_indexes(conn, baseline)
    missing = _missing_from(conn, baseline)
    if missing:
        raise StateSchemaError(
            f"state DB {shown} has newsmon's tables but not revision {BASELINE}'s shape ({'; '.join(missing)}), "
            "so it cannot be upgraded in place: export what you need and start a new state DB (NEWSMON_STATE_DIR)"
        )


def _add_missing_columns(conn: Connection, baseline, shown: str) -> None:
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in baseline.sorted_tables:
        if table.name not in existing:
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
                raise StateSchemaError(
                    f"state DB {shown}: table {table.name} lacks column {column.name}, which cannot be added in place; "
                    "export what you need and start a new state DB (NEWSMON_STATE_DIR)"
                )
            conn.exec_driver_sql(ddl)


def _add_missing_indexes(conn: Connection, baseline) -> None:
    inspector = inspect(conn)
    for table in baseline.sorted_tables:
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(conn)


def _missing_from(conn: Connection, baseline) -> list[str]:
    """What revision BASELINE has that the DB lacks, by Alembic's comparison (extra tables or columns do no harm)."""
    from alembic.autogenerate import compare_metadata  # imported here: only adopting an old DB compares
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"compare_type": False})
    changes = [c for diff in compare_metadata(context, baseline) for c in (diff if isinstance(diff, list) else [diff])]
    return [_describe(c) for c in changes if c[0].startswith("add_")]


def _describe(change: tuple) -> str:
    """('add_column', schema, table, Column) → 'column feed_state.url'; ('add_table', Table) → 'table runs' …"""
    if change[0] == "add_column":
        return f"column {change[2]}.{change[3].name}"
    return f"{change[0].removeprefix('add_')} {change[1].name}"
