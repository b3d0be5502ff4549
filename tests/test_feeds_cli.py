"""`newsmon feeds parse|add|status` as a user runs them: exit codes, one-line errors, feeds.yaml edits."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.app.cli import main
from newsmon.core.records import FeedState

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
RSS = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Vilnius Desk</title><language>lt</language>"
       b"<item><title>Pasienio eil\xc4\x97s</title><link>/a/1</link></item></channel></rss>")
FEEDS_YAML = """# our feeds
feeds:
  # the first one
  - id: existing
    name: Existing
    url: https://existing.example.org/rss
    evidence: written by the test
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "feeds.yaml").write_text(FEEDS_YAML, encoding="utf-8")
    for key, value in {"NEWSMON_CONFIG_DIR": str(config), "NEWSMON_STATE_DIR": str(tmp_path / "var"),
                       "NEWSMON_ALLOW_LOOPBACK": "true", "NEWSMON_PER_HOST_MIN_INTERVAL_S": "0"}.items():
        monkeypatch.setenv(key, value)
    return config / "feeds.yaml"


@pytest.fixture
def server():
    with FeedServer() as srv:
        yield srv


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_of_a_feed_file_lists_entries_as_json(env, capsys):
    code, out, _ = run(capsys, "feeds", "parse", str(FIXTURES / "rss2-cp1251.xml"), "--json",
                       "--base-url", "https://news.example.by/rss")
    doc = json.loads(out)
    assert code == 0 and doc["title"] == "Пограничные новости"
    assert doc["entries"][0] == {"id": "border-1001", "title": "Очередь грузовиков у пункта пропуска Каменный Лог выросла",
                                 "link": "https://news.example.by/border/2026/03/01/queue.html",
                                 "published_at": "2026-03-01T05:15:00Z"}


def test_parse_of_a_bozo_feed_lists_its_problems_and_still_succeeds(env, capsys):
    code, out, _ = run(capsys, "feeds", "parse", str(FIXTURES / "bozo-unescaped.xml"))
    assert code == 0 and "entries:  2" in out and "ill-formed document" in out


@pytest.mark.parametrize(("target", "message"), [
    (str(FIXTURES / "not-a-feed.html"), "unusable feed: not a feed: an HTML page"),
    ("/no/such/feed.xml", "no such file"),
])
def test_parse_of_an_unusable_source_exits_2_with_one_line(env, capsys, target, message):
    code, out, err = run(capsys, "feeds", "parse", target)
    assert code == 2 and out == "" and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_parse_of_a_url_fetches_it_through_the_safe_client(env, capsys, server):
    server.add("/rss.xml", RSS)
    code, out, _ = run(capsys, "feeds", "parse", server.url("/rss.xml"))
    assert code == 0 and "Pasienio eilės" in out and server.url("/a/1") in out


def test_parse_of_a_failing_url_exits_2_naming_the_status(env, capsys, server):
    code, _, err = run(capsys, "feeds", "parse", server.url("/missing.xml"))
    assert code == 2 and "HTTP 404" in err and len(err.strip().splitlines()) == 1


def test_add_finds_the_advertised_feed_and_appends_it_keeping_comments(env, capsys, server):
    server.add("/", b"<html lang='lt'><head><link rel='alternate' type='application/rss+xml' href='/rss.xml'></head></html>",
               content_type="text/html")
    server.add("/rss.xml", RSS)
    code, out, _ = run(capsys, "feeds", "add", server.url("/"), "--country", "lt", "--affiliation", "independent")
    assert code == 0 and "added" in out
    text = env.read_text(encoding="utf-8")
    assert text.startswith(FEEDS_YAML) and "# the first one" in text
    from newsmon.core.config import load_feeds

    added = load_feeds(env)[-1]
    assert (added.url, added.name, added.language, added.country, added.affiliation) == (
        server.url("/rss.xml"), "Vilnius Desk", "lt", "LT", "independent")
    # What `feeds add` saw is recorded as the new feed's evidence, so the file stays valid.
    assert added.enabled and "advertised" in added.evidence and server.url("/") in added.evidence
    code, _, err = run(capsys, "feeds", "add", server.url("/"))
    assert code == 0 and "already configured" in err and len(load_feeds(env)) == 2


def test_add_falls_back_to_a_well_known_feed_path(env, capsys, server):
    server.add("/", b"<html><head><title>No feed links here</title></head></html>", content_type="text/html")
    server.add("/feed", RSS)
    code, out, _ = run(capsys, "feeds", "add", server.url("/"), "--id", "desk")
    assert code == 0 and "well-known path" in out and "id: desk" in env.read_text(encoding="utf-8")


def test_add_refuses_an_id_that_already_exists(env, capsys, server):
    code, _, err = run(capsys, "feeds", "add", server.url("/"), "--id", "existing")
    assert code == 2 and "already in" in err


def test_add_of_a_site_without_feeds_exits_2_saying_what_was_tried(env, capsys, server):
    server.add("/", b"<html><head><title>Nothing</title></head></html>", content_type="text/html")
    code, _, err = run(capsys, "feeds", "add", server.url("/"))
    assert code == 2 and "no feed found" in err and env.read_text(encoding="utf-8") == FEEDS_YAML


