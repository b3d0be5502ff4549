"""robots.txt: disallowed article pages are not fetched and the skip says why; robots.txt is cached."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.core.settings import load_settings
from newsmon.ingest.http import FetchError, SafeClient

ROBOTS = b"""User-agent: *
Disallow: /private/

User-agent: newsmon
Disallow: /members/
Allow: /
"""
PAGE = b"<html><body><p>Border crossing at Salcininkai reopened.</p></body></html>"


@pytest.fixture
def server():
    with FeedServer() as srv:
        srv.add("/robots.txt", ROBOTS, content_type="text/plain")
        srv.add("/news/1.html", PAGE, content_type="text/html")
        srv.add("/members/2.html", PAGE, content_type="text/html")
        srv.add("/feed.xml", b"<rss version='2.0'><channel><title>x</title></channel></rss>")
        yield srv


def client_for(**overrides: object) -> SafeClient:
    knobs = {"allow_loopback": True, "per_host_min_interval_s": 0.0, **overrides}
    return SafeClient(load_settings(**knobs))


def test_disallowed_article_page_is_not_fetched_and_the_error_says_why(server):
    with client_for() as client, pytest.raises(FetchError) as info:
        client.fetch(server.url("/members/2.html"), kind="page")
    assert "disallowed by robots.txt" in info.value.reason and "/members/2.html" in info.value.reason
    assert not info.value.retryable
    assert server.hits_for("/members/2.html") == []


def test_allowed_pages_are_fetched_and_robots_txt_is_fetched_once_per_host(server):
    with client_for() as client:
        for _ in range(3):
            assert client.fetch(server.url("/news/1.html"), kind="page").body == PAGE
    assert len(server.hits_for("/robots.txt")) == 1


def test_robots_rules_are_matched_on_our_product_token(server):
    # The generic group disallows /private/, but our own group (newsmon) allows everything but /members/.
    server.add("/private/3.html", PAGE, content_type="text/html")
    with client_for() as client:
        assert client.fetch(server.url("/private/3.html"), kind="page").status == 200


def test_feeds_are_not_subject_to_robots_because_the_user_configured_them(server):
    server.add("/members/feed.xml", b"<rss version='2.0'><channel><title>x</title></channel></rss>")
    with client_for() as client:
        assert client.fetch(server.url("/members/feed.xml"), kind="feed").status == 200


def test_missing_robots_txt_allows_everything(server):
    del server.routes["/robots.txt"]
    with client_for() as client:
        assert client.fetch(server.url("/members/2.html"), kind="page").status == 200


def test_robots_txt_server_error_means_no_page_fetch_for_now(server):
    server.add("/robots.txt", b"down", status=503, content_type="text/plain")
    with client_for() as client, pytest.raises(FetchError) as info:
        client.fetch(server.url("/news/1.html"), kind="page")
    assert "robots.txt unreachable" in info.value.reason
    assert server.hits_for("/news/1.html") == []


def test_respect_robots_off_fetches_disallowed_pages(server):
    with client_for(respect_robots=False) as client:
        assert client.fetch(server.url("/members/2.html"), kind="page").status == 200
    assert server.hits_for("/robots.txt") == []


def test_unreachable_robots_txt_makes_the_page_skip_retryable(server):
    server.add("/robots.txt", b"down", status=500, content_type="text/plain")
    with client_for() as client, pytest.raises(FetchError) as info:
        client.fetch(server.url("/news/1.html"), kind="page")
    assert info.value.retryable


def test_a_page_on_a_refused_address_says_so_instead_of_blaming_robots_txt():
    from newsmon.core.settings import load_settings
    from newsmon.ingest.http import FetchError, SafeClient

    with SafeClient(load_settings(allow_loopback=False, respect_robots=True)) as client:
        with pytest.raises(FetchError) as err:
            client.fetch("http://127.0.0.1:9/article.html", kind="page")
    assert err.value.reason.startswith("refused target: loopback")
    assert "robots" not in err.value.reason and not err.value.retryable
