"""Story clusters: persisted MinHash-LSH state and deterministic, idempotent assignment of staged articles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import (
    Connection,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.dialects import sqlite

from newsmon.core.records import Article
from newsmon.enrich.dedup import (
    MIN_WORDS_FOR_MATCH,
    NUM_PERM,
    count_shingles,
    estimated_containment,
    fingerprint,
    words,
)
from newsmon.store.schema import (
    BAND_TABLES,
    clusters,
    dedup_bands,
    dedup_bands_mid,
    dedup_bands_recent,
    dedup_common_bands,
    dedup_docs,
    dedup_lock,
)

# LSH banding: 64 bands of 2 rows over the 128 MinHash values. A pair becomes a candidate with
# probability 1-(1-J²)^64: 0.93 at Jaccard 0.2, 0.998 at 0.3, so truncated copies and updated
# versions (low Jaccard, high containment) are still found; candidates are then verified.
LSH_BANDS = 64
LSH_ROWS = NUM_PERM // LSH_BANDS
# Verification thresholds on the estimated similarity, chosen from bench/eval_dedup.py (docs/dedup.md).
# Containment 0.6 (not 0.5) keeps two different short articles in one outlet's header/footer template
# apart (they reach about 0.45); teasers, truncated and updated copies sit at 0.65 and above.
NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.6
# A much shorter text must still share this Jaccard: a 60-word teaser "contained" in a
# 2,000-word feature by chance is noise in the estimate, not a story match.
MIN_JACCARD_FOR_CONTAINMENT = 0.1
# A band bucket holding more articles than this is template text (an outlet's boilerplate): new
# articles are no longer added to it, which keeps every lookup bounded as the index grows.
BUCKET_CAP = 48
# A full bucket whose members belong to at least this many different stories is common text (an
# outlet's header and footer, a stock phrase), the LSH counterpart of a stop word: it is recorded in
# `dedup_common_bands` and no longer looked up at all. Copies of one story share many bands, so losing
# a common one never hides them; and a full bucket of one big story (one cluster) stays in use.
COMMON_BUCKET_CLUSTERS = 8
# The band index is a three-level log-structured merge: new rows go to the small `dedup_bands_recent`
# table, which is moved in key order into `dedup_bands_mid` every MERGE_EVERY_DOCS articles; the mid
# table is moved into the large `dedup_bands` table every MERGE_EVERY_DOCS * MID_MERGES articles.
# Random-key inserts into one big B-tree dirty a page per row once it outgrows the batch, and a key-order
# merge rewrites every page of the table it lands in: with two levels, each merge rewrote the whole
# archive (quadratic in its size); with three, the frequent merges rewrite only the mid table.
MERGE_EVERY_DOCS = 4000
MID_MERGES = 8


@dataclass
class _Doc:
    seq: int
    article_id: str
    cluster_id: str
    seen_at: datetime
    shingles: int
    signature: np.ndarray | None


@dataclass
class _ClusterDelta:
    added: int = 0
    first_seen_at: datetime | None = None
    first_article_id: str | None = None
    outlets: set[str] = field(default_factory=set)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone=True columns; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _seen_at(article: Article) -> datetime:
    return _utc(article.published_at or article.fetched_at)


def _order_key(article: Article) -> tuple[datetime, str]:
    return (_seen_at(article), article.id)


_ROW_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)
_BAND_SALTS = (np.arange(1, LSH_BANDS + 1, dtype=np.uint64) * np.uint64(0xFF51AFD7ED558CCD))


def band_keys(signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per LSH band (the band number is mixed in, so bands never collide)."""
    rows = signature.astype(np.uint64).reshape(LSH_BANDS, LSH_ROWS)
    with np.errstate(over="ignore"):
        keys = _BAND_SALTS.copy()
        for row in range(LSH_ROWS):
            keys = (keys ^ (rows[:, row] + np.uint64(row))) * _ROW_MULTIPLIERS[row % len(_ROW_MULTIPLIERS)]
        keys ^= keys >> np.uint64(31)
    # Stored as SQL BIGINT, which is signed.
    return keys.view(np.int64).tolist()


