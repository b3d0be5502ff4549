"""Loopback feed server with hostile behaviours, and a benchmark that runs SafeClient against each of them.

Run: `.venv/bin/python bench/hostile.py` — prints, per case, the named outcome, the wall time against
the case's deadline and the peak RSS growth of the fetching process (each case runs in a fresh
subprocess so peaks do not mask each other). Two tables: hostile *servers* (SafeClient alone), then
hostile *documents* (a poll of the feed through poll_feed, or a page fetched and extracted as the
pipeline does: documents built to make the parsers slow, all under the 10 MB body cap). Tests import
`FeedServer` from here.
"""

from __future__ import annotations

import email.utils
import json
import os
import subprocess
import sys
import tempfile
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

# --- hostile documents ---------------------------------------------------------------------------


def _rss(items: str) -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Hostile</title>"
            f"<link>https://hostile.example/</link>{items}</channel></rss>").encode()


def _item(i: int, extra: str = "") -> str:
    return f"<item><title>Story {i}</title><link>https://hostile.example/{i}</link><guid>s{i}</guid>{extra}</item>"


def _attributes(n: int) -> str:
    return " ".join(f'a{i}="x"' for i in range(n))


def _json_feed(items: object, **extra: object) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", **extra, "items": items}).encode()


def _page(body: str) -> bytes:
    text = "".join(f"<p>Paragraph {i}: queues at the Medininkai checkpoint grew again overnight, officials said.</p>"
                   for i in range(8))
    return f"<!doctype html><html><head><title>Hostile page</title></head><body>{body}<article>{text}</article></body></html>".encode()


