"""Writing a clustered batch: fingerprints, band rows, common bands, the band-table merges and cluster stats."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Table, select, update

from newsmon.store.clusters_lsh import chunks, utc
from newsmon.store.schema import (
    clusters,
    dedup_bands,
    dedup_bands_mid,
    dedup_bands_recent,
    dedup_common_bands,
    dedup_docs,
)

# The band index is a three-level log-structured merge: new rows go to the small `dedup_bands_recent`
# table, which is moved in key order into `dedup_bands_mid` every MERGE_EVERY_DOCS articles; the mid
# table is moved into the large `dedup_bands` table every MERGE_EVERY_DOCS * MID_MERGES articles.
# Random-key inserts into one big B-tree dirty a page per row once it outgrows the batch, and a key-order
# merge rewrites every page of the table it lands in: with two levels, each merge rewrote the whole
# archive (quadratic in its size); with three, the frequent merges rewrite only the mid table.
MERGE_EVERY_DOCS = 4000
MID_MERGES = 8


@dataclass
class ClusterDelta:
    """What one batch adds to one cluster."""

    added: int = 0
    first_seen_at: datetime | None = None
    first_article_id: str | None = None
    outlets: set[str] = field(default_factory=set)


@dataclass
class BatchWrites:
    """Everything a decided batch writes: new doc rows (in seq order), band rows, common bands, cluster deltas."""

    doc_rows: list[dict] = field(default_factory=list)
    band_rows: list[tuple[int, int]] = field(default_factory=list)
    deltas: dict[str, ClusterDelta] = field(default_factory=lambda: defaultdict(ClusterDelta))


def persist(conn: Connection, writes: BatchWrites, new_common: list[int]) -> None:
    """Write the batch in the caller's transaction, and run the band-table merges its seqs have come to."""
    if new_common:
        conn.exec_driver_sql(
            f"INSERT INTO {dedup_common_bands.name} (band_key) VALUES ({placeholder(conn)})",
            [(key,) for key in sorted(new_common)],
        )
    if writes.doc_rows:
        conn.execute(dedup_docs.insert(), writes.doc_rows)
        _insert_bands(conn, writes.band_rows)
        first_seq, last_seq = writes.doc_rows[0]["seq"], writes.doc_rows[-1]["seq"]
        if _crossed_multiple(first_seq, last_seq, MERGE_EVERY_DOCS):
            merge_recent_bands(conn)
        if _crossed_multiple(first_seq, last_seq, MERGE_EVERY_DOCS * MID_MERGES):
            _move_bands(conn, dedup_bands_mid, dedup_bands)
    _update_clusters(conn, writes.deltas)


def placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _crossed_multiple(first_seq: int, last_seq: int, every: int) -> bool:
    """Whether this batch's sequence numbers passed a multiple of `every` (time for that merge)."""
    return (first_seq - 1) // every != last_seq // every


def _insert_bands(conn: Connection, rows: list[tuple[int, int]]) -> None:
    # 64 rows per article: plain DBAPI executemany, because SQLAlchemy's per-row parameter handling
    # costs more than the insert itself at this volume.
    if not rows:
        return
    # In key order, each B-tree page is visited once per batch instead of once per row.
    rows = sorted(rows)
    mark = placeholder(conn)
    statement = f"INSERT INTO {dedup_bands_recent.name} (band_key, doc_seq) VALUES ({mark}, {mark})"
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


def _update_clusters(conn: Connection, deltas: dict[str, ClusterDelta]) -> None:
    if not deltas:
        return
    existing = {}
    cluster_ids = sorted(deltas)
    for chunk in chunks(cluster_ids):
        for row in conn.execute(select(clusters).where(clusters.c.cluster_id.in_(chunk))):
            existing[row.cluster_id] = row
    inserts = []
    for cluster_id in cluster_ids:
        delta = deltas[cluster_id]
        assert delta.first_seen_at is not None and delta.first_article_id is not None
        row = existing.get(cluster_id)
        if row is None:
            inserts.append({"cluster_id": cluster_id, "first_seen_at": delta.first_seen_at,
                            "first_article_id": delta.first_article_id, "size": delta.added,
                            "outlets": sorted(delta.outlets)})
        else:
            _grow_cluster(conn, row, delta)
    if inserts:
        conn.execute(clusters.insert(), inserts)


def _grow_cluster(conn: Connection, row, delta: ClusterDelta) -> None:
    """Add a batch's articles to a stored cluster: size, outlets, and the first article if one is older."""
    first_seen_at, first_article_id = utc(row.first_seen_at), row.first_article_id
    if (delta.first_seen_at, delta.first_article_id) < (first_seen_at, first_article_id):
        first_seen_at, first_article_id = delta.first_seen_at, delta.first_article_id
    conn.execute(
        update(clusters)
        .where(clusters.c.cluster_id == row.cluster_id)
        .values(
            size=row.size + delta.added,
            outlets=sorted(set(row.outlets or ()) | delta.outlets),
            first_seen_at=first_seen_at,
            first_article_id=first_article_id,
        )
    )
