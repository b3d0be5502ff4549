"""Alert delivery channels: a JSON-lines file, SMTP mail, and every Apprise URL (Slack, Telegram, Teams, json://)."""

from __future__ import annotations

import json
import os
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from newsmon.settings import Settings


class DeliveryError(RuntimeError):
    """A channel could not take the alert now; the outbox retries it with backoff."""


@dataclass(frozen=True)
class Alert:
    rule: str
    subject: str
    body: str
    message_id: str  # stable per (rule, story) so a mail client folds an accidental resend
    payload: dict[str, Any] = field(default_factory=dict)


def describe_channel(url: str) -> str:
    """The channel URL without credentials, safe to log and show."""
    parts = urlsplit(url)
    if not parts.netloc:
        return f"{parts.scheme}:{parts.path}"  # file:alerts.jsonl, mailto:desk@example.org
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def deliver(url: str, alert: Alert, settings: Settings) -> None:
    """Send one alert to one channel URL; raise DeliveryError (retryable) when the channel refuses."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        _deliver_file(url, alert, settings)
    elif scheme in ("smtp", "smtps") or (scheme == "mailto" and not url.startswith("mailto://")):
        _deliver_smtp(url, alert, settings)
    else:
        _deliver_apprise(url, alert)


def file_channel_path(url: str, settings: Settings) -> Path:
    """`file:///abs/path.jsonl`, or `file:alerts.jsonl` relative to the state directory."""
    parts = urlsplit(url)
    raw = unquote(parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else unquote(parts.path)
    path = Path(raw)
    return path if path.is_absolute() else settings.state_path / path


def _deliver_file(url: str, alert: Alert, settings: Settings) -> None:
    path = file_channel_path(url, settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"rule": alert.rule, "subject": alert.subject, **alert.payload}, ensure_ascii=False)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise DeliveryError(f"cannot append the alert to {path}: {exc}") from exc


def _deliver_smtp(url: str, alert: Alert, settings: Settings) -> None:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "mailto":
        recipients = [r for r in unquote(parts.path).split(",") if r]
        host, port = settings.smtp_host, settings.smtp_port
        username, password = settings.smtp_username, settings.smtp_password
    else:
        recipients = [r for r in query.get("to", "").split(",") if r]
        host, port = parts.hostname or settings.smtp_host, parts.port or settings.smtp_port
        username = unquote(parts.username) if parts.username else settings.smtp_username
        password = unquote(parts.password) if parts.password else settings.smtp_password
    if not recipients:
        raise DeliveryError(f"{describe_channel(url)}: no recipients; add ?to=someone@example.org")
    msg = EmailMessage()
    msg["From"] = query.get("from", settings.mail_from)
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = alert.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = alert.message_id
    msg.set_content(alert.body)
    starttls = query.get("starttls", "yes" if settings.smtp_starttls else "no").lower() in ("1", "yes", "true")
    try:
        smtp_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with smtp_cls(host, port, timeout=settings.smtp_timeout_s) as smtp:
            if starttls:
                smtp.starttls()
            if username and password:
                smtp.login(username, password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP server {host}:{port} did not take the alert: {exc}; check NEWSMON_SMTP_* settings") from exc


def _deliver_apprise(url: str, alert: Alert) -> None:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError(f"{describe_channel(url)} is not a channel URL Apprise understands; see the Apprise URL list")
    if not notifier.notify(body=alert.body, title=alert.subject):
        raise DeliveryError(f"{describe_channel(url)} refused the alert or could not be reached")
