"""A real SMTP server on loopback (aiosmtpd) that keeps the messages it receives: for the demo and tests."""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage


def _free_port() -> int:
    # aiosmtpd's controller connects to its own port to check it started, so port 0 cannot be used.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start with `with SmtpSink() as sink:`; `sink.port`, `sink.messages`. `port`: listen there (a server that
    comes back where it was), else on a free port."""

    def __init__(self, port: int | None = None) -> None:
        # Imported here: only the demo and tests run a sink, and the CLI's start-up need not pay for aiosmtpd.
        from aiosmtpd.controller import Controller

        self._handler = _Keep()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port or _free_port())

    @property
    def messages(self) -> list[EmailMessage]:
        return self._handler.messages

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
