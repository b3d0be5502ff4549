"""Alerts never show a channel's secret, never render publisher markup, and never repeat forever."""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from webhook_receiver import webhook_receiver

from newsmon.alerts.outbox import MAX_ATTEMPTS, deliver_pending, enqueue_matches
from newsmon.app.cli import main
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.app.stages.run import run_once
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import AlertRule, ConfigError, load_alert_rules
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import Settings, load_settings
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox, runs

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# Shaped like a real bot token (digits, colon, 35 characters) so Apprise accepts the URL; it is made up.
BOT_SECRET = "AAHnewsmonMadeUpBotSecretQ7xZ0k3Lw9"
TELEGRAM_URL = f"tgram://123456789:{BOT_SECRET}/987654"
HOSTILE_TITLE = 'Medininkai closed <img src=x onerror="alert(1)">'
# One sentence holding the rule's word, so the alert quotes all of it (alerts quote the sentences that matched).
HOSTILE_LEAD = 'Queues at Medininkai <a href="javascript:alert(2)">Read more</a> <script>alert(3)</script>'


@pytest.fixture
def webhook():
    with webhook_receiver() as server:
        yield server


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


# ---------------------------------------------------------------- publisher markup in Apprise mail


def _html_parts(message) -> list[str]:
    return [part.get_content() for part in message.walk() if part.get_content_type() == "text/html"]


def test_apprise_mail_shows_publisher_markup_as_text_never_as_live_html(tmp_path):
    article = _article(HOSTILE_TITLE, HOSTILE_LEAD)
    with SmtpSink() as sink:
        base = f"mailto://127.0.0.1:{sink.port}?to=desk@example.org&from=newsmon@example.org&mode=insecure"
        settings = _settings(tmp_path)
        # The default mail, and one whose user asked Apprise for HTML mail.
        rule = AlertRule(name="desk", query="medininkai", channels=[base, base + "&format=html"])
        _queue(settings, rule, article)
        assert deliver_pending(open_engine(settings.database_url), [rule], settings, AT).sent == 1
        messages = list(sink.messages)
    assert len(messages) == 2
    for message in messages:
        for html in _html_parts(message):
            assert "<img" not in html and "<script" not in html and 'href="javascript:' not in html
            assert "&lt;script&gt;" in html  # shown to the reader as the text the publisher wrote
    plain = messages[0].get_body(preferencelist=("plain",)).get_content()
    assert '<a href="javascript:alert(2)">Read more</a>' in plain


# ---------------------------------------------------------------- an unreachable Telegram channel


