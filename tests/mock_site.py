"""Canned HTTP answers for SafeClient through httpx.MockTransport: the client's own logic, without sockets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from newsmon.core.settings import load_settings
from newsmon.ingest.http import SafeClient


@dataclass
class Answer:
    """One canned response; `body_read` turns True once the client reads any of the body."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body_read: bool = False


class _Body(httpx.SyncByteStream):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def __iter__(self) -> Iterator[bytes]:
        self.answer.body_read = True
        yield self.answer.body


class Site:
    """Answers by absolute URL (IDN hosts may be written in Unicode); records every request it is sent."""

    def __init__(self, answers: dict[str, Answer] | None = None) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[httpx.Request] = []
        for url, answer in (answers or {}).items():
            self.add(url, answer)

    def add(self, url: str, answer: Answer) -> Answer:
        self.answers[str(httpx.URL(url))] = answer
        return answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get(str(request.url))
        if answer is None:
            return httpx.Response(404, headers={"Content-Type": "text/plain"}, stream=httpx.ByteStream(b"not found"))
        return httpx.Response(answer.status, headers=answer.headers, stream=_Body(answer))

    def sent(self, url: str) -> list[httpx.Request]:
        """The requests the client sent for url."""
        wanted = str(httpx.URL(url))
        return [r for r in self.requests if str(r.url) == wanted]

    def client(self, **knobs: object) -> SafeClient:
        settings: dict[str, object] = {"per_host_min_interval_s": 0.0, **knobs}
        return SafeClient(load_settings(**settings), transport=httpx.MockTransport(self.handle))


def feed(status: int = 200, **headers: str) -> Answer:
    """An RSS answer with extra headers (dashes for underscores: Retry_After= → Retry-After)."""
    body = b"<rss version='2.0'><channel><title>Vilnius desk</title><item><link>http://example.org/a</link></item></channel></rss>"
    return Answer(status, body, {"Content-Type": "application/rss+xml", **_headers(headers)})


def redirect(status: int, location: str | None) -> Answer:
    return Answer(status, b"", {"Location": location} if location is not None else {})


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}

