"""Alerts never show a channel's secret, never render publisher markup, and never repeat forever."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.outbox import MAX_ATTEMPTS, deliver_pending, enqueue_matches
from newsmon.config import AlertRule
from newsmon.records import Article, TopicResult
from newsmon.settings import Settings, load_settings
from store.db import alert_outbox, open_engine

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# Shaped like a real bot token (digits, colon, 35 characters) so Apprise accepts the URL; it is made up.
BOT_SECRET = "AAHnewsmonMadeUpBotSecretQ7xZ0k3Lw9"
TELEGRAM_URL = f"tgram://123456789:{BOT_SECRET}/987654"
HOSTILE_TITLE = 'Medininkai closed <img src=x onerror="alert(1)">'
HOSTILE_LEAD = 'Queues at the border. <a href="javascript:alert(2)">Read more</a> <script>alert(3)</script>'


class _Hook(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def webhook():
    """A real JSON webhook receiver on loopback; `.received` holds every posted alert."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def telegram_unreachable(monkeypatch):
    """Telegram's API is behind a proxy on a closed loopback port: every attempt fails, nothing leaves the host."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return load_settings(home=tmp_path, config_dir=tmp_path, state_dir=tmp_path / "var", state_url=None,
                         search_backend="sqlite", **kw)


def _article(title: str = "Medininkai checkpoint closed", lead: str = "Queues at the Medininkai checkpoint.") -> Article:
    return Article(id="a1", url="https://example.org/a1", canonical_url="https://example.org/a1", source="lrt-en",
                   title=title, text=lead, fetched_at=AT, content_hash="h1", language="en", cluster_id="c1",
                   topic=TopicResult("lt-by", True, 0.9, ("border_crossings",)))


def _queue(settings: Settings, rule: AlertRule, article: Article) -> None:
    with open_engine(settings.database_url).begin() as conn:
        assert enqueue_matches(conn, [rule], [article], AT).enqueued == 1


def _outbox(settings: Settings) -> list[dict]:
    with open_engine(settings.database_url).connect() as conn:
        return [dict(r) for r in conn.execute(select(alert_outbox).order_by(alert_outbox.c.id)).mappings()]


def test_an_alert_whose_deliveries_never_finish_is_given_up_when_claimed_after_max_attempts(tmp_path, webhook):
    # A worker killed mid-delivery leaves the row `sending`; after MAX_ATTEMPTS such claims it must stop.
    settings = _settings(tmp_path)
    rule = AlertRule(name="desk", query="medininkai", channels=[f"json://127.0.0.1:{webhook.server_address[1]}/h"])
    _queue(settings, rule, _article())
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(alert_outbox.update().values(status="sending", attempts=MAX_ATTEMPTS,
                                                  next_attempt_at=AT - timedelta(seconds=1)))
    counts = deliver_pending(engine, [rule], settings, AT)
    assert (counts.sent, counts.failed) == (0, 1)
    assert webhook.received == []
    [row] = _outbox(settings)
    assert row["status"] == "failed" and str(MAX_ATTEMPTS) in row["last_error"]
