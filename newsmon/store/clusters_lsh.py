"""The MinHash-LSH index behind story clusters: band keys, the bucket rules, and what one article brings to it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from newsmon.core.records import Article
from newsmon.enrich.dedup import MIN_WORDS_FOR_MATCH, NUM_PERM, count_shingles, fingerprint, words

# LSH banding: 64 bands of 2 rows over the 128 MinHash values. A pair becomes a candidate with
# probability 1-(1-J²)^64: 0.93 at Jaccard 0.2, 0.998 at 0.3, so truncated copies and updated
# versions (low Jaccard, high containment) are still found; candidates are then verified.
LSH_BANDS = 64
LSH_ROWS = NUM_PERM // LSH_BANDS
# A band bucket holding more articles than this is template text (an outlet's boilerplate): new
# articles are no longer added to it, which keeps every lookup bounded as the index grows.
BUCKET_CAP = 48
# A full bucket whose members belong to at least this many different stories is common text (an
# outlet's header and footer, a stock phrase), the LSH counterpart of a stop word: it is recorded in
# `dedup_common_bands` and no longer looked up at all. Copies of one story share many bands, so losing
# a common one never hides them; and a full bucket of one big story (one cluster) stays in use.
COMMON_BUCKET_CLUSTERS = 8

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


@dataclass
class StoredDoc:
    """An article already in the index, as the near-duplicate check compares against it."""

    seq: int
    article_id: str
    cluster_id: str
    seen_at: datetime
    shingles: int
    signature: np.ndarray | None


@dataclass
class Prepared:
    """What an article brings to the index: its text hash, shingle count, MinHash signature and band keys."""

    content_hash: str | None
    shingles: int
    signature: np.ndarray | None
    band_keys: list[int]


def prepare(article: Article) -> Prepared:
    tokens = words(article.text)
    if len(tokens) < MIN_WORDS_FOR_MATCH:
        return Prepared(None, 0, None, [])
    signature_values = article.fingerprint if len(article.fingerprint) == NUM_PERM else fingerprint(article.text)
    signature = np.asarray(signature_values, dtype=np.uint32)
    # The staged hash came from newsmon.enrich.dedup.content_hash on the same text; trust it, it is cheaper.
    return Prepared(article.content_hash, count_shingles(tokens), signature, band_keys(signature))


def is_common(members: list[int], docs: dict[int, StoredDoc]) -> bool:
    """Whether a bucket is full and spans so many stories that it is common text, not evidence."""
    if len(members) < BUCKET_CAP:
        return False
    stories = {docs[member].cluster_id for member in members if member in docs}
    return len(stories) >= COMMON_BUCKET_CLUSTERS


def utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone=True columns; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def chunks(items: Sequence, size: int = 900) -> Iterable[Sequence]:
    """items in slices small enough for one `IN (...)` on every database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
