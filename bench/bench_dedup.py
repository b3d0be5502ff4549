"""Dedup ingest cost as the index grows: time and peak memory for 10 k and 100 k documents, and their ratio.

Usage:
    .venv/bin/python bench/bench_dedup.py                    # 10 000 and 100 000 documents
    .venv/bin/python bench/bench_dedup.py --sizes 2000 20000 # quicker look

Each size runs in its own child process on a fresh SQLite state DB file (WAL, as in production), so peak
RSS is that size's alone. Documents are synthetic (a seeded Zipf vocabulary), a quarter of them copies of
recent ones (new dateline and footer, truncation, edits), a third wrapped in one of 20 outlet templates,
ingested in batches like pipeline runs: fingerprint each (what staging does), then assign_clusters per batch.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED = 100
WORDS_PER_DOC = 150
COPY_SHARE = 0.25
TEMPLATE_SHARE = 0.33


def _vocabulary(rng: random.Random, size: int = 50_000) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyzšžčąęėįųū"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(size)]
    # Zipf: a few very common words, a long tail (cumulative, so each draw is a bisection).
    return words, list(accumulate(1.0 / (rank + 1) for rank in range(size)))


def _documents(count: int, rng: random.Random):
    words, cumulative = _vocabulary(rng)
    templates = [
        (" ".join(rng.choices(words[:2000], k=20)), " ".join(rng.choices(words[:2000], k=30))) for _ in range(20)
    ]
    recent: deque[str] = deque(maxlen=2000)
    for index in range(count):
        source = f"outlet{index % 50}"
        if recent and rng.random() < COPY_SHARE:
            original = rng.choice(recent).split()
            kind = rng.randrange(3)
            if kind == 0:
                text = " ".join(["VILNIUS", "(BNS)", *original, "Follow", "us", "on", "Telegram"])
            elif kind == 1:
                text = " ".join(original[: max(20, int(len(original) * 0.6))])
            else:
                edited = original[:]
                for _ in range(len(edited) // 15):
                    edited[rng.randrange(len(edited))] = rng.choice(words[:500])
                text = " ".join(edited)
        else:
            text = " ".join(rng.choices(words, cum_weights=cumulative, k=WORDS_PER_DOC))
            recent.append(text)
        if rng.random() < TEMPLATE_SHARE:
            header, footer = templates[index % len(templates)]
            text = f"{header}\n\n{text}\n\n{footer}"
        yield f"https://{source}.example/news/{index}", text, source


def run_size(count: int, batch: int, workdir: Path) -> dict:
    """Ingest `count` documents into a fresh state DB; returns timings (s), peak RSS (MiB) and DB size."""
    import newsmon.store.clusters as clusters_mod
    from newsmon.core.records import Article
    from newsmon.enrich.dedup import content_hash, fingerprint
    from newsmon.ingest.urls import article_id, canonical_url
    from newsmon.store.db import open_engine

    db_path = workdir / f"bench-{count}.db"
    engine = open_engine(f"sqlite:///{db_path}")
    rng = random.Random(SEED)
    base = datetime(2025, 10, 1, tzinfo=UTC)
    fingerprint_s = assign_s = 0.0
    last_tenth_s = 0.0
    first_tenth_s = 0.0
    duplicates = 0
    pending: list[Article] = []

    def flush(position: int) -> None:
        nonlocal assign_s, last_tenth_s, first_tenth_s, duplicates
        started = time.perf_counter()
        with engine.begin() as conn:
            assigned = clusters_mod.assign_clusters(conn, pending, base + timedelta(seconds=position))
        elapsed = time.perf_counter() - started
        assign_s += elapsed
        if position <= count // 10:
            first_tenth_s += elapsed
        if position > count - count // 10:
            last_tenth_s += elapsed
        duplicates += sum(1 for a in assigned if a.dup_reason)
        pending.clear()

    for index, (url, text, source) in enumerate(_documents(count, rng), start=1):
        started = time.perf_counter()
        canonical = canonical_url(url)
        item = Article(
            id=article_id(canonical), url=url, canonical_url=canonical, source=source, title="", text=text,
            fetched_at=base + timedelta(seconds=index), content_hash=content_hash(text), fingerprint=fingerprint(text),
        )
        fingerprint_s += time.perf_counter() - started
        pending.append(item)
        if len(pending) >= batch:
            flush(index)
    if pending:
        flush(count)
    engine.dispose()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "documents": count,
        "fingerprint_s": round(fingerprint_s, 2),
        "assign_s": round(assign_s, 2),
        "total_s": round(fingerprint_s + assign_s, 2),
        "assign_ms_per_doc_first_10pct": round(1000 * first_tenth_s / max(1, count // 10), 3),
        "assign_ms_per_doc_last_10pct": round(1000 * last_tenth_s / max(1, count // 10), 3),
        "duplicates_found": duplicates,
        "peak_rss_mib": round(peak_mib, 1),
        "db_mib": round(sum(p.stat().st_size for p in workdir.glob(f"bench-{count}.db*")) / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=100, help="articles per assign_clusters call (one busy 10-minute run)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_size(args.child, args.batch, args.workdir)))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-dedup-") as tmp:
        for size in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size), "--batch", str(args.batch), "--workdir", tmp],
                capture_output=True, text=True, check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    columns = list(results[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---:|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    small, large = results[0], results[-1]
    scale = large["documents"] / small["documents"]
    print(f"\n{scale:.0f}x documents: total time x{large['total_s'] / small['total_s']:.2f}, "
          f"assign time x{large['assign_s'] / small['assign_s']:.2f}, "
          f"fingerprint time x{large['fingerprint_s'] / small['fingerprint_s']:.2f}, "
          f"peak RSS x{large['peak_rss_mib'] / small['peak_rss_mib']:.2f} "
          f"({small['peak_rss_mib']} -> {large['peak_rss_mib']} MiB), state DB {small['db_mib']} -> {large['db_mib']} MiB")
    # Fingerprinting is per-document work with no index, so its ratio is the linear baseline of this
    # machine in this run (shared CPUs make absolute ratios drift between the two child processes).
    relative = (large["assign_s"] / small["assign_s"]) / (large["fingerprint_s"] / small["fingerprint_s"])
    print(f"assign growth against the linear fingerprint baseline measured in the same run: x{relative:.2f} (1.00 = linear)")
    print("target: time ratio <= 1.2 x the document ratio (LSH lookups, not pairwise comparison)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
