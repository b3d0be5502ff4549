"""A feed's own User-Agent override reaches its server, and only its site; every other request stays honest."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.app.demo.fixture_server import FixtureServer, Route
from newsmon.core.records import Feed
from newsmon.core.settings import load_settings
from newsmon.ingest.poll import page_user_agent

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
BROWSER_LIKE = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 newsmon-test"

PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>Queues of lorries at the Medininkai checkpoint on the border with Belarus grew again overnight, the
Lithuanian border guard said, after Vilnius kept two other crossings closed because of smuggling balloons.</p>
<p>Drivers said they had waited more than a day; officials in Minsk blamed the Lithuanian side.</p>
</article></body></html>"""


def one_item_feed(base: str, slug: str) -> bytes:
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{slug}</title>"
            f"<item><title>{slug} story</title><link>{base}/news/{slug}.html</link><guid>{slug}-1</guid>"
            "<pubDate>Thu, 05 Mar 2026 08:00:00 GMT</pubDate></item></channel></rss>").encode()


def user_agents(server: FixtureServer, path: str) -> list[str]:
    return [next(v for k, v in r.headers.items() if k.lower() == "user-agent") for r in server.requests if r.path == path]


@pytest.fixture
def two_feeds(tmp_path):
    with FixtureServer() as server:
        base = server.base_url
        for slug in ("guarded", "plain"):
            server.routes[f"/{slug}.xml"] = Route(one_item_feed(base, slug), "application/rss+xml")
            server.routes[f"/news/{slug}.html"] = Route(PAGE.format(title=f"{slug} story").encode())
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text(
            "feeds:\n"
            f"  - id: guarded\n    name: Guarded\n    url: {base}/guarded.xml\n    language: en\n"
            "    evidence: served by the test's loopback site\n"
            f"    user_agent: {BROWSER_LIKE}\n"
            "    user_agent_note: stands for a server that refuses non-browser clients\n"
            f"  - id: plain\n    name: Plain\n    url: {base}/plain.xml\n    language: en\n"
            "    evidence: served by the test's loopback site\n", encoding="utf-8")
        settings = load_settings(home=tmp_path, config_dir=config, state_dir=tmp_path / "var", allow_loopback=True,
                                 per_host_min_interval_s=0.0, search_backend="sqlite")
        yield server, settings


def test_a_feed_with_a_user_agent_override_is_fetched_with_it_and_other_feeds_with_the_default(two_feeds):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = two_feeds
    counts = poll_feeds(settings, ["guarded", "plain"], NOW)
    assert counts.get("feeds_polled") == 2
    assert user_agents(server, "/guarded.xml") == [BROWSER_LIKE]
    assert user_agents(server, "/plain.xml") == [settings.user_agent]


def test_article_pages_of_an_overridden_feed_get_its_user_agent_and_robots_txt_keeps_the_default(two_feeds):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = two_feeds
    poll_feeds(settings, ["guarded", "plain"], NOW)
    assert user_agents(server, "/news/guarded.html") == [BROWSER_LIKE]
    assert user_agents(server, "/news/plain.html") == [settings.user_agent]
    # robots.txt is asked as newsmon, whose rules newsmon obeys whatever it sends for pages.
    assert set(user_agents(server, "/robots.txt")) == {settings.user_agent}


def test_an_override_covers_the_feeds_whole_site_but_not_links_to_other_sites():
    feed = Feed(id="delfi", name="Delfi", url="https://feed.delfi.lt/v2/articles/7?format=rss",
                user_agent=BROWSER_LIKE, user_agent_note="refuses non-browser clients")
    assert page_user_agent(feed, "https://www.delfi.lt/news/daily/lithuania/story-1") == BROWSER_LIKE
    assert page_user_agent(feed, "https://www.lrt.lt/naujienos/lietuvoje/2/1") is None
    plain = Feed(id="lrt", name="LRT", url="https://www.lrt.lt/?rss")
    assert page_user_agent(plain, "https://www.lrt.lt/naujienos/lietuvoje/2/1") is None