def _outlet(article: Article) -> str:
    return article.source or article.site_name or article.canonical_url.split("/")[2]


def take_dedup_lock(conn: Connection) -> None:
    """Serialise clustering: held until `conn`'s transaction ends; later callers wait (SQLite busy timeout, row lock)."""
    if conn.dialect.name in {"sqlite", "postgresql"}:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # imported here: only a PostgreSQL state DB needs its dialect

            insert = postgresql.insert
        else:
            insert = sqlite.insert
        stmt = insert(dedup_lock).values(id=1, generation=1)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"generation": dedup_lock.c.generation + 1})
        conn.execute(stmt)
    else:
        if not conn.execute(update(dedup_lock).where(dedup_lock.c.id == 1).values(generation=dedup_lock.c.generation + 1)).rowcount:
            conn.execute(dedup_lock.insert().values(id=1, generation=1))


def _chunks(items: Sequence, size: int = 900) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def assign_clusters(conn: Connection, articles: Sequence[Article], now: datetime) -> list[Article]:
    """Give each article its story cluster, persisting fingerprints, LSH bands and cluster stats.

    Layers: same normalised text (dup_reason "exact") → near-duplicate by MinHash-LSH, verified on
    estimated Jaccard or containment ("near") → otherwise a new cluster whose id is the article id.
    Articles are processed oldest first (published_at, else fetched_at, then id), so the result does
    not depend on input order; an article assigned before keeps its stored assignment. Returns the
    articles in input order.
    """
    if not articles:
        return []
    take_dedup_lock(conn)  # callers that read what to cluster take it before reading; taking it twice is harmless
    ordered = sorted({a.id: a for a in articles}.values(), key=_order_key)
    ids = [a.id for a in ordered]

    stored: dict[str, tuple[str, str | None, str | None]] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(dedup_docs.c.article_id, dedup_docs.c.cluster_id, dedup_docs.c.duplicate_of, dedup_docs.c.dup_reason)
            .where(dedup_docs.c.article_id.in_(chunk))
        )
        for row in rows:
            stored[row.article_id] = (row.cluster_id, row.duplicate_of, row.dup_reason)

    fresh = [a for a in ordered if a.id not in stored]
    prepared = {a.id: _prepare(a) for a in fresh}

    # Everything the batch may match, loaded in a few queries: earlier docs with the same text hash,
    # and the members of every LSH bucket the batch's bands fall into.
    hashes = sorted({p.content_hash for p in prepared.values() if p.content_hash})
    by_hash: dict[str, tuple[datetime, str, str]] = {}
    for chunk in _chunks(hashes):
        for row in conn.execute(
            select(dedup_docs.c.content_hash, dedup_docs.c.seen_at, dedup_docs.c.article_id, dedup_docs.c.cluster_id)
            .where(dedup_docs.c.content_hash.in_(chunk))
        ):
            entry = (_utc(row.seen_at), row.article_id, row.cluster_id)
            if row.content_hash not in by_hash or entry < by_hash[row.content_hash]:
                by_hash[row.content_hash] = entry

    all_keys = sorted({k for p in prepared.values() for k in p.band_keys})
    common: set[int] = set()
    for chunk in _chunks(all_keys):
        common.update(
            conn.execute(select(dedup_common_bands.c.band_key).where(dedup_common_bands.c.band_key.in_(chunk))).scalars()
        )
    lookup_keys = [key for key in all_keys if key not in common]
    buckets: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(lookup_keys):
        for table in BAND_TABLES:
            for row in conn.execute(select(table.c.band_key, table.c.doc_seq).where(table.c.band_key.in_(chunk))):
                buckets[row.band_key].append(row.doc_seq)

    candidate_seqs = sorted({member for members in buckets.values() for member in members})
    docs: dict[int, _Doc] = {}
    for chunk in _chunks(candidate_seqs):
        for row in conn.execute(
            select(
                dedup_docs.c.seq,
                dedup_docs.c.article_id,
                dedup_docs.c.cluster_id,
                dedup_docs.c.seen_at,
                dedup_docs.c.shingles,
                dedup_docs.c.signature,
            ).where(dedup_docs.c.seq.in_(chunk))
        ):
            signature = np.frombuffer(row.signature, dtype="<u4") if row.signature else None
            docs[row.seq] = _Doc(row.seq, row.article_id, row.cluster_id, _utc(row.seen_at), row.shingles, signature)
    next_seq = (conn.execute(select(func.max(dedup_docs.c.seq))).scalar() or 0) + 1
    # Full buckets stored before common buckets were recorded are classified on first sight.
    new_common = [key for key, members in buckets.items() if _is_common(members, docs)]
    for key in new_common:
        common.add(key)
        del buckets[key]

    results: dict[str, Article] = {}
    new_doc_rows: list[dict] = []
    new_band_rows: list[tuple[int, int]] = []
    deltas: dict[str, _ClusterDelta] = defaultdict(_ClusterDelta)
    for article in ordered:
        if article.id in stored:
            cluster_id, duplicate_of, dup_reason = stored[article.id]
            results[article.id] = replace(article, cluster_id=cluster_id, duplicate_of=duplicate_of, dup_reason=dup_reason)
            continue
        prep = prepared[article.id]
        seen_at = _seen_at(article)
        cluster_id, duplicate_of, dup_reason = article.id, None, None
        if prep.content_hash and prep.content_hash in by_hash:
            _, duplicate_of, cluster_id = by_hash[prep.content_hash]
            dup_reason = "exact"
        elif prep.signature is not None:
            match = _best_near_match(prep, buckets, docs)
            if match is not None:
                duplicate_of, cluster_id, dup_reason = match.article_id, match.cluster_id, "near"

        results[article.id] = replace(article, cluster_id=cluster_id, duplicate_of=duplicate_of, dup_reason=dup_reason)
        seq, next_seq = next_seq, next_seq + 1
        new_doc_rows.append(
            {
                "article_id": article.id,
                "seq": seq,
                "cluster_id": cluster_id,
                "duplicate_of": duplicate_of,
                "dup_reason": dup_reason,
                "content_hash": prep.content_hash,
                "shingles": prep.shingles,
                "signature": prep.signature.astype("<u4").tobytes() if prep.signature is not None else None,
                "seen_at": seen_at,
                "source": _outlet(article)[:256],
                "assigned_at": now,
            }
        )
        delta = deltas[cluster_id]
        delta.added += 1
        delta.outlets.add(_outlet(article))
        if delta.first_seen_at is None or (seen_at, article.id) < (delta.first_seen_at, delta.first_article_id or ""):
            delta.first_seen_at, delta.first_article_id = seen_at, article.id

        # Later articles of this batch see this one exactly as they would see a stored one.
        if prep.content_hash and prep.content_hash not in by_hash:
            by_hash[prep.content_hash] = (seen_at, article.id, cluster_id)
        # An exact copy has the same bands as the article it copies: indexing it again would only
        # fill buckets with twins.
        if prep.signature is not None and dup_reason != "exact":
            docs[seq] = _Doc(seq, article.id, cluster_id, seen_at, prep.shingles, prep.signature)
            for key in prep.band_keys:
                if key in common:
                    continue
                members = buckets[key]
                if len(members) < BUCKET_CAP:
                    members.append(seq)
                    new_band_rows.append((key, seq))
                    if _is_common(members, docs):
                        common.add(key)
                        new_common.append(key)
                        del buckets[key]

    if new_common:
        conn.exec_driver_sql(
            f"INSERT INTO {dedup_common_bands.name} (band_key) VALUES ({_placeholder(conn)})",
            [(key,) for key in sorted(new_common)],
        )
    if new_doc_rows:
        conn.execute(dedup_docs.insert(), new_doc_rows)
        _insert_bands(conn, new_band_rows)
        first_seq, last_seq = new_doc_rows[0]["seq"], new_doc_rows[-1]["seq"]
        if _crossed_multiple(first_seq, last_seq, MERGE_EVERY_DOCS):
            merge_recent_bands(conn)
        if _crossed_multiple(first_seq, last_seq, MERGE_EVERY_DOCS * MID_MERGES):
            _move_bands(conn, dedup_bands_mid, dedup_bands)
    _update_clusters(conn, deltas, now)
    return [results[a.id] for a in articles]


