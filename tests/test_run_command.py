"""`newsmon run` and `newsmon alerts send` print counters by name, the skips by reason, and examples apart."""

from __future__ import annotations

import smtplib

import pytest

from newsmon.app.cli import main
from newsmon.app.demo.fixture_server import Route
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox


def test_run_help_states_the_floor_of_every(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "at least 30" in " ".join(capsys.readouterr().out.split())


def test_the_run_summary_shows_moved_and_gone_feeds_and_an_example_of_each_problem(demo_env, monkeypatch, capsys):
    routes, base = demo_env.server.routes, demo_env.server.base_url
    routes["/old/rss.xml"] = Route(b"", status=301, headers={"Location": f"{base}/north-daily/rss.xml"},
                                   conditional=False)
    routes["/closed/rss.xml"] = Route(b"this feed is gone", "text/plain", status=410, conditional=False)
    feeds_yaml = demo_env.settings.feeds_file
    feeds_yaml.write_text(feeds_yaml.read_text() + "".join(
        f"  - id: {feed_id}\n    name: {feed_id}\n    url: {base}{path}\n    language: en\n"
        "    evidence: a test fixture on loopback\n" for feed_id, path in (("moved-desk", "/old/rss.xml"),
                                                                         ("closed-desk", "/closed/rss.xml"))))
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "200")

    assert main(["run", "--once"]) == 0
    out = capsys.readouterr().out
    assert "feeds moved" in out and "feeds gone" in out and "feeds failed" in out
    assert "skipped: page_fetch_failed.http_404" in out
    assert "examples" in out and "feed closed-desk: 410 Gone" in out and "/misc/removed-story.html" in out


def test_alerts_send_prints_one_line_of_counters_even_when_delivery_fails(demo_env, monkeypatch, capsys):
    with smtplib.socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    alerts_yaml = demo_env.settings.alerts_file
    alerts_yaml.write_text(alerts_yaml.read_text().replace(f":{demo_env.smtp.port}/", f":{closed_port}/"))
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()
    with open_engine(demo_env.settings.database_url).begin() as conn:  # the backoff has passed
        conn.execute(alert_outbox.update().values(next_attempt_at=None))

    assert main(["alerts", "send"]) == 1
    line = capsys.readouterr().out.strip()
    assert line == "matched: 0 · enqueued: 0 · already alerted: 0 · story updates: 0 · sent: 0 · retry later: 2 · failed: 0 · held: 0 · dropped: 0"
