"""Story clusters: deterministic, idempotent assignment of staged articles (load candidates, decide, persist)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import sqlite

from newsmon.core.records import Article
from newsmon.enrich.dedup import NUM_PERM, estimated_containment
from newsmon.store.clusters_candidates import Assignment, Candidates, load_assignments, load_candidates
from newsmon.store.clusters_lsh import (
    BUCKET_CAP,
    LSH_BANDS,
    LSH_ROWS,
    Prepared,
    StoredDoc,
    band_keys,
    chunks,
    is_common,
    prepare,
    utc,
)
from newsmon.store.clusters_persist import BatchWrites, persist, placeholder
from newsmon.store.schema import BAND_TABLES, clusters, dedup_docs, dedup_lock

__all__ = ["BUCKET_CAP", "LSH_BANDS", "LSH_ROWS", "MIN_JACCARD_FOR_CONTAINMENT", "NEAR_CONTAINMENT", "NEAR_JACCARD",
           "assign_clusters", "cluster_info", "is_same_story", "prune_lsh", "take_dedup_lock"]

# Verification thresholds on the estimated similarity, chosen from bench/eval_dedup.py (docs/dedup.md).
# Containment 0.6 (not 0.5) keeps two different short articles in one outlet's header/footer template
# apart (they reach about 0.45); teasers, truncated and updated copies sit at 0.65 and above.
NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.6
# A much shorter text must still share this Jaccard: a 60-word teaser "contained" in a
# 2,000-word feature by chance is noise in the estimate, not a story match.
MIN_JACCARD_FOR_CONTAINMENT = 0.1


def _seen_at(article: Article) -> datetime:
    return utc(article.published_at or article.fetched_at)


def _order_key(article: Article) -> tuple[datetime, str]:
    return (_seen_at(article), article.id)


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
    assigned = load_assignments(conn, [a.id for a in ordered])
    prepared = {a.id: prepare(a) for a in ordered if a.id not in assigned}
    candidates = load_candidates(conn, list(prepared.values()))
    results, writes = _decide(ordered, assigned, prepared, candidates, now)
    persist(conn, writes, candidates.new_common)
    return [results[a.id] for a in articles]


def _decide(ordered: list[Article], assigned: dict[str, Assignment], prepared: dict[str, Prepared],
            candidates: Candidates, now: datetime) -> tuple[dict[str, Article], BatchWrites]:
    """Each article's cluster, oldest first; each fresh one joins the candidates for the articles after it."""
    results: dict[str, Article] = {}
    writes = BatchWrites()
    for article in ordered:
        if article.id in assigned:
            cluster_id, duplicate_of, dup_reason = assigned[article.id]
        else:
            prep = prepared[article.id]
            cluster_id, duplicate_of, dup_reason = _match(prep, candidates, article.id)
            seq = candidates.next_seq
            candidates.next_seq += 1
            _record(writes, article, prep, seq, (cluster_id, duplicate_of, dup_reason), now)
            _add_to_candidates(candidates, writes, article, prep, seq, cluster_id, dup_reason)
        results[article.id] = replace(article, cluster_id=cluster_id, duplicate_of=duplicate_of, dup_reason=dup_reason)
    return results, writes


def _match(prep: Prepared, candidates: Candidates, article_id: str) -> Assignment:
    """(cluster_id, duplicate_of, dup_reason): an exact copy, else the best near copy, else a cluster of its own."""
    if prep.content_hash and prep.content_hash in candidates.by_hash:
        _, duplicate_of, cluster_id = candidates.by_hash[prep.content_hash]
        return cluster_id, duplicate_of, "exact"
    if prep.signature is not None:
        match = _best_near_match(prep, candidates.buckets, candidates.docs)
        if match is not None:
            return match.cluster_id, match.article_id, "near"
    return article_id, None, None


def _record(writes: BatchWrites, article: Article, prep: Prepared, seq: int, assignment: Assignment,
            now: datetime) -> None:
    """The doc row of a newly assigned article, and what it adds to its cluster."""
    cluster_id, duplicate_of, dup_reason = assignment
    seen_at = _seen_at(article)
    writes.doc_rows.append(
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
    delta = writes.deltas[cluster_id]
    delta.added += 1
    delta.outlets.add(_outlet(article))
    if delta.first_seen_at is None or (seen_at, article.id) < (delta.first_seen_at, delta.first_article_id or ""):
        delta.first_seen_at, delta.first_article_id = seen_at, article.id


def _add_to_candidates(candidates: Candidates, writes: BatchWrites, article: Article, prep: Prepared, seq: int,
                       cluster_id: str, dup_reason: str | None) -> None:
    """Later articles of this batch see this one exactly as they would see a stored one."""
    seen_at = _seen_at(article)
    if prep.content_hash and prep.content_hash not in candidates.by_hash:
        candidates.by_hash[prep.content_hash] = (seen_at, article.id, cluster_id)
    # An exact copy has the same bands as the article it copies: indexing it again would only
    # fill buckets with twins.
    if prep.signature is None or dup_reason == "exact":
        return
    candidates.docs[seq] = StoredDoc(seq, article.id, cluster_id, seen_at, prep.shingles, prep.signature)
    for key in prep.band_keys:
        if key in candidates.common:
            continue
        members = candidates.buckets[key]
        if len(members) < BUCKET_CAP:
            members.append(seq)
            writes.band_rows.append((key, seq))
            if is_common(members, candidates.docs):
                candidates.common.add(key)
                candidates.new_common.append(key)
                del candidates.buckets[key]


def _best_near_match(prep: Prepared, buckets: dict[int, list[int]], docs: dict[int, StoredDoc]) -> StoredDoc | None:
    candidates = {member for key in prep.band_keys for member in buckets.get(key, ())}
    best: tuple[float, float, datetime, str] | None = None
    best_doc: StoredDoc | None = None
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
    mark = placeholder(conn)
    for table in BAND_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table.name} WHERE band_key = {mark} AND doc_seq = {mark}", sorted(keys))
    ids = [row.article_id for row in rows]
    for chunk in chunks(ids):
        conn.execute(update(dedup_docs).where(dedup_docs.c.article_id.in_(chunk)).values(signature=None))
    return len(ids)


def cluster_info(conn: Connection, cluster_ids: Iterable[str]) -> dict[str, dict]:
    """Size, first-seen time, first article and outlets per cluster: what "also reported by N outlets" shows."""
    result: dict[str, dict] = {}
    for chunk in chunks(sorted(set(cluster_ids))):
        for row in conn.execute(select(clusters).where(clusters.c.cluster_id.in_(chunk))):
            outlets = list(row.outlets or ())
            result[row.cluster_id] = {
                "cluster_id": row.cluster_id,
                "size": row.size,
                "first_seen_at": utc(row.first_seen_at),
                "first_article_id": row.first_article_id,
                "outlets": outlets,
                "outlet_count": len(outlets),
            }
    return result
