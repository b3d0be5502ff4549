"""Through the real pipeline: a second poll of an unchanged feed fetches no article page."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.core.settings import load_settings

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
    from newsmon.app.stages.poll import poll_feeds

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
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 3), etag='"v1"')
    poll_feeds(settings, ["border-desk"], NOW)
    server.add("/feed.xml", feed_xml(server.base, 4), etag='"v2"')
    poll_feeds(settings, ["border-desk"], NOW + timedelta(minutes=10))
    # Each page once: the three of the first poll (fetched side by side, so in any order), then the new one.
    hits = [h.path for h in server.hits if h.path.startswith("/news/")]
    assert sorted(hits[:3]) == [f"/news/{i}.html" for i in range(3)] and hits[3:] == ["/news/3.html"]


def test_editing_a_healthy_feeds_url_in_feeds_yaml_polls_the_new_url_at_once(demo_env):
    from newsmon.app.stages.run import run_once

    run_once(demo_env.settings)
    feeds_yaml = demo_env.settings.feeds_file
    old = f"{demo_env.server.base_url}/north-daily/rss.xml"
    demo_env.server.routes["/north-daily/moved.xml"] = demo_env.server.routes["/north-daily/rss.xml"]
    feeds_yaml.write_text(feeds_yaml.read_text().replace(old, f"{demo_env.server.base_url}/north-daily/moved.xml"))
    before = len(demo_env.server.fetched("/north-daily/moved.xml"))

    run_once(demo_env.settings)  # not forced: the edited feed is due because its URL changed

    assert len(demo_env.server.fetched("/north-daily/moved.xml")) == before + 1


@pytest.mark.parametrize("validators", [True, False], ids=["server-answers-304", "server-ignores-validators"])
def test_entries_past_the_per_poll_cap_are_ingested_by_the_next_poll_of_the_unchanged_feed(site, validators):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    capped = settings.model_copy(update={"max_entries_per_poll": 3})
    server.add("/feed.xml", feed_xml(server.base, 4), etag='"v1"' if validators else None, honour_conditional=validators)
    first = poll_feeds(capped, ["border-desk"], NOW)
    assert first["staged"] == 3 and first["entries_deferred"] == 1
    second = poll_feeds(capped, ["border-desk"], NOW + timedelta(minutes=10))
    assert second["staged"] == 1 and "entries_deferred" not in second
    assert sorted(h.path for h in server.hits if h.path.startswith("/news/")) == [f"/news/{i}.html" for i in range(4)]
    third = poll_feeds(capped, ["border-desk"], NOW + timedelta(minutes=20))
    assert third.get("feeds_unchanged") == 1  # once everything is in, validators and body hash apply again


def test_items_past_the_parsing_limit_are_counted_as_not_read(site):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 1_200))
    counts = poll_feeds(settings.model_copy(update={"max_entries_per_poll": 2}), ["border-desk"], NOW)
    assert counts["entries_not_read"] > 0
    assert counts["entries_deferred"] + counts["entries_not_read"] + 2 == 1_200


def _stored(settings):
    from newsmon.app.stages.index import articles_in_status
    from newsmon.store.db import open_engine

    with open_engine(settings.database_url).connect() as conn:
        return articles_in_status(conn, "staged")


class WorkerStopped(BaseException):
    """What an Airflow task timeout or a kill does to the code it interrupts: nothing catches it."""


def test_a_page_whose_processing_keeps_being_stopped_is_given_up_and_the_feed_goes_on(site, monkeypatch):
    from newsmon.app.stages import page_work
    from newsmon.app.stages.poll import MAX_PROCESSING_ATTEMPTS, poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 3), etag='"v1"')
    extract_article, stopped = page_work.extract_article, []

    def extract_or_hang(body, url, **kwargs):
        if url.endswith("/news/1.html"):  # this page never finishes: the worker is stopped inside it
            stopped.append(url)
            raise WorkerStopped()
        return extract_article(body, url, **kwargs)

    monkeypatch.setattr(page_work, "extract_article", extract_or_hang)
    for run in range(MAX_PROCESSING_ATTEMPTS):
        with pytest.raises(WorkerStopped):
            poll_feeds(settings, ["border-desk"], NOW + timedelta(minutes=10 * run))
    after = poll_feeds(settings, ["border-desk"], NOW + timedelta(hours=1))
    assert len(stopped) == MAX_PROCESSING_ATTEMPTS
    assert after["skipped_reasons"] == {"page_unfinished": 1}
    assert "stopped (worker timeout or kill) 2 times" in after["examples"][0]["detail"]
    # Stories 0 and 2 are staged (2 in whichever run processed it before page 1 stopped that run), 1 never.
    assert sorted(a.title for a in _stored(settings)) == ["Border story 0", "Border story 2"]
    assert poll_feeds(settings, ["border-desk"], NOW + timedelta(hours=2)).get("feeds_unchanged") == 1


def test_a_page_that_failed_for_a_passing_reason_is_fetched_again_by_the_next_poll(site):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 2), etag='"v1"')
    server.add("/news/1.html", b"upstream timeout", status=504, content_type="text/plain")
    first = poll_feeds(settings, ["border-desk"], NOW)
    assert first["staged"] == 1 and first["pages_retry_later"] == 1
    server.add("/news/1.html", ARTICLE.format(title="Border story 1").encode(), content_type="text/html")
    second = poll_feeds(settings, ["border-desk"], NOW + timedelta(minutes=10))
    assert second["staged"] == 1


def test_an_entry_link_with_an_impossible_port_is_a_counted_skip_and_the_feed_goes_on(site):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    body = feed_xml(server.base, 3).replace(f"{server.base}/news/1.html".encode(), b"http://127.0.0.1:99999/news/1.html")
    server.add("/feed.xml", body)
    counts = poll_feeds(settings, ["border-desk"], NOW)
    assert counts["staged"] == 2
    assert counts["skipped_reasons"] == {"entry_bad_link": 1}
    assert "127.0.0.1:99999/news/1.html: Port out of range 0-65535" in counts["examples"][0]["detail"]


def test_a_crash_while_polling_one_feed_backs_that_feed_off_and_the_batch_goes_on(site, monkeypatch):
    from newsmon.app.stages import poll as poll_stage
    from newsmon.app.stages.poll import poll_feeds
    from newsmon.store.db import open_engine
    from newsmon.store.feedstate import load_feed_state

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 2))
    server.add("/other.xml", feed_xml(server.base, 2).replace(b"story-", b"other-"))
    feeds_yaml = settings.feeds_file
    feeds_yaml.write_text(feeds_yaml.read_text().replace("feeds:\n", "feeds:\n  - id: crashing\n    name: Crashing\n"
                                                         f"    url: {server.url('/other.xml')}\n    language: en\n    evidence: a test fixture on loopback\n", 1))
    poll_feed = poll_stage.poll_feed

    def poll_with_a_bug(client, feed, state, now):  # stands in for any bug on one feed's path
        if feed.id == "crashing":
            raise KeyError("a bug on this feed's path")
        return poll_feed(client, feed, state, now)

    monkeypatch.setattr(poll_stage, "poll_feed", poll_with_a_bug)
    counts = poll_feeds(settings, ["crashing", "border-desk"], NOW)
    assert counts["staged"] == 2 and counts["feeds_failed"] == 1
    assert counts["skipped_reasons"] == {"feed_crashed": 1}
    assert counts["examples"][0]["detail"].startswith("feed crashing: polling crashed (KeyError")
    with open_engine(settings.database_url).connect() as conn:
        state = load_feed_state(conn, "crashing")
    assert state.failures == 1 and state.next_poll_at > NOW


def test_polling_reads_only_the_configured_topic_pack_so_a_broken_other_pack_does_not_stop_it(site):
    from newsmon.app.stages.poll import poll_feeds

    server, settings = site
    (settings.topics_dir / "draft.yaml").write_text("id: draft\nname: [not, a, name\n", encoding="utf-8")
    server.add("/feed.xml", feed_xml(server.base, 2))
    counts = poll_feeds(settings, ["border-desk"], NOW)
    assert counts["staged"] == 2


def test_a_topic_pack_that_is_not_there_is_a_config_error_naming_the_folder_and_the_packs_in_it(site):
    from newsmon.app.stages.poll import poll_feeds
    from newsmon.core.config import ConfigError

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 2))
    with pytest.raises(ConfigError) as caught:
        poll_feeds(settings.model_copy(update={"topic": "lt-pl"}), ["border-desk"], NOW)
    message = str(caught.value)
    assert "'lt-pl' (NEWSMON_TOPIC)" in message and str(settings.topics_dir) in message
    assert "expected lt-pl.yaml" in message and "packs there: lt-by" in message


def test_an_article_another_poll_task_stages_meanwhile_is_a_duplicate_here_and_stays_theirs(site, monkeypatch):
    from sqlalchemy import select

    from newsmon.app.stages import poll_pages
    from newsmon.app.stages.poll import poll_feeds
    from newsmon.ingest.urls import article_id, canonical_url
    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    server, settings = site
    server.add("/feed.xml", feed_xml(server.base, 4))
    taken = article_id(canonical_url(server.url("/news/2.html")))
    fetch = poll_pages.BatchPages._fetch

    def fetch_while_another_task_stages(self, item):
        page = fetch(self, item)
        if item.article_id == taken:  # a task polling another feed that links the same page got there first
            with open_engine(settings.database_url).begin() as conn:
                conn.execute(articles.insert().values(
                    id=taken, canonical_url=server.url("/news/2.html"), feed_id="other-desk", source="Other desk",
                    content_hash="0" * 64, staged_at=NOW, status="staged", alerted=False, doc={"id": taken}))
        return page

    monkeypatch.setattr(poll_pages.BatchPages, "_fetch", fetch_while_another_task_stages)
    counts = poll_feeds(settings, ["border-desk"], NOW)

    assert (counts.get("staged"), counts.get("duplicates_url")) == (3, 1)
    with open_engine(settings.database_url).connect() as conn:
        feeds = {row.id: row.feed_id for row in conn.execute(select(articles.c.id, articles.c.feed_id))}
    assert feeds.pop(taken) == "other-desk"
    assert set(feeds.values()) == {"border-desk"} and len(feeds) == 3
