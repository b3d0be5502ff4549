"""The feed-parsing boundary on the team's own fixtures: formats, encodings, relative links, bozo feeds, identity."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.ingest.feeds import FeedParseError, parse_feed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
FEED_URL = "https://fixture.example.org/feeds/main.xml"


def parse(name: str, url: str = FEED_URL, headers: dict[str, str] | None = None):
    return parse_feed((FIXTURES / name).read_bytes(), url=url, headers=headers)


def test_windows_1251_feed_yields_readable_cyrillic_titles():
    feed = parse("rss2-cp1251.xml")
    assert feed.title == "Пограничные новости"
    assert feed.entries[0].title == "Очередь грузовиков у пункта пропуска Каменный Лог выросла"


def test_relative_entry_links_are_resolved_against_the_feed_url():
    feed = parse("rss2-cp1251.xml")
    assert feed.entries[0].link == "https://fixture.example.org/border/2026/03/01/queue.html"


def test_guid_is_the_entry_id_and_link_is_the_fallback():
    feed = parse("rss2-cp1251.xml")
    assert feed.entries[0].entry_id == "border-1001"
    # No guid: the id comes from the link, with tracking parameters gone, while the link itself is untouched.
    assert "utm_source" not in feed.entries[1].entry_id
    assert feed.entries[1].link.endswith("?utm_source=rss&utm_medium=feed")


def test_publish_dates_are_utc_and_unknown_dates_stay_none():
    feed = parse("rss2-cp1251.xml")
    assert feed.entries[0].published_at == datetime(2026, 3, 1, 5, 15, tzinfo=UTC)
    assert feed.entries[1].published_at is None


@pytest.mark.parametrize(("name", "title"), [
    ("rss2-iso-8859-2.xml", "Białoruś zamyka przejście w Bobrownikach"),
    ("rss2-latin1.xml", "Ballons über Vilnius: Flughafen schließt erneut"),
])
def test_legacy_single_byte_encodings_are_decoded(name, title):
    assert parse(name).entries[0].title == title


def test_rss_091_items_without_link_or_guid_are_kept_with_a_stable_content_id():
    first = parse("rss091.xml")
    second = parse("rss091.xml")
    assert [e.title for e in first.entries] == ["Minsk recalls chargé d'affaires", "Checkpoint update"]
    assert first.entries[1].link is None and first.entries[1].entry_id.startswith("sha256:")
    assert first.entries[1].entry_id == second.entries[1].entry_id


def test_rss_10_rdf_items_take_their_dc_date_as_publication_date():
    entry = parse("rss10-rdf.xml").entries[0]
    assert entry.title == "Astravo elektrinėje vėl sustabdytas reaktorius"
    assert entry.published_at == datetime(2026, 2, 27, 8, 0, tzinfo=UTC)


def test_atom_links_resolve_against_xml_base_and_html_titles_become_text():
    entry = parse("atom-relative.xml").entries[0]
    assert entry.link == "https://atom.example.eu/en/news/potash-transit"
    assert entry.title == "Sanctions tightened on Belarusian potash transit"
    assert entry.published_at == datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
    assert entry.updated_at == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert entry.authors == ("Desk Editor",)


def test_json_feed_items_are_parsed_with_relative_urls_resolved():
    feed = parse("jsonfeed.json")
    assert feed.language == "be"
    assert [e.entry_id for e in feed.entries[:2]] == ["jf-1", "jf-2"]
    assert feed.entries[1].link == "https://json.example.org/2026/03/relative"
    assert feed.entries[0].published_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
    assert feed.entries[2].entry_id.startswith("sha256:")


def test_ill_formed_feed_still_yields_its_entries_with_the_problem_recorded():
    feed = parse("bozo-unescaped.xml")
    assert [e.link for e in feed.entries] == ["https://bozo.example.lt/a/1", "https://bozo.example.lt/a/2"]
    assert any("ill-formed" in p for p in feed.problems)


def test_html_page_is_a_typed_skip_that_points_to_discovery():
    with pytest.raises(FeedParseError) as info:
        parse("not-a-feed.html")
    assert "HTML page" in info.value.reason and "feeds add" in info.value.reason


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01\x02 binary", b"{\"not\": \"a feed\"}", b"<html><body>hi"])
def test_garbage_is_a_typed_skip_never_an_exception_of_another_kind(body):
    with pytest.raises(FeedParseError):
        parse_feed(body, url=FEED_URL)


def test_valid_feed_without_items_is_usable_and_says_so():
    feed = parse("empty-channel.xml")
    assert feed.entries == () and "feed has no entries" in feed.problems


def test_gzip_compressed_feed_file_is_unpacked():
    body = gzip.compress((FIXTURES / "rss2-latin1.xml").read_bytes())
    assert parse_feed(body, url=FEED_URL).entries[0].link == "https://de.example.org/ballons"


def test_charset_in_http_headers_is_used_when_the_document_does_not_declare_one():
    body = "<rss version='2.0'><channel><title>t</title><item><title>Šalčininkai</title><link>/x</link></item></channel></rss>"
    feed = parse_feed(body.encode("utf-8"), url=FEED_URL, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    assert feed.entries[0].title == "Šalčininkai"


def test_javascript_links_are_dropped_but_the_entry_is_kept():
    body = b"<rss version='2.0'><channel><title>t</title><item><title>x</title><guid>g1</guid><link>javascript:alert(1)</link></item></channel></rss>"
    feed = parse_feed(body, url=FEED_URL)
    assert feed.entries[0].link is None and feed.entries[0].entry_id == "g1"
    assert any("not an absolute http(s) URL" in p for p in feed.problems)


def test_feed_served_as_text_html_still_yields_its_entries():
    body = (FIXTURES / "rss2-latin1.xml").read_bytes()
    feed = parse_feed(body, url=FEED_URL, headers={"Content-Type": "text/html; charset=iso-8859-1"})
    assert feed.entries[0].title == "Ballons über Vilnius: Flughafen schließt erneut"
