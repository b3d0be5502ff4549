"""Story assignment cost as the archive grows: 10 000 vs 100 000 synthetic articles at one rate (1 000 a day).

Usage:
    .venv/bin/python bench/bench_stories.py               # both sizes, each in its own process, and the ratio
    .venv/bin/python bench/bench_stories.py --size 10000  # one size (what the parent runs)

An archive grows with time, so ten times the articles is ten times the days at the same rate: the cost per
article must stay flat (target: 10x articles for at most 12x time, as for dedup). Articles carry dates,
numbers with units, names and entities drawn from pools, a fifth of them translations of an earlier one;
100 per assign_stories call, like a busy 10-minute run, on a fresh SQLite file with the production pragmas.
Once a simulated day, the story keys older than the maintenance retention are pruned, as the daily
maintenance DAG does (its time is counted).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsmon.app.maintenance import LSH_WINDOW_DAYS  # noqa: E402
from newsmon.core.records import Article  # noqa: E402
from newsmon.store.db import open_engine  # noqa: E402
from newsmon.store.stories import assign_stories, prune_story_keys  # noqa: E402

PER_DAY = 1000
BATCH = 100
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
UNITS = ("trucks", "prisoners", "balloons", "euros", "people", "migrants")
START = datetime(2025, 1, 1, tzinfo=UTC)


def _text(rng: random.Random, at: datetime) -> str:
    day = at + timedelta(days=rng.randint(-2, 2))
    names = " and ".join(f"Minister Name{rng.randint(1, 400)}" for _ in range(rng.randint(1, 3)))
    return (f"On {day.day} {MONTHS[day.month - 1]} officials said that {rng.randint(10, 5000)} {rng.choice(UNITS)} "
            f"were affected, according to {names}. The border agency reported {rng.randint(10, 900)} cases.")


def articles(n: int, seed: int = 15) -> list[Article]:
    rng = random.Random(seed)
    result: list[Article] = []
    for i in range(n):
        at = START + timedelta(days=i / PER_DAY)
        if result and rng.random() < 0.2:
            original = result[rng.randrange(max(0, len(result) - 300), len(result))]
            text, entities = original.text, original.entities
        else:
            text = _text(rng, at)
            entities = tuple(f"place/p{rng.randint(1, 300)}" for _ in range(2))
        article_id = f"{i:032x}"
        result.append(Article(id=article_id, url=f"https://o{i % 40}.example/{i}", canonical_url=f"https://o{i % 40}.example/{i}",
                              source=f"o{i % 40}", title="", text=text, fetched_at=at, published_at=at, content_hash="",
                              language=rng.choice(("en", "lt", "ru", "pl")), entities=entities, cluster_id=article_id))
    return result


def run_size(n: int) -> dict:
    batch = articles(n)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/state.db")
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            with engine.begin() as conn:
                assign_stories(conn, batch[start : start + BATCH], START)
                if (start + BATCH) % PER_DAY == 0:  # the daily maintenance run
                    prune_story_keys(conn, batch[start].fetched_at - timedelta(days=LSH_WINDOW_DAYS))
        took = time.perf_counter() - started
        engine.dispose()
    return {"documents": n, "assign_s": round(took, 2), "ms_per_doc": round(1000 * took / n, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int)
    args = parser.parse_args(argv)
    if args.size:
        print(json.dumps(run_size(args.size)))
        return 0
    rows = []
    for n in (10_000, 100_000):
        out = subprocess.run([sys.executable, __file__, "--size", str(n)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
        print(rows[-1], flush=True)
    ratio = rows[1]["assign_s"] / rows[0]["assign_s"]
    print(f"10x documents: assign time x{ratio:.2f} (target <= 12)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
