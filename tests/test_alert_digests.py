"""Digest rules collect a period's stories into one message per rule, each story once."""

from __future__ import annotations

from newsmon.app.stages.alert import send_digests
from newsmon.app.stages.run import run_once


def _digest_rule(demo_env, mode: str) -> None:
    demo_env.settings.alerts_file.write_text(
        "rules:\n"
        f"  - name: lt-by-{mode}\n"
        "    query: '*'\n"
        "    on_topic: true\n"
        f"    channels: ['smtp://127.0.0.1:{demo_env.smtp.port}/?to=desk@example.org']\n"
        f"    mode: {mode}\n"
    )


def test_a_daily_digest_waits_for_its_schedule_then_sends_every_story_once_in_one_mail(demo_env):
    _digest_rule(demo_env, "daily")
    summary = run_once(demo_env.settings)
    assert summary.alerts["enqueued"] == 4  # four on-topic stories (the wire copy joins its original)
    assert demo_env.smtp.messages == []

    assert send_digests(demo_env.settings, "hourly")["sent"] == 0
    sent = send_digests(demo_env.settings, "daily")
    assert sent["sent"] == 4
    assert len(demo_env.smtp.messages) == 1
    mail = demo_env.smtp.messages[0]
    assert "4 stories (daily digest)" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert body.count("also reported by 1 other outlet") == 1

    assert send_digests(demo_env.settings, "daily")["sent"] == 0
    run_once(demo_env.settings, force=True)
    assert send_digests(demo_env.settings, "daily")["sent"] == 0
    assert len(demo_env.smtp.messages) == 1
