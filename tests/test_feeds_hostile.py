"""Hostile and broken feed documents: each is a usable feed or a FeedParseError with a reason, parsed within bounds."""

from __future__ import annotations

import json

import pytest

import newsmon.ingest.feeds
from newsmon.ingest.feeds import FeedParseError, parse_feed

FEED_URL = "https://hostile.example.org/feed.xml"


def rss_item(i: int, extra: str = "") -> str:
    return (f"<item><title>Story {i}</title><link>https://hostile.example.org/news/{i}</link>"
            f"<guid>story-{i}</guid>{extra}</item>")


def rss(items: str) -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Border desk</title>"
            f"<link>https://hostile.example.org/</link>{items}</channel></rss>").encode()


def atom(entries: str) -> bytes:
    return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Border desk</title>"
            f"<id>urn:desk</id>{entries}</feed>").encode()


def atom_entry(i: int, extra: str = "") -> str:
    return f"<entry><id>urn:story:{i}</id><title>Story {i}</title><link href='https://hostile.example.org/{i}'/>{extra}</entry>"


def rdf(items: str) -> bytes:
    return ("<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
            "xmlns='http://purl.org/rss/1.0/'><channel rdf:about='https://hostile.example.org/'><title>Desk</title>"
            f"<link>https://hostile.example.org/</link></channel>{items}</rdf:RDF>").encode()


def rdf_item(i: int, extra: str = "") -> str:
    return (f"<item rdf:about='https://hostile.example.org/{i}'><title>Story {i}</title>"
            f"<link>https://hostile.example.org/{i}</link>{extra}</item>")


def many_attributes(n: int) -> str:
    return " ".join(f'a{i}="x"' for i in range(n))


def refusal(body: bytes, **kwargs: object) -> str:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, url=FEED_URL, **kwargs)  # type: ignore[arg-type]
    assert FEED_URL in str(caught.value)  # the message names the feed
    return caught.value.reason


# ---------------------------------------------------------------- parse time


@pytest.mark.parametrize("where", ["on the item's link", "in an ill-formed feed"])
def test_an_element_with_thousands_of_attributes_is_refused_before_parsing(where):
    # feedparser's time grows with the square of one element's attributes: 20,000 took 4.8 s, 500,000 hours.
    broken = "<item><title>AT&T</title></item>" if where == "in an ill-formed feed" else ""
    body = rss(f"<item><guid>g</guid><link {many_attributes(5_000)}>https://hostile.example.org/a</link></item>{broken}")
    reason = refusal(body)
    assert "refused before parsing" in reason and "attributes" in reason


def test_a_feed_of_millions_of_empty_tags_is_refused_before_parsing():
    # 60,000 tags here; a 10 MB body holds 2.4 million, which took feedparser 25 s.
    assert "tags" in refusal(rss(rss_item(1, "<x/>" * 60_000)))


def test_escaped_html_in_a_description_counts_as_tags():
    # feedparser parses escaped markup again to sanitise it, at about the cost of real tags.
    assert "tags" in refusal(rss(rss_item(1, "<description>" + "&lt;p&gt;a&lt;/p&gt;" * 40_000 + "</description>")))


@pytest.mark.parametrize(("build", "item"), [(rss, rss_item), (atom, atom_entry), (rdf, rdf_item)], ids=["rss", "atom", "rdf"])
def test_items_before_a_hostile_item_are_kept_in_a_well_formed_cut(build, item):
    body = build("".join(item(i) for i in range(3)) + item(3, f"<x {many_attributes(5_000)}/>") + item(4))
    feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["Story 0", "Story 1", "Story 2"]
    assert feed.items_not_read == 2
    assert any("only the first 3 items were read" in p and "attributes" in p for p in feed.problems)
    assert not any("ill-formed" in p for p in feed.problems)  # the cut document is still well-formed XML


def test_a_feed_of_many_thousand_items_is_parsed_only_up_to_the_item_limit():
    # A changing 9 MB feed of 100,000 items cost 19 s of CPU on every poll.
    feed = parse_feed(rss("".join(rss_item(i) for i in range(1_500))), url=FEED_URL)
    assert 100 <= len(feed.entries) < 1_500
    assert feed.entries[0].entry_id == "story-0"  # the newest items (first in the document) are the ones kept
    assert feed.items_not_read == 1_500 - len(feed.entries)
    assert any(f"only the first {len(feed.entries)} items were read" in p for p in feed.problems)


def test_a_json_feed_of_many_thousand_items_is_read_only_up_to_the_item_limit():
    items = [{"id": f"story-{i}", "url": f"https://hostile.example.org/{i}"} for i in range(1_500)]
    feed = parse_feed(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode(), url=FEED_URL)
    assert 100 <= len(feed.entries) < 1_500 and feed.items_not_read == 1_500 - len(feed.entries)


def test_a_feed_that_needs_more_cpu_than_allowed_is_an_unusable_feed(monkeypatch):
    monkeypatch.setattr(newsmon.ingest.feeds, "FEED_PARSE_CPU_S", 0.01)
    reason = refusal(rss("".join(rss_item(i, "<description>Queues grew again overnight.</description>") for i in range(900))))
    assert "CPU time" in reason


def test_a_feed_within_the_limits_is_parsed_whole():
    feed = parse_feed(rss("".join(rss_item(i, f"<x {many_attributes(20)}/>") for i in range(200))), url=FEED_URL)
    assert len(feed.entries) == 200 and feed.items_not_read == 0 and feed.problems == ()


# ---------------------------------------------------------------- parser exceptions


@pytest.mark.parametrize(("body", "expected"), [
    (('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + "7" * 5_000 + "}]}").encode(), "invalid JSON"),
    (('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "x": ' + "[" * 100_000 + "]" * 100_000
      + "}]}").encode(), "nested too deeply"),
], ids=["5000-digit id", "deeply nested"])
def test_json_feeds_that_crash_the_json_reader_are_typed_skips(body, expected):
    assert expected in refusal(body)


def test_json_feed_with_a_malformed_feed_url_and_odd_authors_still_yields_its_items():
    doc = {"version": "https://jsonfeed.org/version/1.1", "feed_url": "http://[oops/feed.json",
           "home_page_url": "https://hostile.example.org/", "items": [
               {"id": "1", "url": "/news/1", "authors": 5},
               {"id": "2", "url": "https://hostile.example.org/news/2", "authors": [{"name": "Desk"}]}]}
    feed = parse_feed(json.dumps(doc).encode(), url=FEED_URL)
    assert [e.link for e in feed.entries] == ["https://hostile.example.org/news/1", "https://hostile.example.org/news/2"]
    assert [e.authors for e in feed.entries] == [(), ("Desk",)]


def test_an_entry_link_with_a_broken_ipv6_host_is_dropped_and_the_feed_stays_usable():
    feed = parse_feed(rss("<item><guid>bad</guid><link>http://[oops/a</link></item>" + rss_item(2)), url=FEED_URL)
    assert [(e.entry_id, e.link) for e in feed.entries] == [("bad", None), ("story-2", "https://hostile.example.org/news/2")]
    assert any("http://[oops/a" in p for p in feed.problems)


def test_a_malformed_content_location_header_does_not_cost_the_entries_their_links():
    body = rss("<item><guid>g</guid><link>/news/1</link></item>")
    feed = parse_feed(body, url=FEED_URL, headers={"Content-Location": "http://[oops/"})
    assert feed.entries[0].link == "https://hostile.example.org/news/1"
