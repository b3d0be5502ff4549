"""A real loopback HTTP server over an in-memory site, for the demo, the tests and the benchmarks.

It answers conditional GETs (ETag / If-Modified-Since) like a well-behaved publisher and records
every request (path, time, headers) so tests can check what the pipeline fetched and when.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    content_type: str | None = "text/html; charset=utf-8"  # None: no Content-Type header at all
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since


@dataclass(frozen=True)
class Request:
    path: str
    at: float
    headers: dict[str, str]
    status: int


LAST_MODIFIED = "Mon, 23 Nov 2026 08:00:00 GMT"


class FixtureServer:
    """Serve `routes` (path → Route, or a callable returning one) on 127.0.0.1 until stop()."""

    def __init__(self, routes: dict[str, Route | Callable[[], Route]] | None = None) -> None:
        self.routes: dict[str, Route | Callable[[], Route]] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: with Nagle on, the body waits for the client's delayed
            # ACK (~10 ms a response on loopback), which made the benchmarks measure the server, not newsmon.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                entry = server.routes.get(path)
                route = entry() if callable(entry) else entry
                if route is None:
                    route = Route(b"<html><body><h1>Not found</h1></body></html>", status=404, conditional=False)
                etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                # RFC 9110 13.2.2: If-Modified-Since is ignored when If-None-Match is present.
                if_none_match = self.headers.get("If-None-Match")
                validated = (if_none_match == etag) if if_none_match is not None else (
                    self.headers.get("If-Modified-Since") == LAST_MODIFIED)
                not_modified = route.conditional and route.status == 200 and validated
                status = 304 if not_modified else route.status
                with server._lock:
                    server.requests.append(Request(path, time.monotonic(), dict(self.headers), status))
                body = b"" if not_modified else route.body
                self.send_response(status)
                if route.content_type is not None:
                    self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                if route.conditional and route.status == 200:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", LAST_MODIFIED)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fetched(self, path_prefix: str = "") -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if r.path.startswith(path_prefix)]