def test_status_shows_health_items_per_day_and_next_poll(env, capsys, tmp_path):
    from newsmon.core.settings import load_settings
    from newsmon.store.db import open_engine
    from newsmon.store.feedstate import save_feed_state
    from newsmon.store.schema import seen_entries

    env.write_text(FEEDS_YAML + "  - id: gone\n    name: Gone\n    url: https://gone.example.org/rss\n"
                   "    evidence: written by the test\n"
                   "  - id: fresh\n    name: Fresh\n    url: https://fresh.example.org/rss\n"
                   "    evidence: written by the test\n", encoding="utf-8")
    now = datetime.now(UTC)
    engine = open_engine(load_settings().database_url)
    with engine.begin() as conn:
        save_feed_state(conn, FeedState(feed_id="existing", url="https://existing.example.org/rss",
                                        last_success_at=now - timedelta(minutes=5), interval_s=900,
                                        next_poll_at=now + timedelta(minutes=10)))
        save_feed_state(conn, FeedState(feed_id="gone", url="https://gone.example.org/rss", failures=1,
                                        disabled_reason="410 Gone at https://gone.example.org/rss on 2026-03-01"))
        # A first-poll backlog of 20 entries two days ago, then 6 new entries since: 3 per day.
        rows = [{"feed_id": "existing", "entry_key": f"old{i}", "outcome": "staged", "seen_at": now - timedelta(days=2)}
                for i in range(20)]
        rows += [{"feed_id": "existing", "entry_key": f"new{i}", "outcome": "staged",
                  "seen_at": now - timedelta(hours=4 * i + 1)} for i in range(6)]
        conn.execute(seen_entries.insert(), rows)
    code, out, _ = run(capsys, "feeds", "status")
    lines = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert code == 0
    assert "ok" in lines["existing"] and " 3.0 " in lines["existing"] and "in 10m" in lines["existing"]
    assert "disabled" in lines["gone"] and "410 Gone" in lines["gone"]
    assert "new" in lines["fresh"] and "never" in lines["fresh"]
    code, out, _ = run(capsys, "feeds", "status", "--json")
    assert json.loads(out.splitlines()[0])["items_per_day"] == 3.0


VERIFY_YAML = """feeds:
  - id: works
    name: Works
    url: {base}/works.xml
    evidence: the test's loopback site
  - id: moved
    name: Moved
    url: {base}/old.xml
    evidence: the test's loopback site
  - id: missing
    name: Missing
    url: {base}/missing.xml
    evidence: the test's loopback site
  - id: gone
    name: Gone
    url: {base}/gone.xml
    evidence: the test's loopback site
  - id: section
    name: Section page
    url: {base}/news/
    evidence: the test's loopback site
  - id: switched-off
    name: Switched off
    url: {base}/off.xml
    enabled: false
    note: switched off by the test
"""
DATED_RSS = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Border desk</title>"
             b"<item><title>Queue</title><link>/a/1</link><pubDate>{date}</pubDate></item>"
             b"<item><title>Fence</title><link>/a/2</link></item></channel></rss>")


@pytest.fixture
def verify_site(env, tmp_path):
    from email.utils import format_datetime

    from newsmon.app.demo.fixture_server import FixtureServer, Route

    with FixtureServer() as site:
        base = site.base_url
        fresh = DATED_RSS.replace(b"{date}", format_datetime(datetime.now(UTC) - timedelta(hours=3)).encode())
        site.routes.update({
            "/works.xml": Route(fresh, "application/rss+xml"),
            "/old.xml": Route(b"", status=301, headers={"Location": f"{base}/new.xml"}, conditional=False),
            "/new.xml": Route(fresh, "application/rss+xml"),
            "/gone.xml": Route(b"<h1>Gone</h1>", status=410, conditional=False),
            "/news/": Route(b"<!doctype html><html><head><title>News</title>"
                            b"<link rel='alternate' type='application/rss+xml' href='/news/rss.xml'></head>"
                            b"<body><p>Latest news</p></body></html>"),
            "/news/rss.xml": Route(fresh, "application/rss+xml"),
            "/robots.txt": Route(b"User-agent: *\nAllow: /\n", "text/plain"),
        })
        env.write_text(VERIFY_YAML.format(base=base), encoding="utf-8")
        yield site


def test_verify_polls_each_feed_once_and_suggests_the_fix_for_each_that_is_not_usable(verify_site, capsys, tmp_path):
    base = verify_site.base_url
    code, out, _ = run(capsys, "feeds", "verify", "--json")
    rows = {row["id"]: row for row in map(json.loads, out.splitlines())}
    assert code == 1 and sorted(rows) == ["gone", "missing", "moved", "section", "works"]
    assert rows["works"]["usable"] and rows["works"]["status"] == "200" and rows["works"]["items"] == 2
    assert datetime.fromisoformat(rows["works"]["newest_item_at"]) < datetime.now(UTC) - timedelta(hours=2)
    assert rows["moved"]["new_url"] == f"{base}/new.xml" and "moved" in rows["moved"]["suggestion"]
    assert rows["missing"]["status"] == "404" and "not found" in rows["missing"]["suggestion"]
    assert rows["gone"]["status"] == "410" and "remove the feed" in rows["gone"]["suggestion"]
    assert rows["section"]["discovered"] == [f"{base}/news/rss.xml"] and "HTML page" in rows["section"]["suggestion"]
    # A throw-away state: nothing was written to the state DB, and the next real poll starts afresh.
    from newsmon.core.settings import load_settings
    from newsmon.store.db import open_engine
    from newsmon.store.feedstate import all_feed_states

    with open_engine(load_settings().database_url).connect() as conn:
        assert all_feed_states(conn) == {}


def test_verify_prints_one_line_per_feed_and_exits_0_when_every_feed_is_usable(verify_site, capsys):
    code, out, _ = run(capsys, "feeds", "verify", "--feed", "works")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[1].split()[:4] == ["works", "200", "2", "3.0h"]
    assert lines[2] == "1 feeds polled: 1 usable, 0 to fix"
    code, out, _ = run(capsys, "feeds", "verify", "--all", "--feed", "switched-off")
    assert code == 1 and "not found (404)" in out
