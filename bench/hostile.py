"""Loopback feed server with hostile behaviours, and a benchmark that runs SafeClient against each of them.

Run: `.venv/bin/python bench/hostile.py` — prints, per case, the named outcome, the wall time against
the case's deadline and the peak RSS growth of the fetching process (each case runs in a fresh
subprocess so peaks do not mask each other). Tests import `FeedServer` from here.
"""

from __future__ import annotations

import email.utils
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Route:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    honour_conditional: bool = True


@dataclass(frozen=True)
class Hit:
    at: float  # time.monotonic() when the request line arrived
    path: str
    headers: dict[str, str]


_BOMB_CACHE: dict[str, bytes] = {}


def compressed_zeros(encoding: str, size_bytes: int) -> bytes:
    """`size_bytes` of zeros compressed with gzip, deflate or br (cached: built once per process)."""
    key = f"{encoding}:{size_bytes}"
    if key in _BOMB_CACHE:
        return _BOMB_CACHE[key]
    block = b"\0" * (1 << 20)
    if encoding == "br":
        import brotli

        compressor = brotli.Compressor(quality=1)
        parts = [compressor.process(block) for _ in range(size_bytes >> 20)]
        parts.append(compressor.finish())
    else:
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        z = zlib.compressobj(9, zlib.DEFLATED, wbits)
        parts = [z.compress(block) for _ in range(size_bytes >> 20)]
        parts.append(z.flush())
    _BOMB_CACHE[key] = b"".join(parts)
    return _BOMB_CACHE[key]