def _crossed_multiple(first_seq: int, last_seq: int, every: int) -> bool:
    """Whether this batch's sequence numbers passed a multiple of `every` (time for that merge)."""
    return (first_seq - 1) // every != last_seq // every


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _is_common(members: list[int], docs: dict[int, _Doc]) -> bool:
    if len(members) < BUCKET_CAP:
        return False
    stories = {docs[member].cluster_id for member in members if member in docs}
    return len(stories) >= COMMON_BUCKET_CLUSTERS


def _insert_bands(conn: Connection, rows: list[tuple[int, int]]) -> None:
    # 64 rows per article: plain DBAPI executemany, because SQLAlchemy's per-row parameter handling
    # costs more than the insert itself at this volume.
    if not rows:
        return
    # In key order, each B-tree page is visited once per batch instead of once per row.
    rows = sorted(rows)
    placeholder = _placeholder(conn)
    statement = f"INSERT INTO {dedup_bands_recent.name} (band_key, doc_seq) VALUES ({placeholder}, {placeholder})"
    conn.exec_driver_sql(statement, rows)


def merge_recent_bands(conn: Connection) -> None:
    """Move the recent band rows into the mid-level band table, in key order (one sequential pass)."""
    _move_bands(conn, dedup_bands_recent, dedup_bands_mid)


