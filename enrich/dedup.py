"""Text identity for dedup: normalisation, exact content hash and MinHash fingerprints over word shingles (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np

# Measured in bench/eval_dedup.py (see docs/dedup.md): 3-word shingles keep edited wire copies
# together (one edited word breaks 3 shingles, not 5) while different articles on one event share few.
SHINGLE_WORDS = 3
NUM_PERM = 128
MINHASH_SEED = 20_250_1  # fixed forever: stored fingerprints must stay comparable across releases
# Below this many words a text is a teaser, a paywall notice or an extraction failure: its hash or
# fingerprint would merge unrelated stories, so it only ever matches by URL.
MIN_WORDS_FOR_MATCH = 15

_WORD_RE = re.compile(r"[^\W_]+")
# The Unicode blocks of combining marks that NFKD splits off Latin and Cyrillic letters (š → s + ˇ).
_COMBINING_RE = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Odd 64-bit multipliers that make a shingle's hash depend on word order ("closed the border" ≠ "the border closed").
_POSITION_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)


def normalise_text(text: str) -> str:
    """Lower-case, diacritic-free words separated by single spaces: what stays the same across copies."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The words of normalise_text(text)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # Drop combining marks (š → s, й → и) so a copy that lost its diacritics in a CMS still matches.
    return _WORD_RE.findall(_COMBINING_RE.sub("", folded))


def content_hash(text: str) -> str:
    """SHA-256 hex of the normalised text: equal for copies that differ only in case, punctuation, spacing."""
    return _hash_normalised(normalise_text(text))


def _hash_normalised(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def text_identity(text: str) -> tuple[str, tuple[int, ...]]:
    """(content_hash, fingerprint) of one text, normalising it once (an extraction worker computes both)."""
    tokens = words(text)
    return _hash_normalised(" ".join(tokens)), _fingerprint_of(tokens)


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(normalised_words: Sequence[str], size: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 32-bit hashes of the word `size`-grams (the whole text as one shingle when shorter)."""
    return np.unique(_shingle_values(normalised_words, size))


def _shingle_values(normalised_words: Sequence[str], size: int = SHINGLE_WORDS) -> np.ndarray:
    """The 32-bit hash of every word `size`-gram in text order, repeats included (as uint64)."""
    if not normalised_words:
        return np.empty(0, dtype=np.uint64)
    word_hashes = np.fromiter(map(_word_hash, normalised_words), dtype=np.uint64, count=len(normalised_words))
    if len(word_hashes) < size:
        size = len(word_hashes)
    count = len(word_hashes) - size + 1
    combined = np.zeros(count, dtype=np.uint64)
    # uint64 arithmetic wraps, which is what a multiplicative hash wants.
    with np.errstate(over="ignore"):
        for offset in range(size):
            combined += word_hashes[offset : offset + count] * _POSITION_MULTIPLIERS[offset]
    return combined >> np.uint64(32)


# datasketch's "affine32" MinHash scheme (datasketch 2.0), computed here with numpy alone: importing datasketch
# pulls in scipy (≈0.3-0.4 s per process, on the path of every extraction worker's start), and its update loop
# goes through Python once per shingle. The values are datasketch's own, bit for bit (tests/test_dedup.py
# checks them against datasketch.MinHash), so stored fingerprints stay comparable.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for MINHASH_SEED: odd multipliers a and offsets b, as uint32."""
    gen = np.random.RandomState(MINHASH_SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def minhash_values(hashes: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signature (uint32, num_perm values) over already-hashed 32-bit shingles (hashing words once is
    what makes this fast): MurmurHash3's finaliser, then min over a * h + b mod 2^32 per permutation."""
    a, b = _permutations(num_perm)
    if not len(hashes):
        return np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    s1, m1, s2, m2, s3 = _FMIX32
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps: that is the modulo 2^32
        hv = hashes.astype(np.uint32)
        hv ^= hv >> s1
        hv *= m1
        hv ^= hv >> s2
        hv *= m2
        hv ^= hv >> s3
        # One (shingles x permutations) array, added to in place rather than copied once more.
        values = np.multiply.outer(hv, a)
        values += b
        return values.min(axis=0)


def fingerprint(text: str) -> tuple[int, ...]:
    """MinHash signature (NUM_PERM unsigned 32-bit values) of the text's word shingles; () for a too-short text."""
    return _fingerprint_of(words(text))


def _fingerprint_of(tokens: list[str]) -> tuple[int, ...]:
    if len(tokens) < MIN_WORDS_FOR_MATCH:
        return ()
    # A shingle that repeats cannot change a minimum: the values are those of the distinct shingles, without
    # sorting them out first.
    return tuple(minhash_values(_shingle_values(tokens)).tolist())


def shingle_count(text: str) -> int:
    """Number of distinct shingles: with two signatures it turns estimated Jaccard into containment."""
    return count_shingles(words(text))


def count_shingles(normalised_words: Sequence[str], size: int = SHINGLE_WORDS) -> int:
    """Distinct word `size`-grams, counted without hashing (cheaper than shingle_hashes when only the size matters)."""
    if len(normalised_words) <= size:
        return 1 if normalised_words else 0
    return len(set(zip(*(normalised_words[offset:] for offset in range(size)), strict=False)))


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