def _many_attribute_elements(per_element: int, size_bytes: int) -> str:
    element = f"<div {_attributes(per_element)}></div>"
    return element * (size_bytes // len(element))


# name → (kind, builder, expected outcome substring). Builders run once, in the server process.
DOCUMENT_CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "feed: 500k attributes on one element": ("feed", lambda: _rss(f"<item><guid>g</guid><link {_attributes(500_000)}>x</link></item>"),
                                            "refused before parsing"),
    "feed: 1000-attribute elements, 9 MB": ("feed", lambda: _rss(_item(0, _many_attribute_elements(1000, 9_000_000))),
                                           "refused before parsing"),
    "feed: 2.4M empty tags in an item": ("feed", lambda: _rss(_item(0, "<x/>" * 2_300_000)), "refused before parsing"),
    "feed: 1M escaped tags": ("feed", lambda: _rss(_item(0, "<description>" + "&lt;p&gt;" * 1_000_000 + "</description>")),
                              "refused before parsing"),
    "feed: 20k attributes, ill-formed": ("feed", lambda: _rss(f"<item><guid>g</guid><link {_attributes(20_000)}>x</link>"
                                                              "<title>AT&T</title></item>"), "refused before parsing"),
    "feed: 100k items": ("feed", lambda: _rss("".join(_item(i) for i in range(100_000))), "1000 entries"),
    "feed: good items, then a hostile one": ("feed", lambda: _rss("".join(_item(i) for i in range(50))
                                                                  + _item(50, f"<x {_attributes(100_000)}/>")), "50 entries"),
    "feed: malformed links": ("feed", lambda: _rss("<item><guid>a</guid><link>http://[oops/a</link></item>" + _item(1)),
                              "2 entries"),
    "JSON Feed: nested 200k deep": ("feed", lambda: _json_feed([{"id": "1", "x": None}]).replace(
        b'null', b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
    "JSON Feed: 5000-digit id": ("feed", lambda: _json_feed([]).replace(b'"items": []', b'"items": [{"id": ' + b"7" * 5000 + b"}]"),
                                 "invalid JSON"),
    "JSON Feed: bad feed_url, authors 5": ("feed", lambda: _json_feed([{"id": "1", "url": "/a", "authors": 5}],
                                                                      feed_url="http://[oops/", home_page_url="https://hostile.example/"),
                                           "1 entries"),
    "JSON Feed: 100k items": ("feed", lambda: _json_feed([{"id": str(i), "url": f"https://hostile.example/{i}"}
                                                          for i in range(100_000)]), "1000 entries"),
    "page: 40k attributes on one element": ("page", lambda: _page(f"<div {_attributes(40_000)}></div>"), "too many attributes"),
    "page: 500k attributes on one element": ("page", lambda: _page(f"<div {_attributes(500_000)}></div>"), "too many attributes"),
    "page: 900-attribute elements, 7 MB": ("page", lambda: _page(_many_attribute_elements(900, 7_000_000)), "too many attributes"),
    "page: 600k elements": ("page", lambda: _page("<div><span>a</span></div>" * 300_000), "too many elements"),
}


def run_document_case(url: str, kind: str) -> dict[str, object]:
    """Poll `url` as a feed, or fetch and extract it as a page; the named outcome, seconds and peak RSS growth."""
    from datetime import UTC, datetime

    from newsmon.core.records import Feed
    from newsmon.core.settings import load_settings
    from newsmon.ingest.extract import ExtractionSkip, extract_article
    from newsmon.ingest.http import SafeClient
    from newsmon.ingest.poll import poll_feed

    # A state directory of its own: per-host limits and Retry-After blocks are shared through files in the state
    # directory, and one case's 503 + Retry-After must not hold back the cases after it on the same loopback host.
    with (tempfile.TemporaryDirectory(prefix="newsmon-hostile-") as state_dir,
          SafeClient(load_settings(**BENCH_SETTINGS, state_dir=state_dir)) as client):
        rss_before_mb = _memory_mb(reset_peak=True)[0]
        started = time.monotonic()
        if kind == "feed":
            result = poll_feed(client, Feed(id="hostile", url=url, name="hostile"), None, datetime.now(UTC))
            if result.parsed is None:
                outcome = str(result.error)
            else:
                outcome = f"{len(result.parsed.entries)} entries" + "".join(f"; {p}" for p in result.parsed.problems[:1])
        else:
            page = client.fetch(url, kind="page")
            try:
                outcome = f"extracted {len(extract_article(page.body, page.final_url).text)} characters"
            except ExtractionSkip as exc:
                outcome = f"{exc.reason} ({exc.detail})"
        elapsed_s = time.monotonic() - started
        peak_mb = _memory_mb()[1]
    return {"outcome": outcome, "elapsed_s": round(elapsed_s, 2),
            "peak_rss_growth_mb": round(max(peak_mb - rss_before_mb, 0.0), 1), "peak_rss_mb": round(peak_mb, 1)}


# Short deadlines so the deadline cases end quickly; the size caps are the shipped defaults
# (10 MiB body, 30 MiB decompressed, 5 redirects), so the memory figures are what users get.
MAX_RSS_GROWTH_MB = 100
BENCH_SETTINGS = {
    "allow_loopback": True,
    "connect_timeout_s": 2.0,
    "read_timeout_s": 2.0,
    "total_timeout_s": 4.0,
    "per_host_min_interval_s": 0.0,
}


def _memory_mb(*, reset_peak: bool = False) -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB; `reset_peak` starts a new peak (Linux).

    From /proc/self/status where there is one: getrusage's ru_maxrss also counts the parent's RSS at the
    fork before exec, so every case would inherit the benchmark server's peak, and imports' peak.
    """
    if reset_peak:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # "5" resets VmHWM to the current RSS
        except OSError:
            pass
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return float(fields["VmRSS"].split()[0]) / 1024, float(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        import resource

        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak_mb, peak_mb


def run_case(url: str) -> dict[str, object]:
    """Fetch `url` once with BENCH_SETTINGS; returns the named outcome, seconds and peak RSS growth."""
    from newsmon.core.settings import load_settings
    from newsmon.ingest.http import FetchError, SafeClient

    # A state directory of its own: per-host limits and Retry-After blocks are shared through files in the state
    # directory, and one case's 503 + Retry-After must not hold back the cases after it on the same loopback host.
    with (tempfile.TemporaryDirectory(prefix="newsmon-hostile-") as state_dir,
          SafeClient(load_settings(**BENCH_SETTINGS, state_dir=state_dir)) as client):
        if url.endswith("/304"):
            client.fetch(url, kind="feed")  # learn the ETag first
        rss_before_mb = _memory_mb(reset_peak=True)[0]
        started = time.monotonic()
        try:
            page = client.fetch(url, kind="feed", etag='"v1"' if url.endswith("/304") else None)
            outcome = "not_modified" if page.not_modified else f"HTTP {page.status}, {len(page.body)} bytes"
            retry_after_s = None
        except FetchError as exc:
            outcome = exc.reason + (f" (Retry-After {exc.retry_after_s:.0f} s)" if exc.retry_after_s is not None else "")
            retry_after_s = exc.retry_after_s
        elapsed_s = time.monotonic() - started
        peak_mb = _memory_mb()[1]
    return {
        "outcome": outcome,
        "retry_after_s": retry_after_s,
        "elapsed_s": round(elapsed_s, 2),
        "peak_rss_growth_mb": round(max(peak_mb - rss_before_mb, 0.0), 1),
        "peak_rss_mb": round(peak_mb, 1),
    }


def _subprocess(args: list[str]) -> tuple[dict[str, object] | None, str]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        return None, "CRASH: " + (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


Row = tuple[str, str, float, float, dict[str, object], bool]  # name, outcome, s, deadline s, result, outcome ok


def _print_table(title: str, rows: list[Row]) -> list[str]:
    print(title)
    print(f"{'case':50} {'s':>6} {'deadline':>8} {'peak RSS +MB':>13} {'peak RSS MB':>12}  ok  outcome")
    failed = []
    for name, outcome, elapsed_s, deadline_s, result, ok in rows:
        growth_mb, peak_mb = float(result.get("peak_rss_growth_mb", 0.0)), float(result.get("peak_rss_mb", 0.0))
        ok = ok and elapsed_s <= deadline_s + 1 and growth_mb < MAX_RSS_GROWTH_MB
        failed += [] if ok else [name]
        print(f"{name:50} {elapsed_s:6.2f} {deadline_s:8.0f} {growth_mb:13.1f} {peak_mb:12.1f}  {'yes' if ok else 'NO ':3} "
              f"{outcome[:90]}")
    return failed


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "--document":
        print(json.dumps(run_document_case(sys.argv[2], sys.argv[3])))
        return 0
    only = sys.argv[1] if len(sys.argv) == 2 else None  # "servers" or "documents"
    from newsmon.app.stages.poll import PAGE_PROCESSING_CPU_S
    from newsmon.ingest.feeds import FEED_PARSE_CPU_S

    deadline_s = BENCH_SETTINGS["total_timeout_s"]
    server_rows: list[Row] = []
    document_rows: list[Row] = []
    if only != "documents":
        for encoding in ("gzip", "deflate", "br"):
            compressed_zeros(encoding, BOMB_BYTES)  # build before timing, not inside a request
    with FeedServer() as server:
        for name, (path, expected) in CASES.items() if only != "documents" else ():
            result, crash = _subprocess(["--case", server.url(path)])
            if result is None:
                server_rows.append((name, crash, 0.0, deadline_s, {}, False))
                continue
            server_rows.append((name, str(result["outcome"]), float(result["elapsed_s"]), deadline_s, result,
                                expected in str(result["outcome"])))
        for index, (name, (kind, build, expected)) in enumerate(DOCUMENT_CASES.items() if only != "servers" else ()):
            body = build()
            path = f"/document/{index}"
            server.add(path, body, content_type="application/rss+xml" if kind == "feed" else "text/html; charset=utf-8")
            # The fetch has its total deadline; then parsing has its CPU deadline (feeds) or the page's.
            case_deadline_s = deadline_s + (FEED_PARSE_CPU_S if kind == "feed" else PAGE_PROCESSING_CPU_S)
            result, crash = _subprocess(["--document", server.url(path), kind])
            label = f"{name} ({len(body) / 1e6:.1f} MB)"
            if result is None:
                document_rows.append((label, crash, 0.0, case_deadline_s, {}, False))
                continue
            document_rows.append((label, str(result["outcome"]), float(result["elapsed_s"]), case_deadline_s, result,
                                  expected in str(result["outcome"])))
    failed: list[str] = []
    if server_rows:
        failed += _print_table(f"hostile-server cases (total deadline {deadline_s:.0f} s, shipped size caps; pass = named "
                               f"outcome within deadline + 1 s, RSS growth < {MAX_RSS_GROWTH_MB} MB)", server_rows)
    if document_rows:
        if server_rows:
            print()
        failed += _print_table(f"hostile-document cases (fetch deadline {deadline_s:.0f} s + parse deadline: feeds "
                               f"{FEED_PARSE_CPU_S:g} s CPU, pages {PAGE_PROCESSING_CPU_S:g} s CPU)", document_rows)
    total = len(server_rows) + len(document_rows)
    print(f"{total - len(failed)}/{total} cases ended with their named outcome in time and memory")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

