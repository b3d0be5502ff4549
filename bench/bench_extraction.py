"""Extraction throughput: newsmon extract_article (text + metadata) vs bare trafilatura.extract, same pages, same run.

Prints pages/s and wall and CPU ms/page for both, and the ratio newsmon / bare (target ≥ 0.85). Pages are
decompressed up front and both extractors alternate page by page, so disk, caches and machine load hit them
equally; CPU time (this process only) moves less than wall time when the machine is shared.

    .venv/bin/python bench/bench_extraction.py [--every N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
for extra in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from eval_extraction import DATASETS, load_pages  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=2, help="keep every N-th page of each dataset")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the pages (first is warm-up only if > 1)")
    args = parser.parse_args(argv)

    import trafilatura

    from newsmon.ingest.extract import ExtractionSkip, extract_article

    try:
        pages = load_pages(DATASETS, every=args.every)
    except FileNotFoundError as err:
        print(f"bench_extraction: {err}", file=sys.stderr)
        return 2
    inputs = [(page.html(), page.http_url) for page in pages]
    total_bytes = sum(len(html) for html, _ in inputs)

    def ours(html: bytes, url: str | None) -> None:
        try:
            extract_article(html, url or "")
        except ExtractionSkip:
            pass

    def bare(html: bytes, url: str | None) -> None:
        trafilatura.extract(html, url=url)

    seconds = {"newsmon": 0.0, "trafilatura": 0.0}
    cpu_seconds = {"newsmon": 0.0, "trafilatura": 0.0}
    measured_rounds = max(1, args.rounds - 1)
    for round_index in range(args.rounds):
        warm_up = args.rounds > 1 and round_index == 0
        for index, (html, url) in enumerate(inputs):
            # Alternate which one goes first so neither always runs on a cache the other just warmed.
            order = (("newsmon", ours), ("trafilatura", bare)) if index % 2 else (("trafilatura", bare), ("newsmon", ours))
            for name, func in order:
                gc.collect(0)
                started, cpu_started = time.perf_counter(), time.process_time()
                func(html, url)
                if not warm_up:
                    seconds[name] += time.perf_counter() - started
                    cpu_seconds[name] += time.process_time() - cpu_started

    n = len(inputs) * measured_rounds
    rate = {name: n / s for name, s in seconds.items()}
    cpu_ms = {name: 1000 * s / n for name, s in cpu_seconds.items()}
    print(f"pages: {len(inputs)} ({total_bytes / 1e6:.1f} MB of HTML) x {measured_rounds} measured round(s)")
    print(f"{'extractor':<34} {'pages/s':>8} {'ms/page':>8} {'CPU ms/page':>12}")
    for name, label in (("trafilatura", "bare trafilatura.extract"), ("newsmon", "newsmon extract_article (+meta)")):
        print(f"{label:<34} {rate[name]:>8.1f} {1000 / rate[name]:>8.1f} {cpu_ms[name]:>12.1f}")
    print(f"ratio newsmon / bare: {rate['newsmon'] / rate['trafilatura']:.2f} (by CPU "
          f"{cpu_ms['trafilatura'] / cpu_ms['newsmon']:.2f})  (target >= 0.85)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
