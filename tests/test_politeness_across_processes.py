"""Per-host politeness holds across processes: poll tasks and extraction workers share one host's spacing."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.core.settings import load_settings
from newsmon.ingest.http import FetchError, SafeClient

REPO = Path(__file__).resolve().parents[1]
INTERVAL_S = 0.3
PAGES_PER_PROCESS = 4
PAGE = b"<html><body><p>A page on a host that two poll tasks both link to.</p></body></html>"

# One poll task's fetches, as a separate Python process: wait for the common start, then fetch its pages.
FETCHER = """
import sys, time
from pathlib import Path
from newsmon.core.settings import load_settings
from newsmon.ingest.http import SafeClient
state_dir, base, name, start_at, n, interval = sys.argv[1:7]
settings = load_settings(state_dir=Path(state_dir), allow_loopback=True, respect_robots=False,
                         per_host_min_interval_s=float(interval), per_host_concurrency=2)
with SafeClient(settings) as client:
    time.sleep(max(0.0, float(start_at) - time.time()))
    for i in range(int(n)):
        client.fetch(f"{base}/{name}/{i}.html", kind="page")
"""


def test_two_processes_fetching_from_one_host_are_spaced_by_the_configured_interval(tmp_path):
    with FeedServer() as server:
        for name, i in itertools.product("ab", range(PAGES_PER_PROCESS)):
            server.add(f"/{name}/{i}.html", PAGE, content_type="text/html")
        start_at = time.time() + 3.0  # both interpreters are up and waiting by then
        fetchers = [subprocess.Popen([sys.executable, "-c", FETCHER, str(tmp_path / "var"), server.base, name,
                                      str(start_at), str(PAGES_PER_PROCESS), str(INTERVAL_S)], cwd=REPO)
                    for name in "ab"]
        assert [f.wait(timeout=60) for f in fetchers] == [0, 0]
        arrivals = sorted(hit.at for hit in server.hits)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 2 * PAGES_PER_PROCESS
    # Arrival stamps lag the send on a loaded machine (see test_http_politeness.py): no gap near zero,
    # which is what two unshared limiters give, and the configured spacing on average.
    assert min(gaps) >= INTERVAL_S * 0.6, gaps
    assert sum(gaps) / len(gaps) >= INTERVAL_S - 0.01, gaps


def test_a_retry_after_seen_by_one_process_keeps_the_others_away_from_that_host(tmp_path):
    settings = load_settings(state_dir=tmp_path / "var", allow_loopback=True, respect_robots=False,
                             per_host_min_interval_s=0.0)
    with FeedServer() as server:
        server.add("/busy.html", b"slow down", status=429, headers={"Retry-After": "120"}, content_type="text/plain")
        server.add("/page.html", PAGE, content_type="text/html")
        with SafeClient(settings) as first, SafeClient(settings) as second:  # two limiters, as in two processes
            with pytest.raises(FetchError) as busy:
                first.fetch(server.url("/busy.html"))
            with pytest.raises(FetchError) as refused:
                second.fetch(server.url("/page.html"))
        assert server.hits_for("/page.html") == []
    assert busy.value.status == 429
    assert "asked us to wait (Retry-After)" in refused.value.reason and refused.value.retryable
