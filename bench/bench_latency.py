"""Latency: how long a published article takes to become searchable and to reach an alert channel.

    python bench/bench_latency.py [--interval 30] [--articles 40] [--publish-over 240]

A loopback site (its own process) carries four feeds on two hosts. `newsmon run --every INTERVAL` runs as it
would without Airflow, polling on its schedule: every feed's poll interval is INTERVAL seconds (min, default
and max), so each pass polls every feed. Meanwhile this script publishes ARTICLES articles at random
moments over PUBLISH_OVER seconds: the page goes up and the item is added to its feed (with that pubDate).
The articles are real pages of the shared extraction corpus (NEWSMON_SHARED_DIR): distinct pages, so each is
its own copy cluster, and extraction costs what it costs on news pages (generated stories from one template
would be near-duplicates). The rule alerts once per copy cluster (`group_by: cluster`): by default a rule
alerts once per event-level story, and the story join may put two corpus pages together.

It records when each article's search document first appears in the state DB (checked every 0.25 s) and when
its alert arrives at a loopback webhook and at an SMTP server (aiosmtpd), both running here, and prints
publish → indexed and publish → alert delivered, p50 / p95 / max. Target: p95 publish → alert ≤ the poll
interval + 60 s.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_replay import load_pages  # noqa: E402
from crash import Webhook, mail_text  # noqa: E402
from loopback_site import LoopbackSite  # noqa: E402

FEEDS = (("wire", 0), ("daily", 0), ("region", 1), ("night", 1))  # feed id, host
KEPT_ITEMS = 20  # a feed lists its newest items only


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Publisher:
    """Adds stories to the feeds at planned moments; remembers when each went up (time.time())."""

    def __init__(self, site: LoopbackSite, pages: list[bytes], over_s: float, seed: int) -> None:
        rng = random.Random(seed)
        self.site = site
        self.plan = sorted(rng.uniform(0, over_s) for _ in pages)
        self.pages = pages
        self.items: dict[str, list[str]] = {f: [] for f, _ in FEEDS}
        self.published: dict[str, float] = {}  # article URL → when it went up
        self.done = threading.Event()

    def feed(self, name: str) -> bytes:
        return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>"
                + "".join(reversed(self.items[name][-KEPT_ITEMS:])) + "</channel></rss>").encode()

    def start_feeds(self) -> None:
        self.site.set_many([(host, f"/{name}.xml", self.feed(name), "application/rss+xml", 200, {}) for name, host in FEEDS]
                           + [(h, "/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain", 200, {}) for h in (0, 1)])

    def run(self, started: float) -> None:
        for i, (at, body) in enumerate(zip(self.plan, self.pages, strict=True)):
            time.sleep(max(0.0, started + at - time.time()))
            name, host = FEEDS[i % len(FEEDS)]
            url = f"{self.site.base(host)}/{name}/{i}.html"
            now = datetime.now(UTC)
            self.items[name].append(f"<item><title>{html.escape(f'Article {i} of {name}')}</title><link>{url}</link>"
                                    f"<guid>{name}-{i}</guid><pubDate>{format_datetime(now, usegmt=True)}</pubDate></item>")
            self.site.set_many([(host, f"/{name}/{i}.html", body, "text/html; charset=utf-8", 200, {}),
                                (host, f"/{name}.xml", self.feed(name), "application/rss+xml", 200, {})])
            self.published[url] = time.time()
        self.done.set()


def watch_index(db: Path, seen: dict[str, float], stop: threading.Event) -> None:
    """Record when each article URL first has a search document."""
    while not stop.is_set():
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                    for (url,) in conn.execute("SELECT json_extract(doc, '$.url') FROM search_docs"):
                        seen.setdefault(url, time.time())
            except sqlite3.OperationalError:  # no table yet, or a writer holds the lock this instant
                pass
        stop.wait(0.25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=int, default=30, help="poll interval and pause between passes (s, ≥ 30)")
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--publish-over", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=5)
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    parser.add_argument("--corpus", type=Path, default=shared / "corpus" / "extraction")
    args = parser.parse_args()
    corpus = args.corpus
    from newsmon.app.demo.smtp_sink import SmtpSink

    hook = Webhook()
    mail_at: dict[str, float] = {}
    with LoopbackSite(2) as site, SmtpSink() as smtp, tempfile.TemporaryDirectory(prefix="newsmon-latency-") as tmp:
        home = Path(tmp)
        publisher = Publisher(site, [body for _url, body in load_pages(corpus, args.articles, seed=args.seed)],
                              args.publish_over, args.seed)
        publisher.start_feeds()
        config = home / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text("feeds:\n" + "".join(
            f"  - id: {name}\n    name: {name}\n    url: {site.base(host)}/{name}.xml\n    language: en\n"
            "    evidence: served by this benchmark's loopback site\n" for name, host in FEEDS))
        (config / "alerts.yaml").write_text(
            # group_by: cluster, so that an article the story join puts with an earlier one still has an alert
            # of its own to time (by default a rule alerts once per story).
            "rules:\n  - name: every-article\n    query: '*'\n    group_by: cluster\n    channels:\n"
            f"      - 'json://127.0.0.1:{hook.port}/latency'\n"
            f"      - 'smtp://127.0.0.1:{smtp.port}/?to=desk@example.org&from=newsmon@example.org'\n")
        env = {**os.environ, "NEWSMON_HOME": str(home), "NEWSMON_CONFIG_DIR": str(config),
               "NEWSMON_STATE_DIR": str(home / "var"), "NEWSMON_ALLOW_LOOPBACK": "true",
               **{f"NEWSMON_{k}_POLL_INTERVAL_S": str(args.interval) for k in ("MIN", "DEFAULT", "MAX")}}
        log = (home / "run.log").open("wb")
        runner = subprocess.Popen([str(Path(sys.executable).with_name("newsmon")), "run", "--every", str(args.interval)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
        indexed: dict[str, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=watch_index, args=(home / "var" / "newsmon.db", indexed, stop), daemon=True)
        watcher.start()
        started = time.time()
        threading.Thread(target=publisher.run, args=(started,), daemon=True).start()
        deadline = started + args.publish_over + 2 * args.interval + 120
        try:
            while time.time() < deadline:
                for message in list(smtp.messages):
                    mail_at.setdefault(_url_in_text(mail_text(message)), time.time())
                delivered = {_url(body) for _path, body in hook.received}
                if publisher.done.is_set() and set(publisher.published) <= delivered and len(mail_at) >= args.articles:
                    break
                time.sleep(0.25)
        finally:
            runner.terminate()
            runner.wait(30)
            stop.set()
    hook_at: dict[str, float] = {}
    for at, body in zip(hook.arrived, (b for _p, b in hook.received), strict=True):
        hook_at.setdefault(_url(body), at)
    hook.close()
    report(args, publisher.published, indexed, hook_at, mail_at)
    return 0


def _url(body: dict) -> str:
    """The alerting article's URL in a webhook's JSON document (newsmon.alert/1)."""
    return body["stories"][0]["url"] if body.get("stories") else _url_in_text(body.get("message", ""))


def _url_in_text(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip().startswith("http")), "")


def report(args: argparse.Namespace, published: dict[str, float], indexed: dict[str, float],
           hook_at: dict[str, float], mail_at: dict[str, float]) -> None:
    def line(name: str, done: dict[str, float]) -> None:
        lags = [done[url] - at for url, at in published.items() if url in done]
        missing = len(published) - len(lags)
        if not lags:
            print(f"{name}: nothing arrived ({missing} missing)")
            return
        print(f"{name}: p50 {statistics.median(lags):5.1f} s   p95 {percentile(lags, 0.95):5.1f} s   "
              f"max {max(lags):5.1f} s   ({len(lags)} articles, {missing} missing)")

    print(f"{len(published)} articles published over {args.publish_over:.0f} s; poll interval {args.interval} s "
          f"(`newsmon run --every {args.interval}`); load average {os.getloadavg()[0]:.2f}")
    line("publish → indexed (searchable)  ", indexed)
    line("publish → alert at the webhook  ", hook_at)
    line("publish → alert mail received   ", mail_at)
    print(f"target: p95 publish → alert ≤ poll interval + 60 s = {args.interval + 60} s")


if __name__ == "__main__":
    sys.exit(main())
