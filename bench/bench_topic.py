"""Tagging speed on one core: articles/s of newsmon.enrich.topic.tag over the dev texts, against a plain regex scan.

Usage: .venv/bin/python bench/bench_topic.py [--data ../shared/corpus/topic/dev.jsonl] [--seconds 3]
The baseline is what a keyword alert system does: one regex alternation of every pack term's surface
form over the lower-cased texts, run in the same process. The ratio tag/baseline is printed
next to the absolute rates, so a slower machine does not change the verdict. Target: ≥ 2,000 articles/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsmon.enrich.topic import load_topic_pack, tag  # noqa: E402

TARGET_ARTICLES_PER_S = 2000


def default_data() -> Path:
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    return shared / "corpus" / "topic" / "dev.jsonl"


def rate(label: str, work: Callable[[], int], seconds: float) -> tuple[float, float]:
    """(best, median) articles per CPU second of work() (one pass over all texts), repeated for `seconds`.

    CPU time of this process, not wall time, so other processes on the machine do not count; the
    best pass is the one least disturbed by them (as timeit reports the minimum).
    """
    work()  # warm-up: compiled pack, memo and stemmer caches, as in a long-running worker
    rates: list[float] = []
    spent = 0.0
    while spent < seconds or len(rates) < 3:
        started = time.process_time()
        articles = work()
        elapsed = time.process_time() - started
        spent += elapsed
        rates.append(articles / elapsed if elapsed > 0 else float("inf"))
    best, median = max(rates), statistics.median(rates)
    print(f"{label:<48} best {best:>8,.0f}  median {median:>8,.0f} articles/s  ({len(rates)} passes)")
    return best, median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--pack", type=Path, default=REPO / "config" / "topics" / "lt-by.yaml")
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each measurement")
    args = parser.parse_args(argv)
    data = args.data or default_data()
    if not data.is_file():
        print(f"skipped: benchmark data {data} not found (set NEWSMON_SHARED_DIR to the shared folder)",
              file=sys.stderr)
        return 0
    rows = [json.loads(line) for line in data.open(encoding="utf-8") if line.strip()]
    items = [(r.get("title"), r["text"], r.get("language")) for r in rows]
    total_chars = sum(len(t or "") + len(x) for t, x, _ in items)
    pack = load_topic_pack(args.pack)

    # The baseline: the same term list as a plain keyword alert would use it, one alternation of
    # every surface form in the pack (no stems, no folding) over lower-cased text.
    surfaces = sorted({term.text.lower() for term in pack.terms}, key=len, reverse=True)
    keyword_re = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in surfaces) + r")")

    def baseline() -> int:
        for title, text, _ in items:
            keyword_re.findall((title or "").lower())
            keyword_re.findall(text.lower())
        return len(items)

    def tagger() -> int:
        for title, text, language in items:
            tag(pack, title, text, language)
        return len(items)

    print(f"# {len(items)} texts, {total_chars / len(items):,.0f} characters on average, "
          f"{len(pack.terms)} pack terms, one core")
    base_best, base_median = rate(f"baseline: regex scan of {len(surfaces)} keywords", baseline, args.seconds)
    tag_best, tag_median = rate("newsmon.enrich.topic.tag (stems, scoring, explanation)", tagger, args.seconds)
    verdict = "meets" if tag_best >= TARGET_ARTICLES_PER_S else "BELOW"
    print(f"ratio tag/baseline: best {tag_best / base_best:.2f}x, median {tag_median / base_median:.2f}x; "
          f"best {verdict} the target of {TARGET_ARTICLES_PER_S:,} articles/s on one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