def _move_bands(conn: Connection, source: Table, target: Table) -> None:
    conn.exec_driver_sql(
        f"INSERT INTO {target.name} (band_key, doc_seq) "
        f"SELECT band_key, doc_seq FROM {source.name} ORDER BY band_key, doc_seq"
    )
    conn.exec_driver_sql(f"DELETE FROM {source.name}")


@dataclass
class _Prepared:
    content_hash: str | None
    shingles: int
    signature: np.ndarray | None
    band_keys: list[int]


def _prepare(article: Article) -> _Prepared:
    tokens = words(article.text)
    if len(tokens) < MIN_WORDS_FOR_MATCH:
        return _Prepared(None, 0, None, [])
    signature_values = article.fingerprint if len(article.fingerprint) == NUM_PERM else fingerprint(article.text)
    signature = np.asarray(signature_values, dtype=np.uint32)
    # The staged hash came from newsmon.enrich.dedup.content_hash on the same text; trust it, it is cheaper.
    return _Prepared(article.content_hash, count_shingles(tokens), signature, band_keys(signature))


def _best_near_match(prep: _Prepared, buckets: dict[int, list[int]], docs: dict[int, _Doc]) -> _Doc | None:
    candidates = {member for key in prep.band_keys for member in buckets.get(key, ())}
    best: tuple[float, float, datetime, str] | None = None
    best_doc: _Doc | None = None
    assert prep.signature is not None
    for candidate in candidates:
        doc = docs.get(candidate)
        if doc is None or doc.signature is None:
            continue
        jaccard = float(np.count_nonzero(prep.signature == doc.signature)) / NUM_PERM
        containment = estimated_containment(jaccard, prep.shingles, doc.shingles)
        if not is_same_story(jaccard, containment):
            continue
        # Strongest evidence wins; ties go to the older article so the choice is order-independent.
        rank = (-containment, -jaccard, doc.seen_at, doc.article_id)
        if best is None or rank < best:
            best, best_doc = rank, doc
    return best_doc


