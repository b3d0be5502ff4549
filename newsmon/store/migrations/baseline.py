"""The state DB schema of newsmon before migrations, frozen: revision 0001 creates it, and adopting an old DB checks it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# A copy, not an import of newsmon/store/schema.py: that module describes the newest schema and changes
# with every revision, while revision 0001 must build the same tables forever.
BASELINE_TABLES = (
    "newsmon_meta", "feed_state", "seen_entries", "articles", "clusters", "alert_outbox", "runs",
    "dedup_docs", "dedup_bands", "dedup_bands_mid", "dedup_bands_recent", "dedup_common_bands", "dedup_lock",
)


def baseline_metadata() -> MetaData:
    """Every table of revision 0001, as newsmon created them with create_all() before it had migrations."""
    md = MetaData()
    Table("newsmon_meta", md,
          Column("key", String(64), primary_key=True),
          Column("value", String(256), nullable=False))
    Table("feed_state", md,
          Column("feed_id", String(128), primary_key=True),
          Column("url", Text, nullable=False),
          Column("etag", Text),
          Column("last_modified", Text),
          Column("body_hash", String(64)),
          Column("next_poll_at", DateTime(timezone=True)),
          Column("last_polled_at", DateTime(timezone=True)),
          Column("last_success_at", DateTime(timezone=True)),
          Column("last_error", Text),
          Column("failures", Integer, nullable=False, default=0),
          Column("interval_s", Integer),
          Column("disabled_reason", Text),
          Column("items_seen", Integer, nullable=False, default=0),
          Column("configured_url", Text))
    Table("seen_entries", md,
          Column("feed_id", String(128), primary_key=True),
          Column("entry_key", String(64), primary_key=True),
          Column("outcome", String(32), nullable=False),
          Column("article_id", String(64)),
          Column("seen_at", DateTime(timezone=True), nullable=False))
    Table("articles", md,
          Column("id", String(64), primary_key=True),
          Column("canonical_url", Text, nullable=False),
          Column("feed_id", String(128)),
          Column("source", String(256)),
          Column("content_hash", String(64), nullable=False, index=True),
          Column("published_at", DateTime(timezone=True)),
          Column("staged_at", DateTime(timezone=True), nullable=False),
          Column("status", String(16), nullable=False, index=True),
          Column("index_error", Text),
          Column("cluster_id", String(64), index=True),
          Column("duplicate_of", String(64)),
          Column("dup_reason", String(16)),
          Column("alerted", Boolean, nullable=False, default=False),
          Column("doc", JSON, nullable=False))
    Table("clusters", md,
          Column("cluster_id", String(64), primary_key=True),
          Column("first_seen_at", DateTime(timezone=True), nullable=False),
          Column("first_article_id", String(64), nullable=False),
          Column("size", Integer, nullable=False, default=1),
          Column("outlets", JSON, nullable=False))
    Table("alert_outbox", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("rule", String(128), nullable=False),
          Column("cluster_id", String(64), nullable=False),
          Column("article_id", String(64), nullable=False),
          Column("mode", String(16), nullable=False, default="instant"),
          Column("status", String(16), nullable=False, default="pending"),
          Column("attempts", Integer, nullable=False, default=0),
          Column("next_attempt_at", DateTime(timezone=True)),
          Column("last_error", Text),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("sent_at", DateTime(timezone=True)),
          Column("payload", JSON, nullable=False),
          UniqueConstraint("rule", "cluster_id", name="uq_outbox_rule_cluster"))
    Table("runs", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("stage", String(32), nullable=False),
          Column("started_at", DateTime(timezone=True), nullable=False),
          Column("finished_at", DateTime(timezone=True)),
          Column("counts", JSON, nullable=False),
          Column("relevance", Float))
    Table("dedup_docs", md,
          Column("article_id", String(64), primary_key=True),
          Column("seq", BigInteger, nullable=False, unique=True),
          Column("cluster_id", String(64), nullable=False, index=True),
          Column("duplicate_of", String(64)),
          Column("dup_reason", String(16)),
          Column("content_hash", String(64), index=True),
          Column("shingles", Integer, nullable=False, default=0),
          Column("signature", LargeBinary),
          Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
          Column("source", String(256)),
          Column("assigned_at", DateTime(timezone=True), nullable=False))
    for name in ("dedup_bands", "dedup_bands_mid", "dedup_bands_recent"):
        Table(name, md,
              Column("band_key", BigInteger, primary_key=True),
              Column("doc_seq", BigInteger, primary_key=True),
              sqlite_with_rowid=False)
    Table("dedup_common_bands", md,
          Column("band_key", BigInteger, primary_key=True),
          sqlite_with_rowid=False)
    Table("dedup_lock", md,
          Column("id", Integer, primary_key=True),
          Column("generation", Integer, nullable=False, default=0))
    return md


# The embedded search index (SQLite only): a documents table, its FTS5 index and the triggers that keep the
# index in step. IF NOT EXISTS: adopting a pre-migration DB runs them over what it already has.
SQLITE_SEARCH_DDL = (
    """CREATE TABLE IF NOT EXISTS search_docs (
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
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_search_docs_published ON search_docs (published_at)",
    "CREATE INDEX IF NOT EXISTS ix_search_docs_cluster ON search_docs (cluster_id)",
    # title_f/text_f/summary_f hold newsmon.enrich.textnorm.fold() of each field: unicode61 strips combining
    # diacritics (š, č, ą) but keeps letters such as ł, ø, đ whole; the folded copy makes `bialorusia`
    # find `Białorusią` too.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, text, summary, title_f, text_f, summary_f, content='search_docs', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES (new.rowid, new.title, new.text, new.summary, new.title_f, new.text_f, new.summary_f);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, text, summary, title_f, text_f, summary_f)
        VALUES ('delete', old.rowid, old.title, old.text, old.summary, old.title_f, old.text_f, old.summary_f);
    END""",
)
