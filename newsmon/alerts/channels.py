"""Alert delivery channels: a JSON-lines file, SMTP mail, and every Apprise URL (Slack, Telegram, Teams, json://)."""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from newsmon.core.channel_urls import SCHEME_RE, describe_channel, url_pieces
from newsmon.core.errors import Unavailable
from newsmon.core.settings import Settings


class DeliveryError(Unavailable):
    """A channel could not take the alert now; the outbox retries it with backoff."""


@dataclass(frozen=True)
class Alert:
    rule: str
    subject: str
    body: str
    message_id: str  # stable per (rule, story) so a mail client folds an accidental resend
    payload: dict[str, Any] = field(default_factory=dict)


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_HIDDEN = "***"


def one_line(text: str) -> str:
    """Text fit for a mail header or a title: line breaks and other control characters become single spaces."""
    return " ".join(_CONTROL_RE.sub(" ", text).split())


def redact(text: str, secrets: set[str]) -> str:
    """`text` (an exception message, a library's log line) with every secret replaced, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def channel_secrets(url: str, settings: Settings) -> set[str]:
    """What must never be shown for this channel: the URL's pieces, and the settings' SMTP login if it uses it."""
    extra = {s for s in (settings.smtp_username, settings.smtp_password) if s and _is_smtp_channel(url)}
    userinfo = re.match(r"[^:]*://([^/?#]*)@", url)
    if userinfo:  # a password of any length is hidden, even one too short to be a useful piece
        extra |= {unquote(p) for p in userinfo.group(1).split(":", 1) if p}
    return url_pieces(url) | extra


class _RedactLogs(logging.Filter):
    """Scrubs one channel's secrets from the records of the libraries that send it (Apprise logs request URLs)."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed log call: keep its template, never its arguments
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = record.exc_text = None
        record.msg, record.args = redact(message, self.secrets), None
        return True


# The loggers that see channel URLs while sending. Named in full because a logger's filter only sees records
# created on that very logger, and urllib3's may not exist yet the first time Apprise is imported.
_LIBRARY_LOGGERS = ("apprise", "requests", "urllib3", "urllib3.connectionpool", "urllib3.connection",
                    "urllib3.util.retry", "urllib3.response")


@contextmanager
def _redacted_library_logs(secrets: set[str]) -> Iterator[None]:
    prefixes = tuple(n + "." for n in _LIBRARY_LOGGERS)
    names = {*_LIBRARY_LOGGERS, *(n for n in list(logging.root.manager.loggerDict) if n.startswith(prefixes))}
    loggers = {logging.getLogger(n) for n in names}
    log_filter = _RedactLogs(secrets)
    for logger in loggers:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(log_filter)


def deliver(url: str, alert: Alert, settings: Settings) -> None:
    """Send one alert to one channel URL. Every failure, of any kind, is a DeliveryError (retryable) that names
    the channel as describe_channel shows it and carries no part of its secrets."""
    secrets = channel_secrets(url, settings)
    try:
        with _redacted_library_logs(secrets):
            _send(url, alert, settings)
    except Exception as exc:  # whatever a channel raises must reach the outbox's retry and give-up accounting
        reason = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        # `from None`: the original exception's text, which may quote the URL, stays out of every traceback.
        raise DeliveryError(f"{describe_channel(url)}: {redact(reason, secrets)}") from None


def _is_smtp_channel(url: str) -> bool:
    """smtp://, smtps:// and mailto:addr go through our SMTP client; Apprise's own mailto:// does not."""
    match = SCHEME_RE.match(url)
    if match is None:
        return False
    scheme, rest = match.group(1).lower(), url[match.end():]
    return scheme in ("smtp", "smtps") or (scheme == "mailto" and not rest.startswith("//"))


def _send(url: str, alert: Alert, settings: Settings) -> None:
    if urlsplit(url).scheme.lower() == "file":
        _deliver_file(url, alert, settings)
    elif _is_smtp_channel(url):
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
        raise DeliveryError("no recipients; add ?to=someone@example.org")
    msg = EmailMessage()
    msg["From"] = query.get("from", settings.mail_from)
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = one_line(alert.subject)
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
        # Host and port of a mailto: channel come from the settings; those of an smtp:// URL are part of the channel.
        server = f"SMTP server {host}:{port}" if parts.scheme == "mailto" else "the SMTP server"
        raise DeliveryError(f"{server} did not take the alert: {type(exc).__name__}: {exc}; "
                            "check the channel URL and the NEWSMON_SMTP_* settings") from exc


def _deliver_apprise(url: str, alert: Alert) -> None:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("not a channel URL Apprise understands; see the Apprise URL list")
    # body_format=TEXT: the body is publisher text, so HTML channels (mail) get it escaped, never as live markup.
    if not notifier.notify(body=alert.body, title=one_line(alert.subject), body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError("the channel refused the alert or could not be reached")