def _telegram_rule(demo_env, webhook, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_CHECKPOINTS_TGRAM", TELEGRAM_URL)
    demo_env.settings.alerts_file.write_text(
        "rules:\n"
        "  - name: checkpoints\n"
        "    query: medininkai OR salcininkai OR checkpoint*\n"
        "    on_topic: true\n"
        "    channels:\n"
        f"      - json://127.0.0.1:{webhook.server_address[1]}/hooks/desk\n"
        "      - ${NEWSMON_CHECKPOINTS_TGRAM}\n"
    )


def test_an_unreachable_telegram_channel_gives_up_after_max_attempts_without_repeats_or_leaking_its_token(
        demo_env, webhook, telegram_unreachable, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    _telegram_rule(demo_env, webhook, monkeypatch)
    summaries = []
    for run in range(MAX_ATTEMPTS + 2):
        # Each run comes after the previous one's backoff and claim lease have passed.
        summaries.append(run_once(demo_env.settings, now=AT + timedelta(hours=2 * run)))

    stories = summaries[0].alerts["enqueued"]
    assert stories >= 1
    assert len(webhook.received) == stories  # the channel that took each alert never got it again
    rows = _outbox(demo_env.settings)
    assert [r["status"] for r in rows] == ["failed"] * stories
    assert {r["attempts"] for r in rows} == {MAX_ATTEMPTS}
    assert all(describe_channel(TELEGRAM_URL) in r["last_error"] for r in rows)
    assert summaries[-1].alerts.get("failed", 0) == 0  # given up rows are not tried again

    with open_engine(demo_env.settings.database_url).connect() as conn:
        recorded = json.dumps([r.counts for r in conn.execute(select(runs.c.counts))])
    shown = [caplog.text, recorded, json.dumps([s.alerts for s in summaries]), json.dumps(rows, default=str)]
    assert describe_channel(TELEGRAM_URL) in recorded  # the runs table shows which channel failed
    for text in shown:
        assert BOT_SECRET not in text and "123456789:" not in text


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


def test_a_line_break_in_a_mail_channels_from_address_is_refused_at_load_without_echoing_the_password(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n"
                    "  - name: desk\n"
                    "    query: medininkai\n"
                    "    channels:\n"
                    "      - 'smtp://alice:${NEWSMON_DESK_SMTP_PASSWORD}@127.0.0.1:2525/?to=desk@example.org"
                    "&from=newsmon@example.org%0D%0ABcc:%20everyone@example.org'\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml:5: rules.0.channels: .*line break") as caught:
        load_alert_rules(path, {"NEWSMON_DESK_SMTP_PASSWORD": "hunter2pw"})
    chain = f"{caught.value}\n{caught.value.__cause__}"
    assert "hunter2pw" not in chain and "alice" not in chain


# ---------------------------------------------------------------- how a channel is shown

SECRET_URLS = {
    "slack": "slack://T1NEWSMON/B2NEWSMON/slackSecretTokenXyz/#desk",
    "discord": "discord://112233445566/discordSecretTokenXyz/",
    "msteams": "msteams://teamsSecretGroup/teamsSecretTokenA/teamsSecretTokenB/",
    "ntfy": "ntfy://ntfyuser:ntfySecretPw@ntfy.example.org/border-topic",
    "pover": "pover://poverUserKeyXyz@poverSecretTokenXyz",
    "tgram": TELEGRAM_URL,
    "smtp": "smtp://smtpuser:smtpSecretPw@mail.example.org:587/?to=desk@example.org",
    "json": "json://hookuser:hookSecretPw@127.0.0.1:8080/hooks/hookSecretPath",
}


@pytest.mark.parametrize("scheme", sorted(SECRET_URLS))
def test_a_channel_is_shown_as_its_scheme_and_a_short_stable_hash_only(scheme):
    url = SECRET_URLS[scheme]
    shown = describe_channel(url)
    assert shown.startswith(f"{scheme}://#") and len(shown) == len(scheme) + 4 + 8
    assert describe_channel(url) == shown
    assert describe_channel(url[:-1] + "Q") != shown  # another chat, topic, token or recipient


def test_a_channels_hash_leaves_out_its_password_so_no_log_can_confirm_a_guessed_one():
    assert describe_channel("smtp://desk:guess1@mail.example.org/?to=a@example.org") == \
        describe_channel("smtp://desk:guess2@mail.example.org/?to=a@example.org")


def test_file_and_mailto_channels_keep_their_path_and_addresses_which_hold_no_secret():
    assert describe_channel("file:alerts.jsonl") == "file:alerts.jsonl"
    assert describe_channel("file:///srv/newsmon/alerts.jsonl") == "file:///srv/newsmon/alerts.jsonl"
    assert describe_channel("mailto:desk@example.org,night@example.org") == "mailto:desk@example.org,night@example.org"


def test_alerts_check_shows_no_part_of_any_channel_secret(demo_env, monkeypatch, capsys):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    # msteams:// is shown like the others but refused by check: Apprise 2.x reaches Teams through workflows://.
    deliverable = {scheme: url for scheme, url in SECRET_URLS.items() if scheme != "msteams"}
    for scheme, url in deliverable.items():  # secrets live in the environment, never in alerts.yaml
        monkeypatch.setenv(f"NEWSMON_DESK_{scheme.upper()}", url)
    channels = "".join(f"      - '${{NEWSMON_DESK_{scheme.upper()}}}'\n" for scheme in deliverable)
    demo_env.settings.alerts_file.write_text(f"rules:\n  - name: desk\n    query: medininkai\n    channels:\n{channels}")
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    for url in deliverable.values():
        assert describe_channel(url) in out
    for secret in ("Secret", "T1NEWSMON", "112233445566", "ntfyuser", "poverUserKey", "123456789", "smtpuser", "hookuser"):
        assert secret not in out


def test_a_webhook_that_cannot_be_reached_leaves_no_part_of_its_url_in_errors_or_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path)
    url = f"json://hookuser:hookSecretPw@127.0.0.1:{_closed_port()}/hooks/hookSecretPath"
    rule = AlertRule(name="desk", query="medininkai", channels=[url])
    _queue(settings, rule, _article())
    counts = deliver_pending(open_engine(settings.database_url), [rule], settings, AT)
    assert counts.retry_later == 1
    [row] = _outbox(settings)
    assert row["last_error"].startswith(describe_channel(url))
    assert [kind for kind, _ in counts.errors] == ["retry_later"]
    for text in (caplog.text, row["last_error"], *(error for _, error in counts.errors)):
        assert "hookSecret" not in text and "hookuser" not in text


def test_smtp_credentials_in_the_url_appear_in_no_error_or_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path)
    with SmtpSink() as sink:  # the sink offers no AUTH, so the login the URL asks for is refused
        url = f"smtp://smtpuser:smtpSecretPw@127.0.0.1:{sink.port}/?to=desk@example.org"
        rule = AlertRule(name="desk", query="medininkai", channels=[url])
        _queue(settings, rule, _article())
        counts = deliver_pending(open_engine(settings.database_url), [rule], settings, AT)
    assert counts.retry_later == 1
    [row] = _outbox(settings)
    assert row["last_error"].startswith(describe_channel(url))
    for text in (caplog.text, row["last_error"]):
        assert "smtpSecretPw" not in text and "smtpuser" not in text


