"""`newsmon alerts`: users can check their rules and see what the outbox holds."""

from __future__ import annotations

from sqlalchemy import select, update

from newsmon.app.cli import main
from newsmon.app.stages.run import run_once
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox


def _env(monkeypatch, demo_env):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)


def test_alerts_check_lists_each_rule_with_its_channels_without_credentials(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    rules = demo_env.settings.alerts_file
    monkeypatch.setenv("NEWSMON_DESK_SMTP_PASSWORD", "secret")
    rules.write_text(rules.read_text().replace("smtp://127.0.0.1", "smtp://user:${NEWSMON_DESK_SMTP_PASSWORD}@127.0.0.1"))
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "checkpoints" in out and "1 rule(s) OK" in out
    assert "secret" not in out


def test_alerts_outbox_shows_the_sent_alerts_after_a_run(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    run_once(demo_env.settings)
    capsys.readouterr()
    assert main(["alerts", "outbox", "--status", "sent"]) == 0
    out = capsys.readouterr().out
    assert "sent: 2" in out and "checkpoints" in out


def test_alerts_check_names_the_file_line_and_rule_of_a_query_that_used_to_crash_it(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    rules = demo_env.settings.alerts_file
    nested = "(" * 3000 + "medininkai" + ")" * 3000
    rules.write_text(rules.read_text() + f"  - name: nested\n    query: '{nested}'\n    channels: ['file:x.jsonl']\n")
    line = rules.read_text().splitlines().index(f"    query: '{nested}'") + 1
    assert main(["alerts", "check"]) == 2
    err = capsys.readouterr().err
    assert f"{rules}:{line}: rules." in err and "rule 'nested'" in err and "the limit is 2000" in err


def test_alerts_retry_queues_only_the_given_failed_alert_and_its_channels_are_not_sent_it_twice(
        demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    run_once(demo_env.settings)
    engine = open_engine(demo_env.settings.database_url)
    with engine.begin() as conn:  # as if both had been given up after their channels took them
        conn.execute(update(alert_outbox).values(status="failed", last_error="gave up"))
        first, second = sorted(conn.execute(select(alert_outbox.c.id)).scalars())
    mails = len(demo_env.smtp.messages)
    capsys.readouterr()

    assert main(["alerts", "retry", "--id", str(second)]) == 0
    assert capsys.readouterr().out.startswith("1 failed alert(s) queued again")
    assert main(["alerts", "outbox", "--status", "pending"]) == 0
    assert "pending: 1" in capsys.readouterr().out
    assert main(["alerts", "send"]) == 0
    with engine.connect() as conn:
        status = dict(conn.execute(select(alert_outbox.c.id, alert_outbox.c.status)).all())
    assert status == {first: "failed", second: "sent"}
    assert len(demo_env.smtp.messages) == mails


def test_alerts_check_shows_a_rules_quiet_hours_limit_and_what_it_does_with_what_they_stop(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough that no cell wraps
    demo_env.settings.alerts_file.write_text(
        "rules:\n  - name: night\n    query: medininkai\n    channels: ['file:n.jsonl']\n"
        "    quiet_hours: {start: '22:00', end: '07:00', timezone: Europe/Vilnius}\n    max_per_hour: 3\n    hold: drop\n")
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "quiet 22:00–07:00 Europe/Vilnius" in out and "max 3/hour" in out and "stopped alerts dropped" in out
