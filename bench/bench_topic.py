"""Tagging speed on one core: articles/s of enrich.topic.tag over the dev texts, against a plain regex scan.

Usage: .venv/bin/python bench/bench_topic.py [--data ../shared/corpus/topic/dev.jsonl] [--seconds 3]
The baseline is what a keyword alert system does: one case-insensitive regex alternation of every pack
term's surface form, run over the same texts in the same process. The ratio tag/baseline is printed
next to the absolute rates, so a slower machine does not change the verdict. Target: ≥ 2,000 articles/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from enrich.topic import load_topic_pack, tag  # noqa: E402

TARGET_ARTICLES_PER_S = 2000


def default_data() -> Path:
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    return shared / "corpus" / "topic" / "dev.jsonl"


def rate(label: str, work: Callable[[], int], seconds: float) -> float:
    """Articles per second of work() (one pass over all texts), repeated for about `seconds`."""
    work()  # warm-up: compiled pack, memo and stemmer caches, as in a long-running worker
    passes = 0
    articles = 0
    started = time.process_time()
    while True:
        articles += work()
        passes += 1
        elapsed = time.process_time() - started
        if elapsed >= seconds:
            break
    per_s = articles / elapsed
    print(f"{label:<44} {per_s:>10,.0f} articles/s  ({passes} passes, {elapsed:.2f} s CPU)")
    return per_s


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

    surfaces = sorted({term.text for term in pack.terms}, key=len, reverse=True)
    keyword_re = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in surfaces) + r")", re.IGNORECASE)

    def baseline() -> int:
        for title, text, _ in items:
            keyword_re.findall(title or "")
            keyword_re.findall(text)
        return len(items)

    def tagger() -> int:
        for title, text, language in items:
            tag(pack, title, text, language)
        return len(items)

    print(f"# {len(items)} texts, {total_chars / len(items):,.0f} characters on average, "
          f"{len(pack.terms)} pack terms, one core")
    base = rate("baseline: regex keyword scan", baseline, args.seconds)
    tagged = rate("enrich.topic.tag (stems, scoring, explanation)", tagger, args.seconds)
    verdict = "meets" if tagged >= TARGET_ARTICLES_PER_S else "BELOW"
    print(f"ratio tag/baseline: {tagged / base:.2f}x; {verdict} the target of {TARGET_ARTICLES_PER_S:,} articles/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
