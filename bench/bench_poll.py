"""Cost of polling an unchanged feed against the first poll of the same feed, through the real pipeline.

Run: `.venv/bin/python bench/bench_poll.py [--items N] [--feeds F] [--repeat R]`. A loopback site serves F
feeds of N items each plus every article page; `newsmon.app.stages.poll.poll_feeds` polls all F feeds in one
batch, first on an empty state DB (fetch every feed, parse it, fetch and extract every article), then
again with nothing changed: once with a server that answers 304, once with a server that ignores
validators and resends the identical body, and once with our validators and body hash wiped (what the
second poll would cost if we only relied on "entry already seen"). Printed: medians of wall time, CPU
time, HTTP requests and bytes served, and each ratio to the first poll. `net` subtracts the fixed cost of
a poll_feeds call with no feeds (engine + topic pack load), measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hostile import FeedServer  # noqa: E402
from newsmon.core.settings import load_settings  # noqa: E402

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
PARAGRAPH = ("Lithuania's border guard said lorries queued again at the Medininkai checkpoint on the border "
             "with Belarus, while officials in Minsk and Vilnius traded blame over the closed crossings. ")


def article(i: int) -> bytes:
    body = "".join(f"<p>{PARAGRAPH * 3} (paragraph {k} of story {i})</p>" for k in range(12))
    nav = "".join(f"<li><a href='/section/{k}'>Section {k}</a></li>" for k in range(60))
    return (f"<!doctype html><html lang='en'><head><title>Story {i}</title></head><body><nav><ul>{nav}</ul></nav>"
            f"<article><h1>Border story {i}</h1>{body}</article><footer>© Example</footer></body></html>").encode()


def feed(base: str, f: int, n: int) -> bytes:
    items = "".join(
        f"<item><title>Border story {f}-{i}</title><link>{base}/news/{f}/{i}.html</link><guid>s-{f}-{i}</guid>"
        f"<description>{PARAGRAPH}</description><pubDate>Thu, 05 Mar 2026 08:{i % 60:02d}:00 GMT</pubDate></item>"
        for i in range(n))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Desk {f}</title>{items}</channel></rss>".encode()


class Site:
    def __init__(self, workdir: Path, feeds: int, items: int, *, validators: bool) -> None:
        self.server = FeedServer().__enter__()
        for f in range(feeds):
            self.server.add(f"/feed{f}.xml", feed(self.server.base, f, items), etag=f'"f{f}"' if validators else None,
                            honour_conditional=validators)
            for i in range(items):
                self.server.add(f"/news/{f}/{i}.html", article(i), content_type="text/html; charset=utf-8")
        self.server.add("/robots.txt", b"User-agent: *\nAllow: /\n", content_type="text/plain")
        config = workdir / "config"
        shutil.copytree(ROOT / "config" / "topics", config / "topics")
        lines = ["feeds:"]
        for f in range(feeds):
            lines += [f"  - id: desk-{f}", f"    name: Desk {f}", f"    url: {self.server.url(f'/feed{f}.xml')}",
                      "    language: en", "    country: LT", "    affiliation: independent",
                      "    evidence: served by this benchmark's loopback site"]
        (config / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.settings = load_settings(home=workdir, config_dir=config, state_dir=workdir / "var", allow_loopback=True,
                                      per_host_min_interval_s=0.0, per_host_concurrency=4, search_backend="sqlite",
                                      max_entries_per_poll=1000)
        self.ids = [f"desk-{f}" for f in range(feeds)]

    def close(self) -> None:
        self.server.__exit__(None, None, None)


def measure(site: Site, ids: list[str], now: datetime) -> dict[str, float]:
    from newsmon.app.stages.poll import poll_feeds

    hits_before, bytes_before = len(site.server.hits), site.server.bytes_served
    wall0, cpu0 = time.perf_counter(), time.process_time()
    counts = poll_feeds(site.settings, ids, now)
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall_ms": wall_s * 1000, "cpu_ms": cpu_s * 1000, "requests": len(site.server.hits) - hits_before,
            "bytes": site.server.bytes_served - bytes_before, "pages": counts.get("pages_fetched", 0)}


def wipe_validators(site: Site) -> None:
    from newsmon.store.db import open_engine
    from newsmon.store.feedstate import all_feed_states, save_feed_state

    engine = open_engine(site.settings.database_url)
    with engine.begin() as conn:
        for state in all_feed_states(conn).values():
            save_feed_state(conn, replace(state, etag=None, last_modified=None, body_hash=None))


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {k: [] for k in ("first poll", "empty call", "304", "same body 200", "no validators/hash")}
    for rep in range(args.repeat):
        for validators in (True, False):
            with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as tmp:
                site = Site(Path(tmp), args.feeds, args.items, validators=validators)
                try:
                    first = measure(site, site.ids, NOW)
                    if validators:
                        results["first poll"].append(first)
                        results["empty call"].append(measure(site, [], NOW))
                    later = NOW + timedelta(minutes=10 * (rep + 1))
                    results["304" if validators else "same body 200"].append(measure(site, site.ids, later))
                    if not validators:
                        wipe_validators(site)
                        results["no validators/hash"].append(measure(site, site.ids, later + timedelta(minutes=10)))
                finally:
                    site.close()
    rows = {k: median_row(v) for k, v in results.items()}
    base = rows["first poll"]
    fixed = rows["empty call"]
    print(f"poll cost, {args.feeds} feeds x {args.items} items on loopback, median of {args.repeat} runs")
    print(f"{'scenario':22} {'wall ms':>9} {'cpu ms':>8} {'requests':>8} {'bytes':>10} {'pages':>5} "
          f"{'wall ratio':>10} {'net wall ratio':>14} {'cpu ratio':>9} {'bytes ratio':>11}")
    for name, row in rows.items():
        net = (row["wall_ms"] - fixed["wall_ms"]) / max(base["wall_ms"] - fixed["wall_ms"], 1e-9)
        print(f"{name:22} {row['wall_ms']:9.1f} {row['cpu_ms']:8.1f} {row['requests']:8.0f} {row['bytes']:10.0f} "
              f"{row['pages']:5.0f} {row['wall_ms'] / base['wall_ms']:10.3f} {net:14.3f} "
              f"{row['cpu_ms'] / max(base['cpu_ms'], 1e-9):9.3f} {row['bytes'] / max(base['bytes'], 1):11.4f}")
    worst = max(rows["304"]["wall_ms"], rows["same body 200"]["wall_ms"]) / base["wall_ms"]
    print(f"\nunchanged second poll / first poll (wall, gross, worse of 304 and same-body): {worst:.3f} "
          f"-> {'PASS' if worst <= 0.05 else 'FAIL'} (target <= 0.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