class FeedServer:
    """A real HTTP server on 127.0.0.1 with static routes (ETag/Last-Modified aware) and hostile handlers."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.handlers: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self.bytes_served = 0
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

            def log_message(self, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits.append(Hit(time.monotonic(), self.path, {k.lower(): v for k, v in self.headers.items()}))
                try:
                    if path in server.handlers:
                        server.handlers[path](self)
                    elif path in server.routes:
                        server._serve_route(self, server.routes[path])
                    elif path.startswith("/hostile/"):
                        HOSTILE[path.removeprefix("/hostile/").split("/")[0]](self)
                    else:
                        server._send(self, 404, b"not found", "text/plain")
                except (BrokenPipeError, ConnectionResetError, KeyError):
                    if not self.wfile.closed:
                        self.close_connection = True

        class _Quiet(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                return  # clients hanging up on hostile responses is the point, not an error

        self._httpd = _Quiet(("127.0.0.1", 0), _Handler)
        self._httpd.feed_server = self  # type: ignore[attr-defined]
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, path: str, body: bytes, **kwargs: object) -> Route:
        route = Route(body=body, **kwargs)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.split("?", 1)[0] == path]

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        server = getattr(h.server, "feed_server", None)
        if server is not None:
            server.bytes_served += len(body)
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)

    def _serve_route(self, h: BaseHTTPRequestHandler, route: Route) -> None:
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.honour_conditional and route.status == 200:
            inm = h.headers.get("If-None-Match")
            ims = h.headers.get("If-Modified-Since")
            if (route.etag and inm == route.etag) or (not inm and route.last_modified and ims == route.last_modified):
                h.send_response(304)
                for key, value in headers.items():
                    h.send_header(key, value)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
        self._send(h, route.status, route.body, route.content_type, headers)


# --- hostile behaviours --------------------------------------------------------------------------

BOMB_BYTES = 256 << 20  # 256 MiB of zeros, well under 1 MB on the wire


def _bomb(encoding: str) -> Handler:
    def handler(h: BaseHTTPRequestHandler) -> None:
        FeedServer._send(h, 200, compressed_zeros(encoding, BOMB_BYTES), "application/rss+xml",
                         {"Content-Encoding": encoding})
    return handler


def _endless(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Connection", "close")
    h.end_headers()
    chunk = b"<item>" + b"x" * 65536 + b"</item>"
    while True:
        h.wfile.write(chunk)


def _drip(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(100000):
        h.wfile.write(b"<")
        h.wfile.flush()
        time.sleep(1.0)


def _drip_headers(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(100000):
        h.wfile.write(f"X-Slow-{i}: y\r\n".encode())
        h.wfile.flush()
        time.sleep(1.0)


def _silent(h: BaseHTTPRequestHandler) -> None:
    time.sleep(3600)


def _loop(h: BaseHTTPRequestHandler) -> None:
    hop = int(h.path.rstrip("/").rsplit("/", 1)[-1] or 0) if h.path.rstrip("/").rsplit("/", 1)[-1].isdigit() else 0
    FeedServer._send(h, 302, b"", "text/plain", {"Location": f"/hostile/loop/{(hop + 1) % 20}"})


def _to_metadata(h: BaseHTTPRequestHandler) -> None:
    FeedServer._send(h, 302, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data/"})


def _to_private(h: BaseHTTPRequestHandler) -> None:
    FeedServer._send(h, 301, b"", "text/plain", {"Location": "http://10.0.0.1/admin"})


def _too_many(h: BaseHTTPRequestHandler) -> None:
    FeedServer._send(h, 429, b"slow down", "text/plain", {"Retry-After": "120"})


def _unavailable(h: BaseHTTPRequestHandler) -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    FeedServer._send(h, 503, b"maintenance", "text/plain", {"Retry-After": when})


def _not_modified(h: BaseHTTPRequestHandler) -> None:
    if h.headers.get("If-None-Match") == '"v1"':
        h.send_response(304)
        h.send_header("ETag", '"v1"')
        h.send_header("Content-Length", "0")
        h.end_headers()
        return
    FeedServer._send(h, 200, b"<rss version='2.0'><channel><title>t</title><item><guid>a</guid><link>http://example.org/a</link></item></channel></rss>",
                     "application/rss+xml", {"ETag": '"v1"'})


def _wrong_type(h: BaseHTTPRequestHandler) -> None:
    FeedServer._send(h, 200, b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, "image/png")


def _huge_declared(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(1 << 40))
    h.end_headers()
    h.wfile.write(b"<rss>")


HOSTILE: dict[str, Handler] = {
    "gzip-bomb": _bomb("gzip"),
    "deflate-bomb": _bomb("deflate"),
    "brotli-bomb": _bomb("br"),
    "endless": _endless,
    "drip": _drip,
    "drip-headers": _drip_headers,
    "silent": _silent,
    "loop": _loop,
    "to-metadata": _to_metadata,
    "to-private": _to_private,
    "429": _too_many,
    "503": _unavailable,
    "304": _not_modified,
    "wrong-type": _wrong_type,
    "huge-declared": _huge_declared,
}

# case name → (path, expected outcome substring)
CASES: dict[str, tuple[str, str]] = {
    "gzip bomb": ("/hostile/gzip-bomb", "decompressed body exceeds"),
    "deflate bomb": ("/hostile/deflate-bomb", "decompressed body exceeds"),
    "brotli bomb": ("/hostile/brotli-bomb", "decompressed body exceeds"),
    "endless body": ("/hostile/endless", "body exceeds the"),
    "huge Content-Length": ("/hostile/huge-declared", "exceeds the"),
    "1 byte/s drip (body)": ("/hostile/drip", "timed out"),
    "1 header/s drip": ("/hostile/drip-headers", "timed out"),
    "silent server": ("/hostile/silent", "timed out"),
    "20-hop redirect loop": ("/hostile/loop/0", "redirects"),
    "redirect to metadata address": ("/hostile/to-metadata", "metadata address"),
    "redirect to private address": ("/hostile/to-private", "private address"),
    "429 + Retry-After": ("/hostile/429", "HTTP 429"),
    "503 + Retry-After date": ("/hostile/503", "HTTP 503"),
    "304 Not Modified": ("/hostile/304", "not_modified"),
    "wrong Content-Type": ("/hostile/wrong-type", "unexpected Content-Type"),
}

# Short deadlines so the deadline cases end quickly; the size caps are the shipped defaults
# (10 MiB body, 30 MiB decompressed, 5 redirects), so the memory figures are what users get.
BENCH_SETTINGS = {
    "allow_loopback": True,
    "connect_timeout_s": 2.0,
    "read_timeout_s": 2.0,
    "total_timeout_s": 4.0,
    "per_host_min_interval_s": 0.0,
}


def run_case(url: str) -> dict[str, object]:
    """Fetch `url` once with BENCH_SETTINGS; returns the named outcome, seconds and peak RSS growth."""
    import resource

    from ingest.http import FetchError, SafeClient
    from newsmon.settings import load_settings

    settings = load_settings(**BENCH_SETTINGS)
    with SafeClient(settings) as client:
        if url.endswith("/304"):
            client.fetch(url, kind="feed")  # learn the ETag first
        rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        try:
            page = client.fetch(url, kind="feed", etag='"v1"' if url.endswith("/304") else None)
            outcome = "not_modified" if page.not_modified else f"HTTP {page.status}, {len(page.body)} bytes"
            retry_after_s = None
        except FetchError as exc:
            outcome = exc.reason + (f" (Retry-After {exc.retry_after_s:.0f} s)" if exc.retry_after_s is not None else "")
            retry_after_s = exc.retry_after_s
        elapsed_s = time.monotonic() - started
        rss_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "outcome": outcome,
        "retry_after_s": retry_after_s,
        "elapsed_s": round(elapsed_s, 2),
        "peak_rss_growth_mb": round((rss_after_kib - rss_before_kib) / 1024, 1),
    }


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return 0
    deadline_s = BENCH_SETTINGS["total_timeout_s"]
    rows = []
    for encoding in ("gzip", "deflate", "br"):
        compressed_zeros(encoding, BOMB_BYTES)  # build before timing, not inside a request
    with FeedServer() as server:
        for name, (path, expected) in CASES.items():
            proc = subprocess.run(
                [sys.executable, __file__, "--case", server.url(path)],
                capture_output=True, text=True, timeout=60, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            if proc.returncode != 0:
                rows.append((name, "CRASH: " + proc.stderr.strip().splitlines()[-1], 0.0, 0.0, False))
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            ok = expected in str(result["outcome"]) and float(result["elapsed_s"]) <= deadline_s + 1
            rows.append((name, str(result["outcome"]), float(result["elapsed_s"]), float(result["peak_rss_growth_mb"]), ok))
    print(f"hostile-server cases (total deadline {deadline_s:.0f} s, pass = named outcome within deadline + 1 s, RSS growth < 100 MB)")
    print(f"{'case':30} {'s':>6} {'peak RSS +MB':>13}  ok  outcome")
    for name, outcome, elapsed_s, rss_mb, ok in rows:
        ok = ok and rss_mb < 100
        print(f"{name:30} {elapsed_s:6.2f} {rss_mb:13.1f}  {'yes' if ok else 'NO ':3} {outcome[:90]}")
    failed = [r for r in rows if not (r[4] and r[3] < 100)]
    print(f"{len(rows) - len(failed)}/{len(rows)} cases ended with their named outcome in time and memory")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

