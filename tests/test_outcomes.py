"""Outcomes are categories from one documented vocabulary: fetch failures, moved and gone feeds, counter keys."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.app.demo.fixture_server import Route
from newsmon.app.maintenance import run_maintenance
from newsmon.app.stages.alert import send_digests
from newsmon.app.stages.run import run_once
from newsmon.core.outcomes import EXAMPLES, SKIPPED_REASONS, is_counter_key, is_skip_key, vocabulary_markdown
from newsmon.core.settings import load_settings
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.store.db import open_engine
from newsmon.store.runs import recent_runs

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with FeedServer() as srv:
        srv.add("/gone.xml", b"gone", status=410, content_type="text/plain")
        srv.add("/forbidden.xml", b"no", status=403, content_type="text/plain")
        srv.add("/no-location.xml", b"", status=301)
        srv.add("/corrupt-gzip.xml", b"\x1f\x8bnot gzip at all", headers={"Content-Encoding": "gzip"})
        yield srv


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path, monkeypatch):
    # A host's Retry-After block is shared through the state directory: each test starts without any.
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "var"))


def _client(**overrides: object) -> SafeClient:
    knobs = {"allow_loopback": True, "connect_timeout_s": 1.0, "read_timeout_s": 1.0, "total_timeout_s": 2.0,
             "per_host_min_interval_s": 0.0, "respect_robots": False, **overrides}
    return SafeClient(load_settings(**knobs))


def _failure(client: SafeClient, url: str, kind: str = "feed") -> FetchError:
    with pytest.raises(FetchError) as caught:
        client.fetch(url, kind=kind)
    return caught.value


@pytest.mark.parametrize(("path", "category"), [
    ("/nothing-here.xml", "http_404"),
    ("/gone.xml", "http_410"),
    ("/forbidden.xml", "http_4xx"),
    ("/hostile/429", "http_429"),
    ("/hostile/503", "http_5xx"),
    ("/hostile/wrong-type", "bad_content_type"),
    ("/hostile/huge-declared", "too_large"),
    ("/hostile/loop/0", "too_many_redirects"),
    ("/hostile/to-private", "refused_target"),
    ("/no-location.xml", "bad_redirect"),
    ("/corrupt-gzip.xml", "decompression"),
    ("/hostile/silent", "timeout"),
])
def test_each_kind_of_fetch_failure_has_its_own_stable_category(server, path, category):
    with _client(max_body_bytes=2 * 1024 * 1024) as client:
        assert _failure(client, server.url(path)).category == category


def test_a_redirect_loop_a_refused_connection_and_a_bad_url_have_their_categories(server):
    with _client(max_redirects=30) as client:
        assert _failure(client, server.url("/hostile/loop/0")).category == "redirect_loop"
        with FeedServer() as closed:
            url = closed.url("/feed.xml")
        assert _failure(client, url).category == "connect"
        assert _failure(client, "ftp://example.org/feed.xml").category == "invalid_url"


def test_robots_refusals_say_whether_the_rules_forbid_the_page_or_could_not_be_read():
    with FeedServer() as site, _client(respect_robots=True) as client:
        site.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        assert _failure(client, site.url("/private/a.html"), "page").category == "robots_disallowed"
    with FeedServer() as site, _client(respect_robots=True) as client:
        site.add("/robots.txt", b"down", status=500, content_type="text/plain")
        refused = _failure(client, site.url("/a.html"), "page")
        assert refused.category == "robots_unreachable" and refused.retryable


def test_a_host_that_asked_to_wait_is_not_asked_again_in_the_same_run(server):
    with _client() as client:
        assert _failure(client, server.url("/hostile/429")).category == "http_429"
        assert _failure(client, server.url("/feed.xml")).category == "host_backoff"


def test_the_counters_section_of_the_architecture_notes_is_the_vocabulary_in_the_code():
    notes = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert vocabulary_markdown() in notes, "regenerate it: python -m newsmon.core.outcomes"


def _eventful_site(demo_env) -> None:
    """The demo site plus a feed that moved for good, one that is gone, and two hostile feeds."""
    routes, base = demo_env.server.routes, demo_env.server.base_url
    routes["/old/rss.xml"] = Route(b"", status=301, headers={"Location": f"{base}/north-daily/rss.xml"},
                                   conditional=False)
    routes["/closed/rss.xml"] = Route(b"this feed is gone", "text/plain", status=410, conditional=False)
    routes["/deep/feed.json"] = Route(('{"version": "https://jsonfeed.org/version/1.1", "items": ['
                                       + "[" * 50_000 + "]" * 50_000 + "]}").encode(), "application/feed+json")
    extra = {"moved-desk": "/old/rss.xml", "closed-desk": "/closed/rss.xml", "deep-desk": "/deep/feed.json"}
    feeds_yaml = demo_env.settings.feeds_file
    feeds_yaml.write_text(feeds_yaml.read_text() + "".join(
        f"  - id: {feed_id}\n    name: {feed_id}\n    url: {base}{path}\n    language: en\n"
        "    evidence: a test fixture on loopback\n" for feed_id, path in extra.items()))


def test_moved_and_gone_feeds_are_counted_as_such_not_as_failed(demo_env):
    _eventful_site(demo_env)
    poll = run_once(demo_env.settings).poll
    assert poll["feeds_moved"] == 1 and poll["feeds_gone"] == 1
    assert poll["feeds_failed"] == 2  # the demo's broken feed and the deep JSON one
    assert poll["duplicates_url"] >= 1  # the moved feed's entries are read: north-daily staged them already
    gone = [e["detail"] for e in poll[EXAMPLES] if e["key"] == "feeds_gone"]
    assert gone and "closed-desk" in gone[0] and "410 Gone" in gone[0]


def test_every_key_any_stage_records_is_in_the_documented_vocabulary_and_names_no_url(demo_env):
    _eventful_site(demo_env)
    run_once(demo_env.settings)
    send_digests(demo_env.settings, "daily")
    run_maintenance(demo_env.settings)
    records = recent_runs(open_engine(demo_env.settings.database_url), limit=100)
    assert {"plan", "poll", "index", "alert", "digest_daily", "optimize_database"} <= {r.stage for r in records}
    notes = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for record in records:
        for key in record.counts:
            assert is_counter_key(key) and f"`{key}`" in notes, (record.stage, key)
        for key in record.counts[SKIPPED_REASONS]:
            assert is_skip_key(key) and f"`{key.partition('.')[0]}`" in notes, (record.stage, key)
            assert "/" not in key and ":" not in key
        for example in record.counts[EXAMPLES]:
            assert is_counter_key(example["key"]) or is_skip_key(example["key"]), (record.stage, example)
    skips = {k for r in records for k in r.counts[SKIPPED_REASONS]}
    assert {"feed_unparseable.not_a_feed", "feed_unparseable.too_deeply_nested",
            "page_fetch_failed.http_404", "page_fetch_failed.bad_content_type"} <= skips
