"""Per-host politeness: many feeds on one host are never fetched closer together than configured."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.core.settings import load_settings
from newsmon.ingest.http import SafeClient

FEED = b"<rss version='2.0'><channel><title>t</title><item><link>http://example.org/a</link></item></channel></rss>"
INTERVAL_S = 0.25


def test_feeds_on_one_host_are_fetched_at_least_the_configured_interval_apart():
    settings = load_settings(allow_loopback=True, per_host_min_interval_s=INTERVAL_S, per_host_concurrency=4,
                             respect_robots=False)
    with FeedServer() as server, SafeClient(settings) as client:
        paths = [f"/feed{i}.xml" for i in range(6)]
        for path in paths:
            server.add(path, FEED)
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda p: client.fetch(server.url(p), kind="feed"), paths))
        arrivals = sorted(hit.at for hit in server.hits)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 6
    # The server stamps arrival after its thread reads the request line; on a loaded machine that stamp
    # can lag the send by tens of ms, shortening one gap and lengthening the next. So: no gap near zero
    # (what a missing limiter gives), and on average the configured spacing.
    assert min(gaps) >= INTERVAL_S * 0.6, gaps
    assert sum(gaps) / len(gaps) >= INTERVAL_S - 0.01, gaps


def test_per_host_concurrency_limit_caps_requests_in_flight():
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def slow(handler):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        FeedServer._send(handler, 200, FEED, "application/rss+xml")

    settings = load_settings(allow_loopback=True, per_host_min_interval_s=0.0, per_host_concurrency=2,
                             respect_robots=False)
    with FeedServer() as server, SafeClient(settings) as client:
        server.handlers["/slow.xml"] = slow
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: client.fetch(server.url("/slow.xml"), kind="feed"), range(6)))
    assert peak == 2


def test_different_hosts_do_not_wait_for_each_other():
    settings = load_settings(allow_loopback=True, per_host_min_interval_s=5.0, respect_robots=False)
    with FeedServer() as one, FeedServer() as two, SafeClient(settings) as client:
        one.add("/f.xml", FEED)
        two.add("/f.xml", FEED)
        started = time.monotonic()
        client.fetch(one.url("/f.xml"), kind="feed")
        client.fetch(two.url("/f.xml"), kind="feed")
        assert time.monotonic() - started < 5.0
