"""SafeClient's own decisions through httpx.MockTransport: redirects, conditional GET, Retry-After, refused types.

Socket behaviour (timeouts, size caps, hostile servers, refused addresses, TLS) is tested against real
loopback servers in test_http_hostile.py, test_http_tls.py and test_http_politeness.py.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
from mock_site import Answer, Site, feed, redirect

from newsmon.ingest.http import FetchError, SafeClient, parse_retry_after

FEED_URL = "http://news.example.lt/feed.xml"


def fetch_error(client: SafeClient, url: str, kind: str = "feed") -> FetchError:
    with pytest.raises(FetchError) as info:
        client.fetch(url, kind=kind)
    return info.value


def test_a_chain_of_permanent_redirects_reports_where_the_feed_now_lives():
    site = Site({FEED_URL: redirect(301, "http://news.example.lt/rss"),
                 "http://news.example.lt/rss": redirect(308, "https://www.example.lt/rss.xml"),
                 "https://www.example.lt/rss.xml": feed()})
    with site.client() as client:
        result = client.fetch_detailed(FEED_URL, kind="feed")
    assert result.permanent_url == "https://www.example.lt/rss.xml"
    assert result.page.final_url == "https://www.example.lt/rss.xml" and result.page.url == FEED_URL


def test_one_temporary_hop_keeps_the_configured_url():
    site = Site({FEED_URL: redirect(301, "http://news.example.lt/rss"),
                 "http://news.example.lt/rss": redirect(302, "http://cdn.example.lt/rss.xml"),
                 "http://cdn.example.lt/rss.xml": feed()})
    with site.client() as client:
        assert client.fetch_detailed(FEED_URL, kind="feed").permanent_url is None


def test_a_relative_location_is_resolved_against_the_hop_that_sent_it():
    site = Site({FEED_URL: redirect(302, "../archive/feed.xml?page=1"),
                 "http://news.example.lt/archive/feed.xml?page=1": feed()})
    with site.client() as client:
        assert client.fetch(FEED_URL, kind="feed").final_url == "http://news.example.lt/archive/feed.xml?page=1"


def test_a_redirect_without_a_location_is_a_named_error():
    site = Site({FEED_URL: redirect(302, None)})
    with site.client() as client:
        err = fetch_error(client, FEED_URL)
    assert "HTTP 302 redirect without a Location header" in err.reason and err.status == 302


def test_redirects_beyond_the_cap_stop_and_name_the_next_target():
    site = Site({f"http://news.example.lt/hop/{i}": redirect(302, f"/hop/{i + 1}") for i in range(10)})
    with site.client(max_redirects=3) as client:
        err = fetch_error(client, "http://news.example.lt/hop/0")
    assert "more than 3 redirects (last to http://news.example.lt/hop/4)" in err.reason
    assert len(site.requests) == 4


def test_a_redirect_back_to_a_visited_url_is_named_a_loop_before_the_cap():
    site = Site({"http://news.example.lt/a": redirect(302, "/b"), "http://news.example.lt/b": redirect(302, "/a")})
    with site.client(max_redirects=30) as client:
        err = fetch_error(client, "http://news.example.lt/a")
    assert "redirect loop at http://news.example.lt/a" in err.reason and len(site.requests) == 2


def test_validators_are_sent_on_every_hop_so_the_final_server_can_answer_304():
    site = Site({FEED_URL: redirect(307, "http://cdn.example.lt/feed.xml"),
                 "http://cdn.example.lt/feed.xml": Answer(304, headers={"ETag": '"v2"'})})
    with site.client() as client:
        page = client.fetch(FEED_URL, kind="feed", etag='"v2"', last_modified="Tue, 28 Oct 2025 06:00:00 GMT")
    assert page.not_modified and page.status == 304 and page.body == b""
    for request in site.requests:
        assert request.headers["if-none-match"] == '"v2"'
        assert request.headers["if-modified-since"] == "Tue, 28 Oct 2025 06:00:00 GMT"


def test_a_first_fetch_sends_no_validators():
    site = Site({FEED_URL: feed(ETag='"v1"')})
    with site.client() as client:
        page = client.fetch(FEED_URL, kind="feed")
    assert page.headers["etag"] == '"v1"' and not page.not_modified
    assert "if-none-match" not in site.requests[0].headers and "if-modified-since" not in site.requests[0].headers


def test_429_reports_its_retry_after_and_is_retryable():
    site = Site({FEED_URL: feed(429, Retry_After="120")})
    with site.client() as client:
        err = fetch_error(client, FEED_URL)
    assert (err.status, err.retry_after_s, err.retryable) == (429, 120.0, True)


def test_503_with_an_http_date_retry_after_is_converted_to_seconds():
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    site = Site({FEED_URL: feed(503, Retry_After=when)})
    with site.client() as client:
        err = fetch_error(client, FEED_URL)
    assert err.status == 503 and err.retryable and 290 <= err.retry_after_s <= 301


def test_after_a_429_no_other_request_goes_to_that_host_until_retry_after():
    site = Site({FEED_URL: feed(429, Retry_After="120"), "http://news.example.lt/other.xml": feed()})
    with site.client() as client:
        fetch_error(client, FEED_URL)
        err = fetch_error(client, "http://news.example.lt/other.xml")
    assert err.retryable and 115 <= err.retry_after_s <= 120 and "asked us to wait" in err.reason
    assert site.sent("http://news.example.lt/other.xml") == []


def test_a_404_is_final_and_a_500_is_worth_retrying():
    site = Site({FEED_URL: feed(500)})
    with site.client() as client:
        missing = fetch_error(client, "http://news.example.lt/gone.xml")
        broken = fetch_error(client, FEED_URL)
    assert (missing.status, missing.retryable) == (404, False)
    assert (broken.status, broken.retryable) == (500, True)


def test_retry_after_parsing_accepts_seconds_and_dates_and_ignores_garbage():
    now = datetime(2025, 10, 28, 6, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Tue, 28 Oct 2025 06:02:00 GMT", now_at=now) == 120.0
    assert parse_retry_after("Tue, 28 Oct 2025 05:00:00 GMT", now_at=now) == 0.0  # already past
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("999999999") == 24 * 3600.0


# application/octet-stream is read and judged by its bytes instead (tests/test_content_sniffing.py).
@pytest.mark.parametrize("content_type", ["image/png", "application/pdf", "video/mp4"])
def test_a_binary_content_type_is_refused_without_reading_the_body(content_type):
    page = Answer(200, b"\x89PNG" * 1000, {"Content-Type": content_type})
    site = Site({"http://news.example.lt/photo": page})
    with site.client(respect_robots=False) as client:
        err = fetch_error(client, "http://news.example.lt/photo", kind="page")
    assert f"unexpected Content-Type {content_type!r} for a page" in err.reason and not err.retryable
    assert not page.body_read


def test_requests_carry_the_configured_user_agent_and_a_feed_may_override_it():
    site = Site({FEED_URL: feed(), "http://news.example.lt/picky.xml": feed()})
    with site.client(user_agent="newsmon-test/1.0 (+https://example.org/newsmon)") as client:
        client.fetch(FEED_URL, kind="feed")
        client.fetch("http://news.example.lt/picky.xml", kind="feed", user_agent="Mozilla/5.0 (newsmon)")
    assert site.sent(FEED_URL)[0].headers["user-agent"] == "newsmon-test/1.0 (+https://example.org/newsmon)"
    assert site.sent("http://news.example.lt/picky.xml")[0].headers["user-agent"] == "Mozilla/5.0 (newsmon)"


def test_a_declared_oversized_body_is_refused_before_reading_it():
    page = Answer(200, b"<html></html>", {"Content-Type": "text/html", "Content-Length": str(50 * 1024 * 1024)})
    site = Site({"http://news.example.lt/huge.html": page})
    with site.client(respect_robots=False, max_body_bytes=1024 * 1024) as client:
        err = fetch_error(client, "http://news.example.lt/huge.html", kind="page")
    assert "exceeds the 1048576-byte cap" in err.reason and not page.body_read
