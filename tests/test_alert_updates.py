"""Copies of a story that arrive after its alert send no new alert: they are story updates in the next digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_site import mail_channel, plain_bodies, serve
from sqlalchemy import select

from newsmon.app.stages.alert import send_digests
from newsmon.app.stages.run import run_once
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _rule(env, updates: str | None = None) -> None:
    option = f", updates: {updates}" if updates else ""
    env.settings.alerts_file.write_text(
        f"rules:\n  - {{name: border, query: medininkai, channels: ['{mail_channel(env)}'], mode: instant{option}}}\n",
        encoding="utf-8")


def _outbox(env) -> list[tuple[str, str, str]]:
    with open_engine(env.settings.database_url).connect() as conn:
        return sorted(conn.execute(select(alert_outbox.c.cluster_id, alert_outbox.c.copy_id, alert_outbox.c.status)).all())


def test_two_copies_in_one_run_are_one_alert_and_a_third_copy_later_is_a_story_update_in_the_next_digest(demo_env):
    _rule(demo_env)
    serve(demo_env, {"pasienio-zinios", "baltic-wire"})
    first = run_once(demo_env.settings, now=AT)
    assert first.alerts["enqueued"] == 1
    [alert] = plain_bodies(demo_env)
    assert "also reported by 1 other outlet: Baltic Wire (en, wire)" in alert

    serve(demo_env, {"pasienio-zinios", "baltic-wire", "minsk-herald"})
    second = run_once(demo_env.settings, now=AT + timedelta(minutes=10), force=True)
    assert second.alerts["story_updates"] == 1
    assert len(demo_env.smtp.messages) == 1  # no second instant alert
    [(alerted, _, _), (updated, copy_id, status)] = _outbox(demo_env)
    assert updated == alerted  # the update is about the alerted story
    assert (copy_id, status) == ("minsk-herald", "pending")

    assert send_digests(demo_env.settings, "daily", AT + timedelta(hours=1))["sent"] == 1
    [digest] = plain_bodies(demo_env, "digest")
    assert "Story update: now reported by 3 outlets, including Minsk Herald (state-controlled, ru)" in digest
    assert send_digests(demo_env.settings, "daily", AT + timedelta(days=1))["sent"] == 0


def test_a_copy_from_an_outlet_the_alert_already_named_is_no_story_update(demo_env):
    _rule(demo_env)
    serve(demo_env, {"pasienio-zinios", "baltic-wire"})
    run_once(demo_env.settings, now=AT)
    run_once(demo_env.settings, now=AT + timedelta(minutes=10), force=True)  # the same two copies again
    assert [copy_id for _, copy_id, _ in _outbox(demo_env)] == [""]


def test_a_rule_with_follow_up_updates_sends_them_in_the_next_run_not_as_a_new_alert(demo_env):
    _rule(demo_env, "followup")
    serve(demo_env, {"pasienio-zinios"})
    run_once(demo_env.settings, now=AT)
    serve(demo_env, {"pasienio-zinios", "baltic-wire", "minsk-herald"})
    run_once(demo_env.settings, now=AT + timedelta(minutes=10), force=True)

    subjects = [str(m["Subject"]) for m in demo_env.smtp.messages]
    assert len(subjects) == 2 and subjects[1].startswith("[newsmon] border: story update: ")
    [followup] = plain_bodies(demo_env, "story update")
    assert "now reported by 3 outlets, including Minsk Herald (state-controlled, ru), Baltic Wire (wire, en)" in followup


def test_a_rule_with_updates_none_never_mentions_later_copies(demo_env):
    _rule(demo_env, "none")
    serve(demo_env, {"pasienio-zinios"})
    run_once(demo_env.settings, now=AT)
    serve(demo_env, {"pasienio-zinios", "minsk-herald"})
    run_once(demo_env.settings, now=AT + timedelta(minutes=10), force=True)
    assert send_digests(demo_env.settings, "daily", AT + timedelta(hours=1))["sent"] == 0
    assert len(demo_env.smtp.messages) == 1
