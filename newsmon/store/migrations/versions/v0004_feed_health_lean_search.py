"""Revision 0004: the feed-health reports table; a leaner, faster embedded search index; letters, not escapes.

- feed_health_reports: the verdict last sent to the operator channels per feed (newsmon/app/feed_report.py).
- search_docs (SQLite only) rebuilt with the small columns before the article text (a filter or a date read
  per match no longer walks the text's overflow pages), its stored document without the title, text and
  summary its own columns hold, and the date index ix_search_docs_date that date order, --since and
  filter-only queries read. Row ids are kept, so the FTS5 index over the same columns stays valid as it is.
- articles.doc rewritten with non-ASCII letters as letters (`\\u0436` took six bytes for two).

Measured with bench/bench_store_scale.py; docs/operations.md says what the upgrade costs on a large store.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The columns of search_docs at this revision, small ones first, the article text and its folded copy last.
# Frozen here (not imported): a later revision changes the table with a revision of its own.
_SEARCH_DOCS_COLUMNS = """
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        source TEXT, source_affiliation TEXT, source_country TEXT, language TEXT, topic TEXT,
        on_topic INTEGER NOT NULL DEFAULT 0, relevance REAL NOT NULL DEFAULT 0,
        subtopics TEXT NOT NULL DEFAULT '[]', entities TEXT NOT NULL DEFAULT '[]',
        cluster_id TEXT, dup_reason TEXT,
        published_at TEXT, fetched_at TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT,
        doc TEXT NOT NULL,
        text TEXT NOT NULL,
        title_f TEXT NOT NULL DEFAULT '', text_f TEXT NOT NULL DEFAULT '', summary_f TEXT"""
# Revision 0001's order (newsmon/store/migrations/baseline.py), for the downgrade.
_BASELINE_COLUMNS = """
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        summary TEXT,
        title_f TEXT NOT NULL DEFAULT '', text_f TEXT NOT NULL DEFAULT '', summary_f TEXT,
        source TEXT, source_affiliation TEXT, source_country TEXT, language TEXT, topic TEXT,
        on_topic INTEGER NOT NULL DEFAULT 0, relevance REAL NOT NULL DEFAULT 0,
        subtopics TEXT NOT NULL DEFAULT '[]', entities TEXT NOT NULL DEFAULT '[]',
        cluster_id TEXT, dup_reason TEXT,
        published_at TEXT, fetched_at TEXT NOT NULL,
        doc TEXT NOT NULL"""
_NAMES = ("rowid, id, source, source_affiliation, source_country, language, topic, on_topic, relevance, subtopics, "
          "entities, cluster_id, dup_reason, published_at, fetched_at, title, summary, text, title_f, text_f, summary_f")
_INDEXES = (
    "CREATE INDEX ix_search_docs_published ON search_docs (published_at)",
    "CREATE INDEX ix_search_docs_cluster ON search_docs (cluster_id)",
)
# The order of `newsmon search --sort date` and of filter-only queries, and the --since range: the newest
# matches are read in order instead of sorting every match (newsmon/store/sqlite_index.py uses this very expression).
_DATE_INDEX = "CREATE INDEX ix_search_docs_date ON search_docs (COALESCE(published_at, fetched_at), fetched_at)"
# The triggers that keep search_fts in step; DROP TABLE takes them with it, so they are made again.
_TRIGGERS = (
    """CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES (new.rowid, new.title, new.text, new.summary, new.title_f, new.text_f, new.summary_f);
    END""",
    """CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES ('delete', old.rowid, old.title, old.text, old.summary, old.title_f, old.text_f, old.summary_f);
    END""",
)
_BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "feed_health_reports",
        sa.Column("feed_id", sa.String(128), primary_key=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # The title, text and summary leave the stored document: SqliteIndex reads them from their columns.
        _rebuild_search_docs(_SEARCH_DOCS_COLUMNS, "json_remove(doc, '$.title', '$.text', '$.summary')")
        op.execute(_DATE_INDEX)
    _unescape_article_documents()


def downgrade() -> None:
    op.drop_table("feed_health_reports")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_search_docs(_BASELINE_COLUMNS,
                             "json_set(doc, '$.title', title, '$.text', text, '$.summary', summary)")


def _rebuild_search_docs(columns: str, doc_expression: str) -> None:
    """Copy search_docs into a table of `columns`, row ids and all, and put it in the old one's place.

    The FTS5 index reads its text through the table's name and row ids (content='search_docs'), and both
    stay, so it is neither rebuilt nor touched. One copy of the table's rows is written: a large store needs
    free space the size of search_docs while this runs, and `newsmon maintenance` (VACUUM) gives it back.
    """
    bind = op.get_bind()
    sequence = bind.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'search_docs'").scalar()
    for name in ("search_docs_ai", "search_docs_ad"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"CREATE TABLE search_docs_new ({columns})")
    op.execute(f"INSERT INTO search_docs_new ({_NAMES}, doc) SELECT {_NAMES}, {doc_expression} FROM search_docs "
               "ORDER BY rowid")
    op.execute("DROP TABLE search_docs")
    op.execute("ALTER TABLE search_docs_new RENAME TO search_docs")
    if sequence is not None:  # AUTOINCREMENT: an id once given (then deleted) is never given again
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'search_docs'")
        bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('search_docs', ?)", (sequence,))
    for ddl in (*_INDEXES, *_TRIGGERS):
        op.execute(ddl)


def _unescape_article_documents() -> None:
    """Rewrite each stored article document that holds \\u escapes with the letters themselves; same JSON value."""
    bind = op.get_bind()
    # Read as text: a PostgreSQL driver would hand the json column back parsed, escapes gone unseen.
    select = sa.text("SELECT id, CAST(doc AS TEXT) AS doc FROM articles WHERE id > :after ORDER BY id LIMIT :n")
    cast = "CAST(:doc AS JSON)" if bind.dialect.name == "postgresql" else ":doc"
    update = sa.text(f"UPDATE articles SET doc = {cast} WHERE id = :id")
    after = ""
    while rows := bind.execute(select, {"after": after, "n": _BATCH}).all():
        changed = [{"id": row.id, "doc": doc} for row in rows if (doc := _letters(row.doc)) is not None]
        if changed:
            bind.execute(update, changed)
        after = rows[-1].id


def _letters(stored: str) -> str | None:
    """The document with letters instead of escapes, or None when there is nothing to change (or it cannot be)."""
    if "\\u" not in stored:
        return None
    try:
        rewritten = json.dumps(json.loads(stored), ensure_ascii=False)
        rewritten.encode("utf-8")  # a lone surrogate escape stays an escape: the row is kept as it was
    except (ValueError, UnicodeEncodeError):
        return None
    return rewritten if len(rewritten) < len(stored) else None
