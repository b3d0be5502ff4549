"""A real JSON webhook receiver on loopback for the alert tests: what it was sent, with the request headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Hook(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.headers.append(dict(self.headers))  # type: ignore[attr-defined]
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def webhook_receiver(port: int = 0) -> Iterator[ThreadingHTTPServer]:
    """Serve on 127.0.0.1:`port` (0: any free port); `.received` holds each posted document, `.headers` its headers."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Hook)
    server.received = []  # type: ignore[attr-defined]
    server.headers = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
