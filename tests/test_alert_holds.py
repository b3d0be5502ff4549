"""Quiet hours, max_per_hour and mute_until hold alerts back (or drop them, if the rule says so); held ones go out as one digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_site import plain_bodies
from sqlalchemy import func, select

from newsmon.alerts import compose
from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.run import run_once
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox

# 23:00 in Vilnius (UTC+2 in November): inside quiet hours 22:00–07:00.
NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
MORNING = datetime(2026, 11, 21, 5, 10, tzinfo=UTC)  # 07:10 in Vilnius


def _rule(env, **options: str) -> None:
    extra = "".join(f"    {k}: {v}\n" for k, v in options.items())
    env.settings.alerts_file.write_text(
        "rules:\n  - name: desk\n    query: '*'\n    on_topic: true\n"
        f"    channels: ['smtp://127.0.0.1:{env.smtp.port}/?to=desk@example.org']\n{extra}", encoding="utf-8")


def _statuses(env) -> dict[str, int]:
    with open_engine(env.settings.database_url).connect() as conn:
        return dict(conn.execute(select(alert_outbox.c.status, func.count()).group_by(alert_outbox.c.status)).all())


QUIET = "{start: '22:00', end: '07:00', timezone: Europe/Vilnius}"


def test_alerts_in_quiet_hours_are_held_and_sent_as_one_digest_when_the_window_ends(demo_env):
    _rule(demo_env, quiet_hours=QUIET)
    night = run_once(demo_env.settings, now=NIGHT)
    assert (night.alerts["enqueued"], night.alerts["held"], night.alerts["sent"]) == (4, 4, 0)
    assert demo_env.smtp.messages == []
    assert send_alerts(demo_env.settings, NIGHT + timedelta(hours=3))["sent"] == 0  # 01:00: still quiet

    assert send_alerts(demo_env.settings, MORNING)["sent"] == 4
    [mail] = demo_env.smtp.messages
    assert str(mail["Subject"]) == "[newsmon] desk: 4 stories (held digest)"
    assert _statuses(demo_env) == {"sent": 4}
    assert send_alerts(demo_env.settings, MORNING + timedelta(hours=1))["sent"] == 0


def test_quiet_hours_written_unquoted_in_yaml_are_read_as_clock_times(demo_env):
    _rule(demo_env, quiet_hours="{start: 22:00, end: 07:00, timezone: Europe/Vilnius}")
    assert run_once(demo_env.settings, now=NIGHT).alerts["held"] == 4


def test_an_urgent_rule_ignores_quiet_hours(demo_env):
    _rule(demo_env, quiet_hours=QUIET, urgent="true")
    assert run_once(demo_env.settings, now=NIGHT).alerts["sent"] == 4
    assert len(demo_env.smtp.messages) == 4


def test_alerts_past_max_per_hour_are_held_and_then_sent_together_none_lost(demo_env):
    _rule(demo_env, max_per_hour="2")
    first = run_once(demo_env.settings, now=NIGHT)
    assert (first.alerts["sent"], first.alerts["held"]) == (2, 2)
    assert len(demo_env.smtp.messages) == 2
    assert send_alerts(demo_env.settings, NIGHT + timedelta(minutes=30))["sent"] == 0

    assert send_alerts(demo_env.settings, NIGHT + timedelta(minutes=61))["sent"] == 2
    assert len(demo_env.smtp.messages) == 3
    assert "2 stories (held digest)" in str(demo_env.smtp.messages[-1]["Subject"])
    assert _statuses(demo_env) == {"sent": 4}


def test_a_rule_with_hold_drop_drops_what_its_limit_stops_and_keeps_it_listed(demo_env):
    _rule(demo_env, max_per_hour="1", hold="drop")
    first = run_once(demo_env.settings, now=NIGHT)
    assert (first.alerts["sent"], first.alerts["dropped"]) == (1, 3)
    assert send_alerts(demo_env.settings, NIGHT + timedelta(hours=2))["sent"] == 0
    assert len(demo_env.smtp.messages) == 1
    assert _statuses(demo_env) == {"sent": 1, "dropped": 3}


def test_a_muted_rule_holds_its_alerts_until_the_mute_ends(demo_env):
    _rule(demo_env, mute_until="'2026-11-21T09:00:00+02:00'")
    assert run_once(demo_env.settings, now=NIGHT).alerts["held"] == 4
    assert send_alerts(demo_env.settings, MORNING)["sent"] == 0  # 07:10, muted until 09:00
    assert send_alerts(demo_env.settings, MORNING + timedelta(hours=2))["sent"] == 4
    assert len(demo_env.smtp.messages) == 1


def test_a_held_digest_longer_than_the_limit_shows_the_first_stories_and_how_many_more(demo_env, monkeypatch):
    monkeypatch.setattr(compose, "MAX_DIGEST_STORIES", 3)
    _rule(demo_env, quiet_hours=QUIET)
    run_once(demo_env.settings, now=NIGHT)
    assert send_alerts(demo_env.settings, MORNING)["sent"] == 4
    [body] = plain_bodies(demo_env)
    assert "+1 more story in this period, not shown here." in body
    assert str(demo_env.smtp.messages[0]["Subject"]) == "[newsmon] desk: 3 stories +1 more (held digest)"
