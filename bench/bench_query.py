"""Cost of prefix* terms on the embedded index: why newsmon.core.query caps them at MAX_PREFIX_TERMS.

Usage: .venv/bin/python bench/bench_query.py [--articles 40] [--counts 5,10,20,40,80,160]
Builds a throw-away SQLite store of generated articles (400 words each from a 3,000-word made-up
vocabulary, so many words share each prefix), then times `newsmon search` with N prefix terms joined
by OR, the cap lifted for the run. Prints the time per query and its ratio to the smallest N: a
ratio that grows faster than N is the quadratic cost (FTS5 builds each hit's snippet over every
expansion of every prefix) that the cap keeps away. Plain words are timed alongside for comparison.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import newsmon.core.query as query_module  # noqa: E402
from newsmon.core.records import Article, TopicResult  # noqa: E402
from newsmon.store.db import open_engine  # noqa: E402
from newsmon.store.index import SearchQuery  # noqa: E402
from newsmon.store.sqlite_index import SqliteIndex  # noqa: E402

SYLLABLES = ("ba", "la", "ru", "si", "ja", "vil", "ni", "us", "mi", "nsk", "gra", "ca", "ka", "u", "nas", "pa", "sie")
AT = datetime(2026, 11, 20, tzinfo=UTC)


def make_store(directory: Path, articles: int, rnd: random.Random) -> tuple[SqliteIndex, list[str]]:
    vocab = sorted({"".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4))) for _ in range(3000)})
    index = SqliteIndex(open_engine(f"sqlite:///{directory / 'bench.db'}"))
    index.put_articles([
        Article(id=f"a{i}", url=f"https://example.org/{i}", canonical_url=f"https://example.org/{i}", source="bench",
                title=" ".join(rnd.choice(vocab) for _ in range(8)), text=" ".join(rnd.choice(vocab) for _ in range(400)),
                fetched_at=AT, content_hash=str(i), language="en", published_at=AT,
                topic=TopicResult("lt-by", True, 0.5, ()))
        for i in range(articles)
    ])
    return index, vocab


def time_query(index: SqliteIndex, q: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        query_module.parse_query.cache_clear()
        query_module.compile_query.cache_clear()
        started = time.perf_counter()
        index.search(SearchQuery(q=q, limit=50))
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--counts", default="5,10,20,40,80,160")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    query_module.MAX_PREFIX_TERMS = query_module.MAX_TERMS = 10**6
    query_module.MAX_QUERY_CHARS = 10**7
    rnd = random.Random(20261120)
    with tempfile.TemporaryDirectory() as tmp:
        index, vocab = make_store(Path(tmp), args.articles, rnd)
        print(f"{args.articles} articles; cap in newsmon.core.query: MAX_PREFIX_TERMS = 20")
        print(f"{'N':>5} {'prefix* (s)':>12} {'ratio':>7} {'words (s)':>10} {'ratio':>7}")
        base_prefix = base_words = None
        for n in counts:
            prefixes = " OR ".join(rnd.choice(vocab)[:3] + "*" for _ in range(n))
            words = " OR ".join(rnd.choice(vocab) for _ in range(n))
            t_prefix, t_words = time_query(index, prefixes), time_query(index, words)
            base_prefix, base_words = base_prefix or t_prefix, base_words or t_words
            print(f"{n:>5} {t_prefix:>12.4f} {t_prefix / base_prefix:>7.1f} {t_words:>10.4f} {t_words / base_words:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
