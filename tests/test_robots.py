"""robots.txt: disallowed article pages are not fetched and the skip says why; robots.txt is cached.

The decisions go through httpx.MockTransport (tests/mock_site.py); the one case about a refused
address needs the real guarded connection layer.
"""

from __future__ import annotations

import pytest
from mock_site import Answer, Site

from newsmon.core.settings import load_settings
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.ingest.limiter import host_key

SITE = "http://www.example.lt"
ROBOTS = b"""User-agent: *
Disallow: /private/

User-agent: newsmon
Disallow: /members/
Allow: /
"""
PAGE = b"<html><body><p>Border crossing at Salcininkai reopened.</p></body></html>"
FEED = b"<rss version='2.0'><channel><title>x</title></channel></rss>"


def html(body: bytes = PAGE) -> Answer:
    return Answer(200, body, {"Content-Type": "text/html"})


@pytest.fixture
def site() -> Site:
    return Site({
        f"{SITE}/robots.txt": Answer(200, ROBOTS, {"Content-Type": "text/plain"}),
        f"{SITE}/news/1.html": html(),
        f"{SITE}/members/2.html": html(),
        f"{SITE}/private/3.html": html(),
        f"{SITE}/members/feed.xml": Answer(200, FEED, {"Content-Type": "application/rss+xml"}),
    })


def test_disallowed_article_page_is_not_fetched_and_the_error_says_why(site):
    with site.client() as client, pytest.raises(FetchError) as info:
        client.fetch(f"{SITE}/members/2.html", kind="page")
    assert "disallowed by robots.txt" in info.value.reason and "/members/2.html" in info.value.reason
    assert not info.value.retryable
    assert site.sent(f"{SITE}/members/2.html") == []


def test_allowed_pages_are_fetched_and_robots_txt_is_fetched_once_per_host(site):
    with site.client() as client:
        for _ in range(3):
            assert client.fetch(f"{SITE}/news/1.html", kind="page").body == PAGE
    assert len(site.sent(f"{SITE}/robots.txt")) == 1


def test_robots_rules_are_matched_on_our_product_token(site):
    # The generic group disallows /private/, but our own group (newsmon) allows everything but /members/.
    with site.client(user_agent="newsmon/0.1 (+https://example.org/newsmon)") as client:
        assert client.fetch(f"{SITE}/private/3.html", kind="page").status == 200
    assert site.sent(f"{SITE}/robots.txt")[0].headers["user-agent"].startswith("newsmon/0.1")


def test_a_crawler_named_otherwise_gets_the_generic_group(site):
    with site.client(user_agent="othercrawler/2.0") as client, pytest.raises(FetchError) as info:
        client.fetch(f"{SITE}/private/3.html", kind="page")
    assert "disallows /private/3.html for othercrawler" in info.value.reason


def test_feeds_are_not_subject_to_robots_because_the_user_configured_them(site):
    with site.client() as client:
        assert client.fetch(f"{SITE}/members/feed.xml", kind="feed").status == 200
    assert site.sent(f"{SITE}/robots.txt") == []


def test_missing_robots_txt_allows_everything(site):
    del site.answers[f"{SITE}/robots.txt"]
    with site.client() as client:
        assert client.fetch(f"{SITE}/members/2.html", kind="page").status == 200


def test_robots_txt_server_error_means_no_page_fetch_for_now(site):
    site.add(f"{SITE}/robots.txt", Answer(503, b"down", {"Content-Type": "text/plain"}))
    with site.client() as client, pytest.raises(FetchError) as info:
        client.fetch(f"{SITE}/news/1.html", kind="page")
    assert "robots.txt unreachable" in info.value.reason and info.value.retryable
    assert site.sent(f"{SITE}/news/1.html") == []


def test_respect_robots_off_fetches_disallowed_pages(site):
    with site.client(respect_robots=False) as client:
        assert client.fetch(f"{SITE}/members/2.html", kind="page").status == 200
    assert site.sent(f"{SITE}/robots.txt") == []


def test_unreachable_robots_txt_makes_the_page_skip_retryable(site):
    site.add(f"{SITE}/robots.txt", Answer(500, b"down", {"Content-Type": "text/plain"}))
    with site.client() as client, pytest.raises(FetchError) as info:
        client.fetch(f"{SITE}/news/1.html", kind="page")
    assert info.value.retryable


@pytest.mark.parametrize("page_url", ["http://bücher.example/news/1.html", "http://xn--bcher-kva.example/news/1.html"])
def test_the_crawl_delay_of_an_idn_host_spaces_the_requests_for_its_pages(page_url):
    # robots.txt is fetched through the ASCII (punycode) URL httpx sends, the page may be written in Unicode:
    # both must land on one limiter key, or the Crawl-delay is recorded for a host no request waits on.
    site = Site({"http://bücher.example/robots.txt": Answer(200, b"User-agent: *\nCrawl-delay: 0.25\n",
                                                           {"Content-Type": "text/plain"}),
                 "http://bücher.example/news/1.html": html()})
    with site.client() as client:
        client.fetch(page_url, kind="page")
        assert client.limiter.spacing_s(host_key(page_url)) == 0.25
    assert host_key("http://bücher.example/") == host_key("http://XN--BCHER-KVA.example:80/robots.txt")


def test_a_page_on_a_refused_address_says_so_instead_of_blaming_robots_txt():
    with SafeClient(load_settings(allow_loopback=False, respect_robots=True)) as client:
        with pytest.raises(FetchError) as err:
            client.fetch("http://127.0.0.1:9/article.html", kind="page")
    assert err.value.reason.startswith("refused target: loopback")
    assert "robots" not in err.value.reason and not err.value.retryable
