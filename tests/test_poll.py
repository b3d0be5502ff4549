"""Polling behaviour a user leaves running for months: cheap when unchanged, adaptive, backing off, moving."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.core.records import Feed, FeedState
from newsmon.core.settings import load_settings
from newsmon.ingest.http import SafeClient
from newsmon.ingest.poll import is_due, poll_feed, record_new_items
from newsmon.store.db import open_engine
from newsmon.store.feedstate import all_feed_states, load_feed_state, save_feed_state

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link></item>" for t, link in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Border desk</title>{body}</channel></rss>".encode()


FEED_BODY = rss(("Medininkai checkpoint queue grows", "/news/1"), ("Balloons close Vilnius airport", "/news/2"))


@pytest.fixture
def server():
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def client():
    settings = load_settings(allow_loopback=True, per_host_min_interval_s=0.0, respect_robots=False,
                             total_timeout_s=5.0, read_timeout_s=3.0, connect_timeout_s=2.0)
    with SafeClient(settings) as c:
        yield c


def feed_for(server: FeedServer, path: str = "/feed.xml") -> Feed:
    return Feed(id="border-desk", url=server.url(path), name="Border desk")


def test_first_poll_returns_entries_with_links_resolved_against_the_feed_url(server, client):
    server.add("/feed.xml", FEED_BODY, etag='"abc"')
    result = poll_feed(client, feed_for(server), None, NOW)
    assert result.error is None and not result.unchanged
    assert [e.link for e in result.parsed.entries] == [server.url("/news/1"), server.url("/news/2")]
    assert result.state.etag == '"abc"'
    assert result.state.next_poll_at == NOW + timedelta(seconds=600)


def test_second_poll_of_a_feed_answering_304_is_unchanged_and_parses_nothing(server, client):
    server.add("/feed.xml", FEED_BODY, etag='"abc"')
    first = poll_feed(client, feed_for(server), None, NOW)
    second = poll_feed(client, feed_for(server), first.state, NOW + timedelta(minutes=10))
    assert second.unchanged and second.parsed is None and second.outcome == "not_modified"
    assert server.hits_for("/feed.xml")[-1].headers["if-none-match"] == '"abc"'


def test_server_ignoring_validators_with_identical_body_costs_no_parse(server, client):
    server.add("/feed.xml", FEED_BODY, honour_conditional=False)
    first = poll_feed(client, feed_for(server), None, NOW)
    second = poll_feed(client, feed_for(server), first.state, NOW + timedelta(minutes=10))
    assert second.unchanged and second.parsed is None and second.outcome == "same_body"


def test_quiet_feed_is_polled_less_often_and_busy_feed_more_often(client):
    state = FeedState(feed_id="f", url="http://x", interval_s=600, last_polled_at=NOW)
    quiet = record_new_items(state, 0, NOW, client=client)
    busy = record_new_items(state, 9, NOW, client=client)
    assert quiet.interval_s > 600 > busy.interval_s >= client.settings.min_poll_interval_s
    very_quiet = state
    for _ in range(30):
        very_quiet = record_new_items(very_quiet, 0, NOW, client=client)
    assert very_quiet.interval_s == client.settings.max_poll_interval_s


def test_failures_back_off_exponentially_and_success_resets_them(server, client):
    server.add("/feed.xml", b"oops", status=500, content_type="text/plain")
    state = None
    delays = []
    for _ in range(3):
        result = poll_feed(client, feed_for(server), state, NOW)
        state = result.state
        delays.append((state.next_poll_at - NOW).total_seconds())
        assert result.error and "HTTP 500" in result.error
        assert result.outcome == "failed" and result.failure == "http_5xx"
    assert delays == [600, 1200, 2400] and state.failures == 3
    server.add("/feed.xml", FEED_BODY)
    ok = poll_feed(client, feed_for(server), state, NOW)
    assert ok.state.failures == 0 and ok.state.last_error is None and ok.parsed is not None


def test_retry_after_of_a_429_pushes_the_next_poll_back(server, client):
    server.add("/feed.xml", b"slow down", status=429, content_type="text/plain", headers={"Retry-After": "7200"})
    result = poll_feed(client, feed_for(server), None, NOW)
    assert result.state.next_poll_at == NOW + timedelta(seconds=7200)
    assert not is_due(feed_for(server), result.state, NOW + timedelta(minutes=30))


def test_permanent_redirect_updates_the_stored_feed_url(server, client):
    server.add("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    server.add("/new.xml", FEED_BODY)
    result = poll_feed(client, feed_for(server, "/old.xml"), None, NOW)
    assert result.moved_to == server.url("/new.xml") and result.state.url == server.url("/new.xml")
    assert result.outcome == "moved" and result.parsed is not None and result.error is None


def test_temporary_redirect_keeps_the_configured_url(server, client):
    server.add("/old.xml", b"", status=302, headers={"Location": "/new.xml"})
    server.add("/new.xml", FEED_BODY)
    result = poll_feed(client, feed_for(server, "/old.xml"), None, NOW)
    assert result.moved_to is None and result.state.url == server.url("/old.xml")
    assert result.outcome == "fetched"


def test_410_gone_disables_the_feed_with_a_reason(server, client):
    server.add("/feed.xml", b"gone", status=410, content_type="text/plain")
    result = poll_feed(client, feed_for(server), None, NOW)
    assert result.outcome == "gone" and "410 Gone" in result.state.disabled_reason
    assert result.failure == "http_410"
    assert not is_due(feed_for(server), result.state, NOW + timedelta(days=30))


def test_html_page_instead_of_feed_is_a_failure_with_a_reason(server, client):
    server.add("/feed.xml", b"<!doctype html><html><body>Moved!</body></html>", content_type="text/html")
    result = poll_feed(client, feed_for(server), None, NOW)
    assert result.parsed is None and "not a feed" in result.error and result.state.failures == 1
    assert result.outcome == "failed" and result.failure == "not_a_feed"


def test_feed_state_round_trips_through_the_state_db(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'state.db'}")
    state = FeedState(feed_id="lrt-en", url="https://example.org/rss", etag='"x"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT",
                      body_hash="ab" * 32, next_poll_at=NOW, last_polled_at=NOW, last_success_at=NOW,
                      failures=2, interval_s=900, items_seen=12)
    with engine.begin() as conn:
        save_feed_state(conn, state)
        save_feed_state(conn, state)  # idempotent upsert
    with engine.connect() as conn:
        assert load_feed_state(conn, "lrt-en") == state
        assert load_feed_state(conn, "missing") is None
        assert all_feed_states(conn) == {"lrt-en": state}


def test_a_feed_due_a_little_after_the_scheduler_tick_is_still_polled_on_that_tick():
    feed = Feed(id="f", url="https://example.org/rss", name="f")
    state = FeedState(feed_id="f", url=feed.url, next_poll_at=NOW + timedelta(seconds=30))
    assert is_due(feed, state, NOW)
    assert not is_due(feed, replace(state, next_poll_at=NOW + timedelta(minutes=5)), NOW)
    assert not is_due(replace(feed, enabled=False), None, NOW)


def test_a_gone_feed_comes_back_when_its_configured_url_changes(server, client):
    server.add("/feed.xml", b"gone", status=410, content_type="text/plain")
    server.add("/new.xml", FEED_BODY)
    gone = poll_feed(client, feed_for(server), None, NOW).state
    moved = feed_for(server, "/new.xml")
    assert is_due(moved, gone, NOW)
    result = poll_feed(client, moved, gone, NOW)
    assert result.parsed is not None and result.state.disabled_reason is None and result.state.url == moved.url


def test_last_modified_alone_is_used_for_the_conditional_get(server, client):
    server.add("/feed.xml", FEED_BODY, last_modified="Sun, 01 Mar 2026 10:00:00 GMT")
    first = poll_feed(client, feed_for(server), None, NOW)
    second = poll_feed(client, feed_for(server), first.state, NOW + timedelta(minutes=10))
    assert second.outcome == "not_modified"
    assert server.hits_for("/feed.xml")[-1].headers["if-modified-since"] == "Sun, 01 Mar 2026 10:00:00 GMT"
    assert second.state.last_modified == "Sun, 01 Mar 2026 10:00:00 GMT"


def test_forgetting_validators_makes_the_next_poll_parse_again(server, client):
    from newsmon.ingest.poll import forget_validators

    server.add("/feed.xml", FEED_BODY, etag='"abc"')
    first = poll_feed(client, feed_for(server), None, NOW)
    again = poll_feed(client, feed_for(server), forget_validators(first.state), NOW + timedelta(minutes=10))
    assert again.parsed is not None and not again.unchanged


def test_fixing_the_url_of_a_failing_feed_in_the_config_takes_effect_on_the_next_run(server, client):
    server.add("/feed.xml", b"missing", status=404, content_type="text/plain")
    server.add("/fixed.xml", FEED_BODY)
    failing = poll_feed(client, feed_for(server), None, NOW).state
    fixed = feed_for(server, "/fixed.xml")
    assert is_due(fixed, failing, NOW + timedelta(seconds=1))
    result = poll_feed(client, fixed, failing, NOW + timedelta(seconds=1))
    assert result.parsed is not None and result.state.url == fixed.url and result.state.failures == 0


def test_a_healthy_moved_feed_keeps_its_new_url(server, client):
    server.add("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    server.add("/new.xml", FEED_BODY, etag='"n"')
    moved = poll_feed(client, feed_for(server, "/old.xml"), None, NOW).state
    again = poll_feed(client, feed_for(server, "/old.xml"), moved, NOW + timedelta(minutes=10))
    assert again.outcome == "not_modified" and len(server.hits_for("/old.xml")) == 1
