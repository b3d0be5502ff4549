"""Text identity for dedup: normalisation, exact content hash and MinHash fingerprints over word shingles (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
from datasketch import MinHash

# Measured in bench/eval_dedup.py (see docs/dedup.md): 3-word shingles keep edited wire copies
# together (one edited word breaks 3 shingles, not 5) while different articles on one event share few.
SHINGLE_WORDS = 3
NUM_PERM = 128
MINHASH_SEED = 20_250_1  # fixed forever: stored fingerprints must stay comparable across releases
# Below this many words a text is a teaser, a paywall notice or an extraction failure: its hash or
# fingerprint would merge unrelated stories, so it only ever matches by URL.
MIN_WORDS_FOR_MATCH = 15

_NON_WORD_RE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Lower-case, diacritic-free words separated by single spaces: what stays the same across copies."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # Drop combining marks (š → s, й → и) so a copy that lost its diacritics in a CMS still matches.
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NON_WORD_RE.sub(" ", stripped).strip()


def content_hash(text: str) -> str:
    """SHA-256 hex of the normalised text: equal for copies that differ only in case, punctuation, spacing."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def words(text: str) -> list[str]:
    return normalise_text(text).split()


def shingles(normalised_words: Sequence[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """Distinct word `size`-grams (the whole text when shorter)."""
    if not normalised_words:
        return set()
    if len(normalised_words) <= size:
        return {" ".join(normalised_words).encode("utf-8")}
    return {" ".join(normalised_words[i : i + size]).encode("utf-8") for i in range(len(normalised_words) - size + 1)}


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little")


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    return MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme="affine32").permutations


def minhash(items: Iterable[bytes], num_perm: int = NUM_PERM) -> MinHash:
    sketch = MinHash(
        num_perm=num_perm, seed=MINHASH_SEED, scheme="affine32", hashfunc=_hash32, permutations=_permutations(num_perm)
    )
    sketch.update_batch(list(items))
    return sketch


def fingerprint(text: str) -> tuple[int, ...]:
    """MinHash signature (NUM_PERM unsigned 32-bit values) of the text's word shingles; () for a too-short text."""
    tokens = words(text)
    if len(tokens) < MIN_WORDS_FOR_MATCH:
        return ()
    return tuple(int(v) for v in minhash(shingles(tokens)).hashvalues)


def shingle_count(text: str) -> int:
    """Number of distinct shingles: with two signatures it turns estimated Jaccard into containment."""
    return len(shingles(words(text)))


def estimated_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    return float(np.count_nonzero(np.asarray(a, dtype=np.uint32) == np.asarray(b, dtype=np.uint32))) / len(a)


def estimated_containment(jaccard: float, size_a: int, size_b: int) -> float:
    """|A∩B| / min(|A|, |B|) from Jaccard and set sizes: 1.0 when the shorter text is inside the longer one."""
    if jaccard <= 0.0 or min(size_a, size_b) <= 0:
        return 0.0
    intersection = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return min(1.0, intersection / min(size_a, size_b))
