"""The operator's feed-health report, through real polls of loopback feeds, to a real file and SMTP channel."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmon.app.demo.fixture_server import FixtureServer, Route
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.core.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=3)
FEEDS = ("fresh", "silent", "broken", "moved", "gone")


def rss(base: str, name: str, items: range) -> Route:
    body = "".join(f"<item><title>{name} {i}</title><link>{base}/{name}/{i}.html</link><guid>{name}-{i}</guid></item>"
                   for i in items)
    return Route(f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>{body}</channel></rss>".encode(),
                 "application/rss+xml")


@pytest.fixture
def desk(tmp_path):
    with FixtureServer() as server, SmtpSink() as smtp:
        base = server.base_url
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text("feeds:\n" + "".join(
            f"  - id: {name}\n    name: {name}\n    url: {base}/{name}.xml\n    evidence: the test's loopback site\n"
            for name in FEEDS), encoding="utf-8")
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
        server.routes["/broken.xml"] = Route(b"<h1>Internal error</h1>", status=500, conditional=False)
        server.routes["/moved.xml"] = Route(b"", status=301, headers={"Location": f"{base}/moved-here.xml"},
                                            conditional=False)
        server.routes["/gone.xml"] = Route(b"<h1>Gone</h1>", status=410, conditional=False)
        channels = [f"file:{tmp_path / 'operator.jsonl'}", f"smtp://127.0.0.1:{smtp.port}/?to=desk-ops@example.org"]
        settings = load_settings(home=tmp_path, config_dir=config, state_dir=tmp_path / "var", allow_loopback=True,
                                 per_host_min_interval_s=0.0, search_backend="sqlite", operator_channels=channels)
        yield server, smtp, settings


def poll_history(server: FixtureServer, settings) -> None:
    """Four polls two hours apart in which `fresh` and `silent` bring a new item, then one now: `silent` has none."""
    from newsmon.app.stages.poll import poll_feeds

    base = server.base_url
    for step in range(4):
        server.routes["/fresh.xml"] = rss(base, "fresh", range(step + 1))
        server.routes["/silent.xml"] = rss(base, "silent", range(step + 1))
        server.routes["/moved-here.xml"] = rss(base, "moved", range(step + 1))
        poll_feeds(settings, FEEDS, START + timedelta(hours=2 * step))
    server.routes["/fresh.xml"] = rss(base, "fresh", range(6))
    poll_feeds(settings, FEEDS, NOW - timedelta(minutes=1))


def operator_lines(settings) -> list[dict]:
    path = Path(settings.operator_channels[0].removeprefix("file:"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_silent_a_failing_a_moved_and_a_gone_feed_reach_the_report_and_both_operator_channels(desk):
    from newsmon.app.feed_report import report_feed_health

    server, smtp, settings = desk
    poll_history(server, settings)
    counts = report_feed_health(settings, NOW)

    assert counts["feeds_needing_attention"] == 4 and counts["operator_reports_sent"] == 2
    [report] = operator_lines(settings)
    verdicts = {c["feed"]: c["verdict"] for c in report["changes"]}
    assert verdicts == {"silent": "silent", "broken": "failing", "moved": "moved", "gone": "gone"}
    why = {c["feed"]: c["why"] for c in report["changes"]}
    assert "no new item for 2." in why["silent"] and "usually one every 2.0 h" in why["silent"]
    assert "5 polls in a row failed" in why["broken"] and "HTTP 500" in why["broken"]
    assert f"{server.base_url}/moved-here.xml" in why["moved"]
    assert "410 Gone" in why["gone"]
    [mail] = smtp.messages
    assert mail["To"] == "desk-ops@example.org" and "4 need attention" in mail["Subject"]
    body = mail.get_content()
    for line in ("[silent] silent", "[failing] broken", "[moved] moved", "[gone] gone"):
        assert line in body


def test_an_unchanged_problem_is_not_reported_again_and_a_recovery_is(desk):
    from newsmon.app.feed_report import report_feed_health
    from newsmon.app.stages.poll import poll_feeds

    server, smtp, settings = desk
    poll_history(server, settings)
    report_feed_health(settings, NOW)
    again = report_feed_health(settings, NOW + timedelta(hours=1))
    assert again["feed_verdicts_changed"] == 0 and "operator_reports_sent" not in again
    assert len(operator_lines(settings)) == 1 and len(smtp.messages) == 1

    server.routes["/broken.xml"] = rss(server.base_url, "broken", range(2))
    poll_feeds(settings, ["broken"], NOW + timedelta(hours=2))
    report_feed_health(settings, NOW + timedelta(hours=2))
    latest = operator_lines(settings)[-1]
    assert latest["changes"] == [{"feed": "broken", "verdict": "ok", "was": "failing", "url": f"{server.base_url}/broken.xml",
                                  "why": "", "moved_to": None}]
    assert sorted(s["feed"] for s in latest["still"]) == ["gone", "moved", "silent"]
    assert "[ok again] broken: was failing" in smtp.messages[-1].get_content()


def test_a_channel_that_refuses_the_report_fails_the_task_and_the_report_is_sent_again_next_time(desk):
    from newsmon.alerts.channels import DeliveryError
    from newsmon.app.feed_report import report_feed_health

    server, _smtp, settings = desk
    poll_history(server, settings)
    closed = settings.model_copy(update={"operator_channels": [settings.operator_channels[0],
                                                               "smtp://127.0.0.1:9/?to=desk-ops@example.org"]})
    with pytest.raises(DeliveryError, match="1 of 2 operator channel"):
        report_feed_health(closed, NOW)
    report_feed_health(settings, NOW)
    assert len(operator_lines(settings)) == 2  # the first channel got it twice, the same changes both times
    assert operator_lines(settings)[0]["changes"] == operator_lines(settings)[1]["changes"]


def test_feeds_status_shows_the_same_verdicts_as_the_report(desk, monkeypatch, capsys):
    from newsmon.app.cli import main

    server, _smtp, settings = desk
    poll_history(server, settings)
    for key, value in {"NEWSMON_CONFIG_DIR": str(settings.config_path), "NEWSMON_STATE_DIR": str(settings.state_path),
                       "NEWSMON_HOME": str(settings.home)}.items():
        monkeypatch.setenv(key, value)
    assert main(["feeds", "status", "--json"]) == 0
    rows = {row["id"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {feed: row["verdict"] for feed, row in rows.items()} == {
        "fresh": "ok", "silent": "silent", "broken": "failing", "moved": "moved", "gone": "gone"}
    assert rows["moved"]["moved_to"] == f"{server.base_url}/moved-here.xml"
    assert main(["feeds", "status"]) == 0
    table = capsys.readouterr().out
    assert "need attention: 1 failing, 1 gone, 1 moved, 1 silent" in table


def test_the_maintenance_dag_reports_feed_health_last_even_when_a_housekeeping_step_failed(desk, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    server, _smtp, settings = desk
    poll_history(server, settings)
    for key, value in {"NEWSMON_CONFIG_DIR": str(settings.config_path), "NEWSMON_STATE_DIR": str(settings.state_path),
                       "NEWSMON_HOME": str(settings.home), "NEWSMON_ALLOW_LOOPBACK": "true",
                       "NEWSMON_OPERATOR_CHANNELS": json.dumps(settings.operator_channels)}.items():
        monkeypatch.setenv(key, value)
    dag = DagBag(dag_folder=str(REPO / "dags" / "newsmon_maintenance.py")).dags["newsmon_maintenance"]
    task = dag.task_dict["report_feed_health"]
    assert [t.task_id for t in dag.topological_sort()][-1] == "report_feed_health"
    assert task.trigger_rule == "all_done"
    counts = task.python_callable()
    assert counts["operator_reports_sent"] == 2 and len(operator_lines(settings)) == 1


def test_feeds_report_sends_the_changes_by_hand_for_machines_without_airflow(desk, monkeypatch, capsys):
    from newsmon.app.cli import main

    server, smtp, settings = desk
    poll_history(server, settings)
    for key, value in {"NEWSMON_CONFIG_DIR": str(settings.config_path), "NEWSMON_STATE_DIR": str(settings.state_path),
                       "NEWSMON_HOME": str(settings.home),
                       "NEWSMON_OPERATOR_CHANNELS": " ".join(settings.operator_channels)}.items():
        monkeypatch.setenv(key, value)
    assert main(["feeds", "report"]) == 0
    out = capsys.readouterr().out
    assert "4 feeds need attention, 4 changed" in out and "sent to 2 operator channel(s)" in out
    assert "smtp://#" in out and "127.0.0.1" not in out  # a channel is named by its hash, never its address
    assert len(smtp.messages) == 1 and len(operator_lines(settings)) == 1
    assert main(["feeds", "report"]) == 0
    assert "0 changed" in capsys.readouterr().out and len(smtp.messages) == 1


@pytest.mark.parametrize(("value", "message"), [
    ("slack://T0SECRET/B0SECRET/xoxbSECRET%0Abcc", "channel 1 (slack://#"),
    ("file:ops.jsonl hooks.example.org/SECRET", "channel 2 is not a URL"),
    ('["json://hooks.example.org/SECRET"', "not a JSON list"),
])
def test_a_bad_operator_channel_stops_newsmon_with_one_line_that_shows_no_secret(value, message, monkeypatch, capsys):
    from newsmon.app.cli import main

    monkeypatch.setenv("NEWSMON_OPERATOR_CHANNELS", value)
    assert main(["feeds", "status"]) == 2
    err = capsys.readouterr().err
    assert "NEWSMON_OPERATOR_CHANNELS" in err and message in err and "SECRET" not in err
    assert len(err.strip().splitlines()) == 1
