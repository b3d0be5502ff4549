"""Every table of the state DB at the newest revision: a change here needs a new revision in migrations/versions/."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "newsmon_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

feed_state = Table(
    "feed_state",
    metadata,
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
    Column("configured_url", Text),
)

seen_entries = Table(
    "seen_entries",
    metadata,
    Column("feed_id", String(128), primary_key=True),
    Column("entry_key", String(64), primary_key=True),  # sha256 of the entry id/link
    Column("outcome", String(32), nullable=False),  # staged | duplicate | skipped:<reason>
    Column("article_id", String(64)),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

# Staged and indexed articles. `doc` is the full serialised Article (see core/documents.py).
articles = Table(
    "articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("canonical_url", Text, nullable=False),
    Column("feed_id", String(128)),
    Column("source", String(256)),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("published_at", DateTime(timezone=True)),
    Column("staged_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # staged | clustered | indexed
    Column("index_error", Text),
    Column("cluster_id", String(64), index=True),
    Column("duplicate_of", String(64)),
    Column("dup_reason", String(16)),
    Column("alerted", Boolean, nullable=False, default=False),
    Column("doc", JSON, nullable=False),
)

clusters = Table(
    "clusters",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("first_article_id", String(64), nullable=False),
    Column("size", Integer, nullable=False, default=1),
    Column("outlets", JSON, nullable=False),
)

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(128), nullable=False),
    Column("cluster_id", String(64), nullable=False),
    Column("article_id", String(64), nullable=False),
    Column("mode", String(16), nullable=False, default="instant"),
    Column("status", String(16), nullable=False, default="pending"),  # pending | sending (claimed by a worker) | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("payload", JSON, nullable=False),
    # '' for the story's alert; for a story update, the later copy it reports (each copy at most once per rule).
    Column("copy_id", String(64), nullable=False, default="", server_default=""),
    # Kept back by quiet hours, a rate limit or a mute for at least one channel until then; any delivery run
    # sends it (with the others held for that channel, as one digest) once the time has passed.
    Column("held_until", DateTime(timezone=True)),
    Column("held_reason", Text),
    UniqueConstraint("rule", "cluster_id", "copy_id", name="uq_outbox_rule_story_copy"),
)

# One row per message a channel took (newsmon/alerts/outbox.py): what a rule's max_per_hour counts. Added, with the
# outbox's copy_id, held_until and held_reason, by revision 0005 (v0005_alert_holds_updates_sends.py).
alert_sends = Table(
    "alert_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(128), nullable=False),
    Column("channel", String(16), nullable=False),  # channel_key(url): never the URL itself
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # alert | digest | held | update
    Column("stories", Integer, nullable=False),
    Column("key", String(300), nullable=False),  # the message's idempotency key (its Message-ID basis)
    Index("ix_alert_sends_rule_channel_sent_at", "rule", "channel", "sent_at"),
)

# One row per stage run with what it counted (newsmon/store/runs.py; `newsmon runs` lists them).
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stage", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("counts", JSON, nullable=False),
)

# The feed-health verdict last sent to the operator channels, per feed (newsmon/store/health.py): the report
# goes out when a verdict changes, not every day for the same silent feed. One row per configured feed.
feed_health_reports = Table(
    "feed_health_reports",
    metadata,
    Column("feed_id", String(128), primary_key=True),
    Column("verdict", String(16), nullable=False),
    Column("detail", Text),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)

# ---------------------------------------------------------------- story clusters (newsmon/store/clusters.py)

dedup_docs = Table(
    "dedup_docs",
    metadata,
    Column("article_id", String(64), primary_key=True),
    # Insertion order; LSH bands refer to it because an 8-byte integer keeps band rows 3x smaller than the hex id.
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("cluster_id", String(64), nullable=False, index=True),
    Column("duplicate_of", String(64)),
    Column("dup_reason", String(16)),
    Column("content_hash", String(64), index=True),  # NULL for texts too short to match
    Column("shingles", Integer, nullable=False, default=0),
    Column("signature", LargeBinary),  # NUM_PERM little-endian uint32; NULL for short texts
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),  # published_at, else fetched_at
    Column("source", String(256)),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

# The three band tables are the levels of a log-structured merge (see MERGE_EVERY_DOCS in newsmon/store/clusters.py).
def _band_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("band_key", BigInteger, primary_key=True),
        Column("doc_seq", BigInteger, primary_key=True),
        sqlite_with_rowid=False,
    )


dedup_bands = _band_table("dedup_bands")
dedup_bands_mid = _band_table("dedup_bands_mid")
dedup_bands_recent = _band_table("dedup_bands_recent")
BAND_TABLES = (dedup_bands, dedup_bands_mid, dedup_bands_recent)
dedup_common_bands = Table(
    "dedup_common_bands",
    metadata,
    Column("band_key", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)

# One row whose update every assign_clusters call makes first: it serialises concurrent callers
# (SQLite's write lock, PostgreSQL's row lock) so two workers never both decide "new story".
dedup_lock = Table(
    "dedup_lock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", Integer, nullable=False, default=0),
)

# ---------------------------------------------------------------- event-level stories (newsmon/store/stories.py)
# Added by revision 0003 (newsmon/store/migrations/versions/v0003_stories.py).

# One row per story: its oldest article gives it its id; languages and outlets are what `newsmon stories`,
# search and digests show about it.
stories = Table(
    "stories",
    metadata,
    Column("story_id", String(64), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("first_article_id", String(64), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, index=True),
    Column("size", Integer, nullable=False, default=1),
    Column("languages", JSON, nullable=False),
    Column("outlets", JSON, nullable=False),
)

# One row per clustered article: its story (changed only when its story merges into an older one), what
# a listing shows about it, and the signals its pair decisions compare (newsmon.enrich.story_signals).
story_members = Table(
    "story_members",
    metadata,
    Column("article_id", String(64), primary_key=True),
    Column("story_id", String(64), nullable=False, index=True),
    Column("cluster_id", String(64), nullable=False, index=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
    Column("language", String(16)),
    Column("source", String(256)),
    Column("affiliation", String(32)),
    Column("title", Text),
    Column("url", Text),
    Column("signals", JSON, nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

# Blocking keys: which articles of which day carry a date, quantity, name or entity (the candidates a new
# article is compared with are the rows of its keys within the time window, never the whole archive).
story_keys = Table(
    "story_keys",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("day", Integer, primary_key=True),  # days since 1970-01-01 of the article's seen_at
    Column("article_id", String(64), primary_key=True),
    sqlite_with_rowid=False,
)

# ---------------------------------------------------------------- embedded search index (newsmon/store/sqlite_index.py)

# search_docs, its FTS5 index search_fts and their triggers exist on SQLite only. They are created by
# revision 0001 (newsmon/store/migrations/baseline.py); a change to them is a new revision.
