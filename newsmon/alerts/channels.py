"""Alert delivery channels: a JSON-lines file, SMTP mail, a JSON webhook, and every Apprise URL (Slack, Telegram, Teams)."""

from __future__ import annotations

import logging
import os
import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from newsmon.alerts import render
from newsmon.alerts.message import Message
from newsmon.alerts.notice import Notice
from newsmon.core.channel_urls import SCHEME_RE, describe_channel, url_pieces
from newsmon.core.errors import Unavailable
from newsmon.core.settings import Settings


class DeliveryError(Unavailable):
    """A channel could not take the alert now; the outbox retries it with backoff."""


_HIDDEN = "***"
one_line = render.one_line  # text fit for a mail header: kept here for the callers that import it from channels


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
                    "urllib3.util.retry", "urllib3.response", "httpx", "httpcore", "httpcore.connection",
                    "httpcore.http11")


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


def deliver(url: str, message: Message | Notice, settings: Settings) -> None:
    """Send one message (or an operator's Notice) to one channel URL, rendered as that channel takes it. Every failure, of any kind, is a DeliveryError (retryable) that names
    the channel as describe_channel shows it and carries no part of its secrets."""
    secrets = channel_secrets(url, settings)
    try:
        with _redacted_library_logs(secrets):
            _send(url, message, settings)
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


def _send(url: str, message: Message | Notice, settings: Settings) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        _deliver_file(url, message, settings)
    elif _is_smtp_channel(url):
        _deliver_smtp(url, message, settings)
    elif scheme in ("json", "jsons"):
        _deliver_webhook(url, message, settings)
    else:
        _deliver_apprise(url, message)


def file_channel_path(url: str, settings: Settings) -> Path:
    """`file:///abs/path.jsonl`, or `file:alerts.jsonl` relative to the state directory."""
    parts = urlsplit(url)
    raw = unquote(parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else unquote(parts.path)
    path = Path(raw)
    return path if path.is_absolute() else settings.state_path / path


def _deliver_file(url: str, message: Message | Notice, settings: Settings) -> None:
    path = file_channel_path(url, settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        line = _document_json(message)  # one line: json.dumps escapes every line break inside strings
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise DeliveryError(f"cannot append the alert to {path}: {exc}") from exc


def _deliver_smtp(url: str, message: Message | Notice, settings: Settings) -> None:
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
    msg = _mail(message, query.get("from", settings.mail_from), recipients)
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


def _mail(message: Message | Notice, sender: str, recipients: list[str]) -> EmailMessage:
    """One multipart/alternative mail: the plain-text part first, the HTML part last (the one clients prefer)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message.message_id
    if isinstance(message, Notice):  # an operator's notice is plain text
        msg["Subject"] = render.one_line(message.subject)
        msg.set_content(message.text)
        return msg
    rendered = render.render(message)
    msg["Subject"] = rendered.subject  # one line: render.subject removes every control character
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def _document_json(message: Message | Notice) -> str:
    return message.document_json() if isinstance(message, Notice) else render.document_json(message)


def _deliver_webhook(url: str, message: Message | Notice, settings: Settings) -> None:
    """json://host[:port]/path (jsons:// for https): POST the JSON document, its key also as Idempotency-Key.

    Apprise's json:// would wrap the body in its own envelope; the document keeps that envelope's title, message
    and type, so receivers written for it keep working. `+Name=value` query items become headers, as in Apprise."""
    parts = urlsplit(url)
    target = f"{'https' if parts.scheme.lower() == 'jsons' else 'http'}://{parts.hostname}"
    target += f":{parts.port}" if parts.port else ""
    target += parts.path or "/"
    query = parse_qs(parts.query, keep_blank_values=True)
    headers = {"Idempotency-Key": message.key, "User-Agent": settings.user_agent}
    headers |= {k[1:]: v[-1] for k, v in query.items() if k.startswith("+")}
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    body = _document_json(message).encode("utf-8")
    try:
        response = httpx.post(target, content=body, headers={**headers, "Content-Type": "application/json"},
                              auth=auth, timeout=settings.smtp_timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"the webhook could not be reached: {type(exc).__name__}") from exc
    if not response.is_success:
        raise DeliveryError(f"the webhook answered HTTP {response.status_code}")


def _deliver_apprise(url: str, message: Message | Notice) -> None:
    import apprise  # on first use: most commands never send a chat message (docs/ARCHITECTURE.md)

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("not a channel URL Apprise understands; see the Apprise URL list")
    if isinstance(message, Notice):
        if not notifier.notify(body=message.text, title=render.one_line(message.subject),
                               body_format=apprise.NotifyFormat.TEXT):
            raise DeliveryError("the channel refused the notice or could not be reached")
        return
    fmt = render.chat_format(url)
    body = render.chat(message, fmt)
    # The body's format is declared, so Apprise converts it for the service; publisher text in it is escaped for
    # that format by the templates. Any other scheme gets TEXT, which HTML channels (mail) escape themselves.
    body_format = {"markdown": apprise.NotifyFormat.MARKDOWN, "html": apprise.NotifyFormat.HTML}.get(
        fmt, apprise.NotifyFormat.TEXT)
    if not notifier.notify(body=body, title=render.subject(message), body_format=body_format):
        raise DeliveryError("the channel refused the alert or could not be reached")
