"""Through the real pipeline: a second poll of an unchanged feed fetches no article page."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)

ARTICLE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>Lithuania's border guard said on Thursday that queues of lorries at the Medininkai checkpoint on the
border with Belarus had grown again overnight, after Vilnius kept two other crossings closed.</p>
<p>Drivers told reporters they had waited more than a day. Officials in Minsk blamed the Lithuanian side,
while the government in Vilnius pointed to smuggling balloons that had again closed the airport.</p>
<p>Carriers' associations asked both governments to agree on a timetable for reopening the crossings.</p>
</article></body></html>"""


def feed_xml(base: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>Border story {i}</title><link>{base}/news/{i}.html</link><guid>story-{i}</guid>"
        f"<pubDate>Thu, 05 Mar 2026 0{i % 9}:00:00 GMT</pubDate></item>" for i in range(n))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Border desk</title>{items}</channel></rss>".encode()


@pytest.fixture
def site(tmp_path):
    with FeedServer() as server:
        for i in range(4):
            server.add(f"/news/{i}.html", ARTICLE.format(title=f"Border story {i}").encode(), content_type="text/html")
        server.add("/robots.txt", b"User-agent: *\nAllow: /\n", content_type="text/plain")
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - id: border-desk\n    name: Border desk\n    url: {server.url('/feed.xml')}\n"
            "    language: en\n    country: LT\n    affiliation: independent\n"
            "    evidence: served by the test's loopback site\n", encoding="utf-8")
        settings = load_settings(home=tmp_path, config_dir=config, state_dir=tmp_path / "var", allow_loopback=True,
                                 per_host_min_interval_s=0.0, search_backend="sqlite")
        yield server, settings


def article_hits(server: FeedServer) -> int:
    return sum(1 for hit in server.hits if hit.path.startswith("/news/"))


@pytest.mark.parametrize("validators", [True, False], ids=["server-answers-304", "server-ignores-validators"])
def test_second_poll_of_unchanged_feed_fetches_no_articles(site, validators):
    from newsmon.pipeline import poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 4), etag='"v1"' if validators else None,
               honour_conditional=validators)
    first = poll_feeds(settings, ["border-desk"], NOW)
    assert article_hits(server) == 4 and first.get("feeds_polled") == 1
    second = poll_feeds(settings, ["border-desk"], NOW + timedelta(minutes=10))
    assert article_hits(server) == 4
    assert second.get("feeds_unchanged") == 1
    assert len(server.hits_for("/feed.xml")) == 2


def test_a_changed_feed_fetches_only_its_new_article(site):
    from newsmon.pipeline import poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 3), etag='"v1"')
    poll_feeds(settings, ["border-desk"], NOW)
    server.add("/feed.xml", feed_xml(server.base, 4), etag='"v2"')
    poll_feeds(settings, ["border-desk"], NOW + timedelta(minutes=10))
    assert [h.path for h in server.hits if h.path.startswith("/news/")] == [f"/news/{i}.html" for i in range(4)]


def test_editing_a_healthy_feeds_url_in_feeds_yaml_polls_the_new_url_at_once(demo_env):
    from newsmon.pipeline import run_once

    run_once(demo_env.settings)
    feeds_yaml = demo_env.settings.feeds_file
    old = f"{demo_env.server.base_url}/north-daily/rss.xml"
    demo_env.server.routes["/north-daily/moved.xml"] = demo_env.server.routes["/north-daily/rss.xml"]
    feeds_yaml.write_text(feeds_yaml.read_text().replace(old, f"{demo_env.server.base_url}/north-daily/moved.xml"))
    before = len(demo_env.server.fetched("/north-daily/moved.xml"))

    run_once(demo_env.settings)  # not forced: the edited feed is due because its URL changed

    assert len(demo_env.server.fetched("/north-daily/moved.xml")) == before + 1