# ---------------------------------------------------------------- header-breaking text


def test_a_rule_name_with_a_line_break_is_refused_at_load(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text('rules:\n  - name: "desk\\nBcc: everyone@example.org"\n    query: a\n    channels: [file:a.jsonl]\n')
    with pytest.raises(ConfigError, match=r"alerts.yaml:2: rules.0.name"):
        load_alert_rules(path)


def test_a_story_title_with_a_line_break_arrives_as_a_one_line_mail_subject(tmp_path):
    settings = _settings(tmp_path)
    with SmtpSink() as sink:
        rule = AlertRule(name="desk", query="medininkai",
                         channels=[f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org"])
        _queue(settings, rule, _article("Medininkai closed\r\nBcc: everyone@example.org"))
        counts = deliver_pending(open_engine(settings.database_url), [rule], settings, AT)
        messages = list(sink.messages)
    assert counts.sent == 1
    [mail] = messages
    assert mail["Bcc"] is None
    assert str(mail["Subject"]) == "[newsmon] desk: Medininkai closed Bcc: everyone@example.org"


def test_a_webhook_that_takes_the_alert_leaves_no_part_of_its_url_in_the_logs(tmp_path, caplog, webhook):
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path)
    url = f"json://hookuser:hookSecretPw@127.0.0.1:{webhook.server_address[1]}/hooks/hookSecretPath"
    rule = AlertRule(name="desk", query="medininkai", channels=[url])
    _queue(settings, rule, _article())
    assert deliver_pending(open_engine(settings.database_url), [rule], settings, AT).sent == 1
    assert len(webhook.received) == 1
    assert "hookSecret" not in caplog.text and "hookuser" not in caplog.text