def is_same_story(jaccard: float, containment: float) -> bool:
    """The near-duplicate decision on estimated similarities (also used by the evaluation)."""
    return jaccard >= NEAR_JACCARD or (containment >= NEAR_CONTAINMENT and jaccard >= MIN_JACCARD_FOR_CONTAINMENT)


def _update_clusters(conn: Connection, deltas: dict[str, _ClusterDelta], now: datetime) -> None:
    if not deltas:
        return
    existing = {}
    cluster_ids = sorted(deltas)
    for chunk in _chunks(cluster_ids):
        for row in conn.execute(select(clusters).where(clusters.c.cluster_id.in_(chunk))):
            existing[row.cluster_id] = row
    inserts = []
    for cluster_id in cluster_ids:
        delta = deltas[cluster_id]
        assert delta.first_seen_at is not None and delta.first_article_id is not None
        row = existing.get(cluster_id)
        if row is None:
            inserts.append(
                {
                    "cluster_id": cluster_id,
                    "first_seen_at": delta.first_seen_at,
                    "first_article_id": delta.first_article_id,
                    "size": delta.added,
                    "outlets": sorted(delta.outlets),
                }
            )
            continue
        first_seen_at, first_article_id = _utc(row.first_seen_at), row.first_article_id
        if (delta.first_seen_at, delta.first_article_id) < (first_seen_at, first_article_id):
            first_seen_at, first_article_id = delta.first_seen_at, delta.first_article_id
        conn.execute(
            update(clusters)
            .where(clusters.c.cluster_id == cluster_id)
            .values(
                size=row.size + delta.added,
                outlets=sorted(set(row.outlets or ()) | delta.outlets),
                first_seen_at=first_seen_at,
                first_article_id=first_article_id,
            )
        )
    if inserts:
        conn.execute(clusters.insert(), inserts)


def prune_lsh(conn: Connection, older_than: datetime, *, limit: int = 10_000) -> int:
    """Drop the LSH bands and signatures of articles seen before `older_than`; returns how many articles.

    For the maintenance DAG: copies of a story arrive within days, so a window of a few weeks keeps
    near-duplicate detection where it matters while the band table stops growing with the archive.
    Pruned articles keep their cluster and content hash, so exact copies and reruns still resolve.
    """
    rows = conn.execute(
        select(dedup_docs.c.article_id, dedup_docs.c.seq, dedup_docs.c.signature)
        .where(dedup_docs.c.seen_at < older_than, dedup_docs.c.signature.is_not(None))
        .order_by(dedup_docs.c.seen_at)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    # Band keys are recomputed from the stored signature, so the delete uses the primary key.
    keys = [(key, row.seq) for row in rows for key in band_keys(np.frombuffer(row.signature, dtype="<u4"))]
    placeholder = _placeholder(conn)
    for table in BAND_TABLES:
        conn.exec_driver_sql(
            f"DELETE FROM {table.name} WHERE band_key = {placeholder} AND doc_seq = {placeholder}", sorted(keys)
        )
    ids = [row.article_id for row in rows]
    for chunk in _chunks(ids):
        conn.execute(update(dedup_docs).where(dedup_docs.c.article_id.in_(chunk)).values(signature=None))
    return len(ids)


def cluster_info(conn: Connection, cluster_ids: Iterable[str]) -> dict[str, dict]:
    """Size, first-seen time, first article and outlets per cluster: what "also reported by N outlets" shows."""
    result: dict[str, dict] = {}
    for chunk in _chunks(sorted(set(cluster_ids))):
        for row in conn.execute(select(clusters).where(clusters.c.cluster_id.in_(chunk))):
            outlets = list(row.outlets or ())
            result[row.cluster_id] = {
                "cluster_id": row.cluster_id,
                "size": row.size,
                "first_seen_at": _utc(row.first_seen_at),
                "first_article_id": row.first_article_id,
                "outlets": outlets,
                "outlet_count": len(outlets),
            }
    return result
