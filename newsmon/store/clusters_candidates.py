"""What a batch of articles may match, read from the state DB in a few queries: stored copies and LSH buckets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, func, select

from newsmon.store.clusters_lsh import Prepared, StoredDoc, chunks, is_common, utc
from newsmon.store.db import one_of
from newsmon.store.schema import BAND_TABLES, dedup_common_bands, dedup_docs

Assignment = tuple[str, str | None, str | None]  # (cluster_id, duplicate_of, dup_reason)


@dataclass
class Candidates:
    """The part of the index a batch can reach; the batch's own articles are added as they are decided."""

    by_hash: dict[str, tuple[datetime, str, str]]  # content hash → oldest (seen_at, article_id, cluster_id)
    common: set[int]  # band keys of common text, never looked up
    buckets: dict[int, list[int]]  # band key → doc seqs
    docs: dict[int, StoredDoc]  # seq → the doc, for every bucket member
    next_seq: int
    new_common: list[int] = field(default_factory=list)  # common bands found by this batch, to store


def load_assignments(conn: Connection, ids: Sequence[str]) -> dict[str, Assignment]:
    """The stored assignment of every article of ids that was clustered before."""
    stored: dict[str, Assignment] = {}
    for chunk in chunks(ids):
        rows = conn.execute(
            select(dedup_docs.c.article_id, dedup_docs.c.cluster_id, dedup_docs.c.duplicate_of, dedup_docs.c.dup_reason)
            .where(dedup_docs.c.article_id.in_(chunk))
        )
        for row in rows:
            stored[row.article_id] = (row.cluster_id, row.duplicate_of, row.dup_reason)
    return stored


def load_candidates(conn: Connection, prepared: Sequence[Prepared]) -> Candidates:
    """Earlier docs with the same text hash, and the members of every LSH bucket the batch's bands fall into."""
    by_hash = _oldest_by_hash(conn, sorted({p.content_hash for p in prepared if p.content_hash}))
    all_keys = sorted({k for p in prepared for k in p.band_keys})
    common = _common_bands(conn, all_keys)
    buckets = _bucket_members(conn, [key for key in all_keys if key not in common])
    docs = _docs(conn, sorted({member for members in buckets.values() for member in members}))
    next_seq = (conn.execute(select(func.max(dedup_docs.c.seq))).scalar() or 0) + 1
    # Full buckets stored before common buckets were recorded are classified on first sight.
    new_common = [key for key, members in buckets.items() if is_common(members, docs)]
    for key in new_common:
        common.add(key)
        del buckets[key]
    return Candidates(by_hash, common, buckets, docs, next_seq, new_common)


def _oldest_by_hash(conn: Connection, hashes: list[str]) -> dict[str, tuple[datetime, str, str]]:
    by_hash: dict[str, tuple[datetime, str, str]] = {}
    for chunk in chunks(hashes):
        for row in conn.execute(
            select(dedup_docs.c.content_hash, dedup_docs.c.seen_at, dedup_docs.c.article_id, dedup_docs.c.cluster_id)
            .where(dedup_docs.c.content_hash.in_(chunk))
        ):
            entry = (utc(row.seen_at), row.article_id, row.cluster_id)
            if row.content_hash not in by_hash or entry < by_hash[row.content_hash]:
                by_hash[row.content_hash] = entry
    return by_hash


def _common_bands(conn: Connection, keys: list[int]) -> set[int]:
    common: set[int] = set()
    for chunk in chunks(keys):
        common.update(
            conn.execute(select(dedup_common_bands.c.band_key).where(one_of(conn, dedup_common_bands.c.band_key, chunk)))
            .scalars()
        )
    return common


def _bucket_members(conn: Connection, keys: list[int]) -> dict[int, list[int]]:
    buckets: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(keys):
        for table in BAND_TABLES:
            for row in conn.execute(select(table.c.band_key, table.c.doc_seq).where(one_of(conn, table.c.band_key, chunk))):
                buckets[row.band_key].append(row.doc_seq)
    return buckets


def _docs(conn: Connection, seqs: list[int]) -> dict[int, StoredDoc]:
    docs: dict[int, StoredDoc] = {}
    columns = (dedup_docs.c.seq, dedup_docs.c.article_id, dedup_docs.c.cluster_id, dedup_docs.c.seen_at,
               dedup_docs.c.shingles, dedup_docs.c.signature)
    for chunk in chunks(seqs):
        for row in conn.execute(select(*columns).where(dedup_docs.c.seq.in_(chunk))):
            signature = np.frombuffer(row.signature, dtype="<u4") if row.signature else None
            docs[row.seq] = StoredDoc(row.seq, row.article_id, row.cluster_id, utc(row.seen_at), row.shingles, signature)
    return docs
