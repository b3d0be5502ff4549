"""Pages a server labels as mere bytes (application/octet-stream) or not at all: the bytes decide what they are."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.app.demo.fixture_server import FixtureServer, Route
from newsmon.core.settings import load_settings
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
OCTET = "application/octet-stream"

PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>The {word} crossing point on the border between Lithuania and Belarus stayed closed for a third day, the
State Border Guard Service said, while lorries waited in a queue that stretched for kilometres.</p>
<p>Officials in Vilnius said the closure would last until the balloons that had shut the airport stopped
coming, and the government in Minsk answered that the decision hurt carriers on both sides.</p>
<p>Hauliers' associations asked for a timetable, saying drivers had run out of food and water.</p>
</article></body></html>"""
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n"


def feed(base: str, paths: list[str]) -> bytes:
    items = "".join(f"<item><title>Item {i}</title><link>{base}{path}</link><guid>item-{i}</guid>"
                    f"<pubDate>Thu, 05 Mar 2026 08:0{i}:00 GMT</pubDate></item>" for i, path in enumerate(paths))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Desk</title>{items}</channel></rss>".encode()


@pytest.fixture
def site(tmp_path):
    with FixtureServer() as server:
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - id: desk\n    name: Desk\n    url: {server.base_url}/feed.xml\n    language: en\n"
            "    evidence: served by the test's loopback site\n", encoding="utf-8")
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
        settings = load_settings(home=tmp_path, config_dir=config, state_dir=tmp_path / "var", allow_loopback=True,
                                 per_host_min_interval_s=0.0, search_backend="sqlite")
        yield server, settings


def ingest(server: FixtureServer, settings, pages: dict[str, Route]) -> dict:
    from newsmon.app.stages.index import cluster_and_index
    from newsmon.app.stages.poll import poll_feeds

    server.routes.update(pages)
    server.routes["/feed.xml"] = Route(feed(server.base_url, list(pages)), "application/rss+xml")
    counts = poll_feeds(settings, ["desk"], NOW)
    cluster_and_index(settings, NOW)
    return counts


def found(settings, word: str) -> list[str]:
    index = SqliteIndex(open_engine(settings.database_url))
    return [hit.url.split("/", 3)[3] for hit in index.search(SearchQuery(q=word))]


def test_an_html_page_served_as_octet_stream_or_without_a_type_is_extracted_and_indexed(site):
    server, settings = site
    counts = ingest(server, settings, {
        "/news/octet.html": Route(PAGE.format(title="Medininkai closed", word="Medininkai").encode(), OCTET),
        "/news/untyped.html": Route(PAGE.format(title="Salcininkai closed", word="Šalčininkai").encode(), None),
    })
    assert counts["staged"] == 2 and "skipped" not in counts
    assert found(settings, "medininkai") == ["news/octet.html"]
    assert found(settings, "salcininkai") == ["news/untyped.html"]


def test_a_pdf_served_as_octet_stream_is_still_a_counted_skip_of_binary_content(site):
    server, settings = site
    counts = ingest(server, settings, {
        "/files/report": Route(PDF, OCTET),
        "/news/octet.html": Route(PAGE.format(title="Medininkai closed", word="Medininkai").encode(), OCTET),
    })
    assert counts["staged"] == 1
    assert counts["skipped_reasons"] == {"extraction.binary_content": 1}
    assert any("PDF document" in e["detail"] for e in counts["examples"])


def test_octet_stream_text_that_does_not_start_like_html_is_not_taken_for_a_page(site):
    server, settings = site
    notes = b"Meeting notes. Lithuania and Belarus border; nothing to see here. <p>stray tag</p>\n" * 20
    counts = ingest(server, settings, {"/files/notes": Route(notes, OCTET)})
    assert "staged" not in counts
    assert counts["skipped_reasons"] == {"extraction.not_html": 1}


def test_a_feed_served_as_octet_stream_is_parsed_like_any_feed(site):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    server.routes["/news/octet.html"] = Route(PAGE.format(title="Medininkai closed", word="Medininkai").encode(), OCTET)
    server.routes["/feed.xml"] = Route(feed(server.base_url, ["/news/octet.html"]), OCTET)
    counts = poll_feeds(settings, ["desk"], NOW)
    assert counts["feeds_polled"] == 1 and counts["staged"] == 1
