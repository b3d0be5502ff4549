"""A mail server and a webhook receiver that are down during a run: the run finishes, alerts wait, and go out once they are back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from webhook_receiver import webhook_receiver

from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.run import run_once
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@contextmanager
def _webhook(port: int) -> Iterator[list[dict]]:
    """A real JSON webhook receiver on a given loopback port; yields what it received."""
    with webhook_receiver(port) as server:
        yield server.received  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _statuses(env) -> list[str]:
    with open_engine(env.settings.database_url).connect() as conn:
        return list(conn.execute(select(alert_outbox.c.status).order_by(alert_outbox.c.id)).scalars())


def test_alerts_wait_while_mail_and_webhook_are_down_and_are_delivered_once_each_when_they_are_back(demo_env):
    mail_port, hook_port = _free_port(), _free_port()
    demo_env.settings.alerts_file.write_text(
        "rules:\n  - name: desk\n    query: '*'\n    on_topic: true\n    channels:\n"
        f"      - smtp://127.0.0.1:{mail_port}/?to=desk@example.org\n"
        f"      - json://127.0.0.1:{hook_port}/hooks/desk\n", encoding="utf-8")

    down = run_once(demo_env.settings, now=AT)
    assert down.index["indexed"] > 0 and down.alerts["enqueued"] == 4
    assert (down.alerts["sent"], down.alerts["retry_later"]) == (0, 4)
    assert _statuses(demo_env) == ["pending"] * 4

    with SmtpSink(port=mail_port) as mail, _webhook(hook_port) as hook:
        back = send_alerts(demo_env.settings, AT + timedelta(hours=1))
        again = send_alerts(demo_env.settings, AT + timedelta(hours=2))
        mails, posts = list(mail.messages), list(hook)
    assert back["sent"] == 4 and again["sent"] == 0
    assert len(mails) == 4 and len(posts) == 4
    assert _statuses(demo_env) == ["sent"] * 4


def test_a_receiver_that_comes_back_gets_only_what_it_missed_and_the_other_channel_nothing_twice(demo_env):
    hook_port = _free_port()
    demo_env.settings.alerts_file.write_text(
        "rules:\n  - name: desk\n    query: '*'\n    on_topic: true\n    channels:\n"
        f"      - smtp://127.0.0.1:{demo_env.smtp.port}/?to=desk@example.org\n"
        f"      - json://127.0.0.1:{hook_port}/hooks/desk\n", encoding="utf-8")
    assert run_once(demo_env.settings, now=AT).alerts["retry_later"] == 4
    assert len(demo_env.smtp.messages) == 4  # the mail server was up

    with _webhook(hook_port) as hook:
        assert send_alerts(demo_env.settings, AT + timedelta(hours=1))["sent"] == 4
        posts = list(hook)
    assert len(posts) == 4 and len(demo_env.smtp.messages) == 4
