"""A channel's own quiet hours and max_per_hour hold back that channel only; the rule's other channels get the alert now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alert_site import OUTLETS, plain_bodies, serve
from sqlalchemy import func, select

from newsmon.app.cli import main
from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.run import run_once
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import check_alert_rules
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox

NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 23:00 in Vilnius (UTC+2 in November)
MORNING = datetime(2026, 11, 21, 5, 10, tzinfo=UTC)  # 07:10 in Vilnius
QUIET = "{start: '22:00', end: '07:00', timezone: Europe/Vilnius}"


def _mail(env) -> str:
    return f"smtp://127.0.0.1:{env.smtp.port}/?to=desk@example.org"


def _rule(env, mail_options: str, **rule_options: str) -> None:
    """Rule `desk`: every on-topic article, to a file channel as a plain URL and to mail with options of its own."""
    extra = "".join(f"    {k}: {v}\n" for k, v in rule_options.items())
    env.settings.alerts_file.write_text(
        "rules:\n  - name: desk\n    query: '*'\n    on_topic: true\n    channels:\n"
        f"      - file://{env.alerts_file}\n      - {{url: '{_mail(env)}', {mail_options}}}\n{extra}", encoding="utf-8")


def _file_lines(env) -> list[dict]:
    if not env.alerts_file.exists():
        return []
    return [json.loads(line) for line in env.alerts_file.read_text(encoding="utf-8").splitlines()]


def _outbox(env) -> list[dict]:
    with open_engine(env.settings.database_url).connect() as conn:
        return [dict(r) for r in conn.execute(select(alert_outbox).order_by(alert_outbox.c.id)).mappings()]


def _statuses(env) -> dict[str, int]:
    with open_engine(env.settings.database_url).connect() as conn:
        return dict(conn.execute(select(alert_outbox.c.status, func.count()).group_by(alert_outbox.c.status)).all())


def test_a_mail_channel_in_its_quiet_hours_gets_nothing_while_the_file_channel_gets_the_alerts_at_once(demo_env):
    _rule(demo_env, f"quiet_hours: {QUIET}")
    night = run_once(demo_env.settings, now=NIGHT)
    assert (night.alerts["enqueued"], night.alerts["held"]) == (4, 4)
    assert [line["kind"] for line in _file_lines(demo_env)] == ["instant"] * 4
    assert demo_env.smtp.messages == []
    assert _statuses(demo_env) == {"pending": 4}  # the mail channel has not had them yet
    assert send_alerts(demo_env.settings, NIGHT + timedelta(hours=3))["sent"] == 0  # 01:00: the mail is still quiet


def test_after_its_quiet_hours_the_mail_channel_gets_one_digest_of_what_it_missed_and_the_file_no_repeat(demo_env):
    _rule(demo_env, f"quiet_hours: {QUIET}")
    run_once(demo_env.settings, now=NIGHT)
    titles = [line["stories"][0]["title"] for line in _file_lines(demo_env)]

    assert send_alerts(demo_env.settings, MORNING)["sent"] == 4
    [mail] = demo_env.smtp.messages
    assert str(mail["Subject"]) == "[newsmon] desk: 4 stories (held digest)"
    [body] = plain_bodies(demo_env)
    assert all(title in body for title in titles)  # the same four stories the file had at night
    assert len(_file_lines(demo_env)) == 4
    assert _statuses(demo_env) == {"sent": 4}
    assert send_alerts(demo_env.settings, MORNING + timedelta(hours=1))["sent"] == 0
    assert len(demo_env.smtp.messages) == 1


def test_a_channels_max_per_hour_holds_the_second_alert_for_that_channel_only(demo_env):
    _rule(demo_env, "max_per_hour: 1")
    first = run_once(demo_env.settings, now=NIGHT)
    assert (first.alerts["sent"], first.alerts["held"]) == (1, 3)
    assert len(_file_lines(demo_env)) == 4
    assert len(demo_env.smtp.messages) == 1
    assert send_alerts(demo_env.settings, NIGHT + timedelta(minutes=30))["sent"] == 0

    assert send_alerts(demo_env.settings, NIGHT + timedelta(minutes=61))["sent"] == 3
    assert str(demo_env.smtp.messages[-1]["Subject"]) == "[newsmon] desk: 3 stories (held digest)"
    assert len(demo_env.smtp.messages) == 2
    assert len(_file_lines(demo_env)) == 4
    assert _statuses(demo_env) == {"sent": 4}


def test_a_channel_limit_on_a_hold_drop_rule_drops_for_that_channel_only_and_the_outbox_says_so(demo_env):
    _rule(demo_env, "max_per_hour: 1", hold="drop")
    first = run_once(demo_env.settings, now=NIGHT)
    assert (first.alerts["sent"], first.alerts["dropped"]) == (4, 3)
    assert send_alerts(demo_env.settings, NIGHT + timedelta(hours=2))["sent"] == 0
    assert (len(_file_lines(demo_env)), len(demo_env.smtp.messages)) == (4, 1)
    notes = [row["last_error"] for row in _outbox(demo_env)]
    assert notes.count(None) == 1 and len(notes) == 4
    assert f"dropped: max per hour of {describe_channel(_mail(demo_env))} (the rule has hold: drop)" in notes


def test_an_urgent_rule_ignores_a_channels_quiet_hours_too(demo_env):
    _rule(demo_env, f"quiet_hours: {QUIET}", urgent="true")
    assert run_once(demo_env.settings, now=NIGHT).alerts["sent"] == 4
    assert (len(_file_lines(demo_env)), len(demo_env.smtp.messages)) == (4, 4)


def test_a_channels_bad_time_zone_names_the_rule_and_the_channel_but_never_its_secret(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "rules:\n"
        "  - name: good\n    query: medininkai\n    channels: ['file:good.jsonl']\n"
        "  - name: night-desk\n    query: medininkai\n    channels:\n      - file:night.jsonl\n"
        "      - url: smtp://desk:${NEWSMON_DESK_PW}@mail.example.org:587/?to=desk@example.org\n"
        "        quiet_hours: {start: '22:00', end: '07:00', timezone: Europe/Vilnus}\n", encoding="utf-8")
    environ = {"NEWSMON_DESK_PW": "hunter2-not-shown"}
    checked = check_alert_rules(path, environ=environ)
    assert [r.name for r in checked.rules] == ["good"]
    [problem] = checked.problems
    url = "smtp://desk:hunter2-not-shown@mail.example.org:587/?to=desk@example.org"
    assert problem.startswith(f"{path}:10: rules.1.channels.1.quiet_hours.timezone: rule 'night-desk': "
                              f"channel 2 ({describe_channel(url)}): unknown time zone 'Europe/Vilnus'")
    assert "hunter2" not in problem and "desk:" not in problem


def test_an_unknown_option_in_a_channel_is_refused_naming_it(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: desk\n    query: a\n    channels:\n"
                    "      - {url: 'mailto:desk@example.org', quiet_hour: {start: '22:00', end: '07:00'}}\n")
    [problem] = check_alert_rules(path, environ={}).problems
    assert ":5: rules.0.channels.0.quiet_hour: rule 'desk': channel 1 (mailto:desk@example.org): Extra inputs" in problem


def test_a_channel_with_options_takes_its_url_from_an_environment_variable_like_a_plain_channel(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: desk\n    query: a\n    channels:\n"
                    "      - {url: '${NEWSMON_DESK_SLACK}', max_per_hour: 2}\n")
    slack = "slack://T0NEWSMON/B0NEWSMON/madeuptokenmadeuptoken"
    [rule] = check_alert_rules(path, environ={"NEWSMON_DESK_SLACK": slack}).rules
    assert (rule.channels[0].url, rule.channels[0].max_per_hour) == (slack, 2)
    [unset] = check_alert_rules(path, environ={}).problems
    assert "rules.0.channels.0.url: rule 'desk': channel 1: the environment variable NEWSMON_DESK_SLACK is not set" in unset

    path.write_text("rules:\n  - name: desk\n    query: a\n    channels:\n"
                    f"      - {{url: '{slack}', max_per_hour: 2}}\n")
    [written] = check_alert_rules(path, environ={}).problems
    assert "channel 1 (slack:) has its token" in written and "madeuptoken" not in written


def test_alerts_check_shows_a_channels_own_quiet_hours_and_limit_next_to_it(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough that no cell wraps
    _rule(demo_env, f"quiet_hours: {QUIET}, max_per_hour: 1")
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert f"{describe_channel(_mail(demo_env))} (quiet 22:00–07:00 Europe/Vilnius, max 1/hour)" in out


def test_an_alert_new_when_the_mail_window_ends_reaches_the_file_as_an_instant_alert_and_the_mail_in_its_digest(demo_env):
    _rule(demo_env, f"quiet_hours: {QUIET}")
    run_once(demo_env.settings, now=NIGHT)
    serve(demo_env, set(OUTLETS))  # in the morning the outlets carry one more story
    morning = run_once(demo_env.settings, now=MORNING, force=True)
    assert (morning.alerts["enqueued"], morning.alerts["sent"]) == (1, 5)
    assert [line["kind"] for line in _file_lines(demo_env)] == ["instant"] * 5
    [mail] = demo_env.smtp.messages
    assert str(mail["Subject"]) == "[newsmon] desk: 5 stories (held digest)"
    assert _file_lines(demo_env)[-1]["stories"][0]["title"] in plain_bodies(demo_env)[0]
