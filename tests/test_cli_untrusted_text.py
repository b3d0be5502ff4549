"""What feeds and pages say reaches the terminal as text: no Rich markup errors, no terminal escape sequences."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from newsmon.app.cli import main
from newsmon.app.demo.fixture_server import Route
from newsmon.core.records import Article
from newsmon.core.settings import load_settings
from newsmon.store.db import open_engine
from newsmon.store.sqlite_index import SqliteIndex

# OSC 52 asks the terminal to put "echo hi" on the clipboard; CSI 2J clears the screen, CSI 31m turns text red.
CLIPBOARD = "\x1b]52;c;ZWNobyBoaQ==\x07"
CLEAR_RED = "\x1b[2J\x1b[31m"


def _use(monkeypatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def test_run_once_completes_and_reports_a_missing_page_whose_link_looks_like_markup(demo_env, monkeypatch, capsys):
    base = demo_env.server.base_url
    demo_env.server.routes["/odd/rss.xml"] = Route(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd links</title><link>{base}/odd/</link>'
        f"<item><title>Gone</title><link>{base}/odd/x[/]y.html</link></item></channel></rss>".encode(),
        "application/rss+xml")
    feeds = demo_env.settings.feeds_file
    feeds.write_text(feeds.read_text() + f"  - id: odd\n    name: Odd links\n    url: {base}/odd/rss.xml\n    evidence: a test fixture on loopback\n")
    _use(monkeypatch, {**demo_env.env(), "COLUMNS": "300"})  # the summary table keeps each reason on one line

    assert main(["run", "--once"]) == 0

    out = capsys.readouterr().out
    assert f"from {base}/odd/x[/]y.html" in out
    assert "staged" in out


def test_feeds_parse_shows_titles_without_the_escape_sequences_they_carry(tmp_path, monkeypatch, capsys):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Pasienio {CLIPBOARD}žinios</title>'
        f"<item><title>Eilės {CLEAR_RED}prie Medininkų</title><link>https://example.lt/a/1</link></item>"
        f"</channel></rss>".encode())
    _use(monkeypatch, {"NEWSMON_STATE_DIR": str(tmp_path / "var")})

    assert main(["feeds", "parse", str(feed)]) == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "feed:     Pasienio žinios" in out
    assert "  - Eilės prie Medininkų" in out


def test_search_shows_titles_and_snippets_without_the_escape_sequences_they_carry(tmp_path, monkeypatch, capsys):
    _use(monkeypatch, {"NEWSMON_STATE_DIR": str(tmp_path / "var")})
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    # An index written by another tool (or an older newsmon) is not trusted either.
    SqliteIndex(open_engine(load_settings().database_url)).put_articles([Article(
        id="a1", url="https://example.lt/a/1", canonical_url="https://example.lt/a/1", source="pasienio [b]zinios[/b]",
        title=f"Medininkų {CLIPBOARD}punktas [/]", text=f"Prie Medininkų {CLEAR_RED}punkto stovi vilkikai.",
        fetched_at=at, content_hash="h1", language="lt")])

    assert main(["search", "medininku"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "Medininkų punktas [/]" in out and "pasienio [b]zinios[/b]" in out

    assert main(["search", "--json", "medininku"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    hit = json.loads(out)
    assert hit["title"] == f"Medininkų {CLIPBOARD}punktas [/]"  # JSON keeps the data, escaped
