"""Safe, polite HTTP client for feeds, robots.txt and article pages (httpx with hard limits)."""

from __future__ import annotations

import concurrent.futures
import contextvars
import email.utils
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import brotli
import httpcore
import httpx

from newsmon.core.outcomes import FetchFailure
from newsmon.core.records import Page
from newsmon.ingest.fetch_errors import FetchError, TargetRefused
from newsmon.ingest.host_files import HostFiles
from newsmon.ingest.limiter import HostLimiter, SendTicket, host_key
from newsmon.ingest.robots import RobotsCache

Kind = Literal["page", "feed", "robots"]

RAW_CHUNK_BYTES = 16 * 1024
# Decompressed output is produced in slices no bigger than this, so a bomb never materialises at once.
DECODE_SLICE_BYTES = 64 * 1024
# Retry-After values beyond a day are treated as a day: a feed must come back eventually.
MAX_RETRY_AFTER_S = 24 * 3600.0
# Cloud metadata endpoints that are not covered by is_private/is_link_local on every platform
# (168.63.129.16 is Azure's host endpoint: a public-looking address every Azure VM reaches).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192", "168.63.129.16")
)
# Well-known NAT64 prefix: a DNS64 resolver maps IPv4-only hosts into it and the gateway forwards to the
# IPv4 address in the last 32 bits, so such an address is judged by that IPv4 address.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# IPv6 ranges refused whatever the settings, judged the same on every Python version (whose is_private
# and is_reserved tables differ): no news site is served from them and each can lead somewhere internal.
NEVER_FETCHED_IPV6 = (
    (ipaddress.ip_network("::/96"), "IPv4-compatible address"),  # deprecated; :: and ::1 are handled apart
    (ipaddress.ip_network("::ffff:0:0:0/96"), "IPv4-translated address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64 address"),  # where the IPv4 part sits is local
    (ipaddress.ip_network("2001::/32"), "Teredo tunnel address"),  # relayed to an obfuscated client address
    (ipaddress.ip_network("100::/64"), "discard-only address"),
    (ipaddress.ip_network("2001:db8::/32"), "documentation address"),
)
SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still routed inside some networks
# Connections our pool keeps at most; a fetch waits for a free one for at most the connect timeout.
POOL_MAX_CONNECTIONS = 100
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Statuses that speak for the whole host: after one, the rest of this run leaves the host alone.
HOST_BACKOFF_STATUSES = frozenset({429, 503})
DEFAULT_HOST_BACKOFF_S = 60.0
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# Content types that can never be a feed or an article page: refused before the body is read.
# application/octet-stream is not among them: misconfigured servers and object stores label real pages and
# feeds so, and the bytes decide instead (ingest/extract_input.py sniffs them; the feed parser reads them).
NEVER_TEXT_PREFIXES = ("image/", "audio/", "video/", "font/")
NEVER_TEXT_TYPES = frozenset({"application/pdf", "application/zip", "application/gzip", "application/x-gzip"})


class AddressRefused(Exception):
    """Raised inside the connection layer when a host resolves only to addresses we must not contact."""


class _ResolveError(httpcore.ConnectError):
    """The host name did not resolve (httpx reports it as a ConnectError; the category says dns)."""


@dataclass(frozen=True)
class FetchResult:
    """A Page plus the redirect hops that led to it (status, target URL), for permanent-redirect handling."""

    page: Page
    redirects: tuple[tuple[int, str], ...] = ()

    @property
    def permanent_url(self) -> str | None:
        """The new URL when every hop was a permanent redirect (301/308), else None."""
        if self.redirects and all(status in PERMANENT_REDIRECTS for status, _ in self.redirects):
            return self.redirects[-1][1]
        return None


# Absolute monotonic deadline of the fetch running in this thread; socket reads never wait past it.
_deadline_at: contextvars.ContextVar[float | None] = contextvars.ContextVar("newsmon_deadline_at", default=None)


def address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool, allow_private: bool) -> str | None:
    """Why `ip` must not be contacted (None when it may be)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            return _ipv6_refusal(ip, allow_loopback=allow_loopback, allow_private=allow_private)
    return _ip_refusal(ip, allow_loopback=allow_loopback, allow_private=allow_private)


def _ipv6_refusal(ip: ipaddress.IPv6Address, *, allow_loopback: bool, allow_private: bool) -> str | None:
    embedded, form = _embedded_ipv4(ip)
    if embedded is not None:
        # The packet ends up at the IPv4 address inside (via a 6to4 relay or a NAT64 gateway).
        refusal = _ip_refusal(embedded, allow_loopback=allow_loopback, allow_private=allow_private)
        return f"{refusal} inside {form} address {ip}" if refusal else None
    if int(ip) > 1:  # :: and ::1 are the unspecified and loopback addresses, judged below
        for network, what in NEVER_FETCHED_IPV6:
            if ip in network:
                return f"non-public {what} {ip}"
    if ip in SITE_LOCAL:
        return None if allow_private else f"site-local address {ip}"
    return _ip_refusal(ip, allow_loopback=allow_loopback, allow_private=allow_private)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    return None, ""


def _ip_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool, allow_private: bool) -> str | None:
    if ip in METADATA_ADDRESSES:
        return f"cloud metadata address {ip}"
    if ip.is_loopback:
        return None if allow_loopback or allow_private else f"loopback address {ip}"
    if ip.is_link_local:
        return None if allow_private else f"link-local address {ip}"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return f"non-public address {ip}"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10")):
        return None if allow_private else f"private address {ip}"
    return None


class _DeadlineStream(httpcore.NetworkStream):
    """Wraps a socket stream so every read/write is bounded by the current fetch's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    @staticmethod
    def _bounded(timeout: float | None) -> float | None:
        deadline_at = _deadline_at.get()
        if deadline_at is None:
            return timeout
        remaining_s = deadline_at - time.monotonic()
        if remaining_s <= 0:
            raise httpcore.ReadTimeout("total deadline exceeded")
        return remaining_s if timeout is None else min(timeout, remaining_s)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._bounded(timeout))
        ticket = _ticket.get()
        if ticket is not None:
            ticket.mark_sent()

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves the host itself and connects only to allowed addresses (no DNS-rebinding gap)."""

    def __init__(self, *, allow_loopback: bool, allow_private: bool) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_loopback = allow_loopback
        self._allow_private = allow_private
        # getaddrinfo has no timeout of its own; resolving in a worker lets the connect deadline apply.
        self._resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="newsmon-dns")

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[Any]:
        try:
            future = self._resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        except RuntimeError as exc:  # the client was closed before this fetch began to resolve
            raise httpcore.ConnectError(f"cannot resolve {host}: the HTTP client was closed") from exc
        try:
            return future.result(timeout=_DeadlineStream._bounded(timeout))
        except concurrent.futures.TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except concurrent.futures.CancelledError as exc:  # the client was closed while this fetch was resolving
            raise httpcore.ConnectError(f"resolving {host} was cancelled: the HTTP client was closed") from exc
        except (socket.gaierror, UnicodeError) as exc:
            raise _ResolveError(f"cannot resolve {host}: {exc}") from exc

    def close(self) -> None:
        self._resolver.shutdown(wait=False, cancel_futures=True)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        infos = self._resolve(host, port, timeout)
        refusals: list[str] = []
        last_error: Exception | None = None
        for _family, _type, _proto, _canon, sockaddr in infos:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            refusal = address_refusal(ip, allow_loopback=self._allow_loopback, allow_private=self._allow_private)
            if refusal:
                refusals.append(refusal)
                continue
            try:
                stream = self._inner.connect_tcp(
                    str(ip), port, timeout=_DeadlineStream._bounded(timeout),
                    local_address=local_address, socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream)
        if last_error is not None:
            raise last_error
        if not refusals:
            raise AddressRefused(f"{host} resolves to no address")
        literal = any(host == str(a[4][0]) for a in infos)
        raise AddressRefused(f"{refusals[0]}" if literal else f"{host} resolves to {refusals[0]}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise AddressRefused("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def tls_context(verify: bool | ssl.SSLContext = True) -> ssl.SSLContext:
    """The SSL context of our connections: certifi's roots (the environment is not consulted), or the given one."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose network backend is _GuardedBackend."""

    def __init__(self, *, allow_loopback: bool, allow_private: bool, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx has no public hook for the network backend: the pool it built is replaced by one that
        # connects through ours, with the same SSL context.
        self._backend = _GuardedBackend(allow_loopback=allow_loopback, allow_private=allow_private)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=POOL_MAX_CONNECTIONS,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=self._backend,
        )

    def close(self) -> None:
        super().close()
        self._backend.close()


# The ticket of the request running in this thread; the socket wrapper marks it on the first write.
_ticket: contextvars.ContextVar[SendTicket | None] = contextvars.ContextVar("newsmon_send_ticket", default=None)


def parse_retry_after(value: str | None, *, now_at: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped at a day; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta_s = (when - (now_at or datetime.now(UTC))).total_seconds()
    return min(max(delta_s, 0.0), MAX_RETRY_AFTER_S)


class _Decoder:
    """Content-Encoding decoder whose output never grows past the decompressed-size cap."""

    def __init__(self, encoding: str, url: str, max_out_bytes: int) -> None:
        self.url = url
        self.max_out_bytes = max_out_bytes
        self.out_bytes = 0
        self.encodings = [e.strip().lower() for e in encoding.split(",") if e.strip() and e.strip().lower() != "identity"]
        if len(self.encodings) > 1:
            raise FetchError(url, f"stacked Content-Encoding {encoding!r} is not supported", category=FetchFailure.DECOMPRESSION)
        self.kind = self.encodings[0] if self.encodings else None
        if self.kind in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.kind == "deflate":
            self._z = zlib.decompressobj()
            self._deflate_raw_tried = False
        elif self.kind == "br":
            self._br = brotli.Decompressor()
        elif self.kind is not None:
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}", category=FetchFailure.DECOMPRESSION)

    def _count(self, data: bytes) -> bytes:
        self.out_bytes += len(data)
        if self.out_bytes > self.max_out_bytes:
            raise FetchError(self.url, f"decompressed body exceeds {self.max_out_bytes} bytes (compression bomb?)",
                             category=FetchFailure.TOO_LARGE)
        return data

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if self.kind is None:
            yield self._count(chunk)
            return
        try:
            if self.kind == "br":
                yield self._count(self._br.process(chunk, output_buffer_limit=DECODE_SLICE_BYTES))
                while not self._br.can_accept_more_data():
                    yield self._count(self._br.process(b"", output_buffer_limit=DECODE_SLICE_BYTES))
                return
            data = chunk
            while data:
                try:
                    out = self._z.decompress(data, DECODE_SLICE_BYTES)
                except zlib.error:
                    # Some servers send raw deflate (no zlib header) under "deflate".
                    if self.kind == "deflate" and not self._deflate_raw_tried and self.out_bytes == 0:
                        self._deflate_raw_tried = True
                        self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                        out = self._z.decompress(data, DECODE_SLICE_BYTES)
                    else:
                        raise
                yield self._count(out)
                data = self._z.unconsumed_tail
                if self._z.eof:
                    break
        except (zlib.error, brotli.error) as exc:
            raise FetchError(self.url, f"corrupt {self.kind} body: {exc}", category=FetchFailure.DECOMPRESSION) from exc


def _network_failure(exc: httpx.HTTPError) -> FetchFailure:
    """dns, tls, connect or network for an httpx error that is not a timeout, from its chain of causes."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _ResolveError):
            return FetchFailure.DNS
        if isinstance(cause, ssl.SSLError):
            return FetchFailure.TLS
        cause = cause.__cause__ or cause.__context__
    return FetchFailure.CONNECT if isinstance(exc, httpx.ConnectError) else FetchFailure.NETWORK


class SafeClient:
    """The one HTTP client of newsmon: hard caps, refused private targets, per-host politeness, robots.txt."""

    def __init__(self, settings: Any, *, transport: httpx.BaseTransport | None = None,
                 verify: bool | ssl.SSLContext = True) -> None:
        """`transport` replaces the guarded network layer (address checks, deadlines on sockets, TLS with
        `verify`): tests give an `httpx.MockTransport` to exercise the client's own logic without sockets."""
        self.settings = settings
        s = settings
        self.user_agent: str = getattr(s, "user_agent", "newsmon")
        self.connect_timeout_s = float(getattr(s, "connect_timeout_s", 10.0))
        self.read_timeout_s = float(getattr(s, "read_timeout_s", 20.0))
        self.total_timeout_s = float(getattr(s, "total_timeout_s", 60.0))
        self.max_body_bytes = int(getattr(s, "max_body_bytes", 10 * 1024 * 1024))
        self.max_decompressed_bytes = int(getattr(s, "max_decompressed_bytes", 30 * 1024 * 1024))
        self.max_redirects = int(getattr(s, "max_redirects", 5))
        self.respect_robots = bool(getattr(s, "respect_robots", True))
        # A host-wide block never outlasts a run by much: the per-feed schedule carries the long wait.
        self.max_host_block_s = float(getattr(s, "max_host_block_s", 3600.0))
        concurrency = int(getattr(s, "per_host_concurrency", 2))
        state_path = getattr(s, "state_path", None)
        # Lock files in the state directory make politeness hold across poll tasks and processes; a given
        # transport is not the network (tests), so its hosts are nobody else's business.
        shared = HostFiles.in_directory(state_path / "hosts", concurrency) if state_path and transport is None else None
        self.limiter = HostLimiter(
            concurrency=concurrency,
            min_interval_s=float(getattr(s, "per_host_min_interval_s", 1.0)),
            shared=shared,
        )
        if transport is None:
            transport = _GuardedTransport(
                allow_loopback=bool(getattr(s, "allow_loopback", False)),
                allow_private=bool(getattr(s, "allow_private_addresses", False)),
                ssl_context=tls_context(verify),
            )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=self._timeouts(),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        )
        self.robots = RobotsCache(self._fetch_robots, self.limiter, self.user_agent)

    def _timeouts(self, *, deadline_at: float | None = None) -> httpx.Timeout:
        """Socket timeouts, and the wait for a free connection of our pool: at most the connect timeout, and
        never past the fetch's total deadline (which the socket wrapper enforces on every read and write)."""
        pool_s = self.connect_timeout_s
        if deadline_at is not None:
            pool_s = max(0.0, min(pool_s, deadline_at - time.monotonic()))
        return httpx.Timeout(connect=self.connect_timeout_s, read=self.read_timeout_s, write=self.read_timeout_s,
                             pool=pool_s)

    def __enter__(self) -> SafeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None, kind: Kind = "page",
              user_agent: str | None = None) -> Page:
        """Fetch `url` within every cap; 304 → Page(not_modified=True). Raises FetchError otherwise.

        `user_agent` replaces the client's User-Agent for this fetch only (a feed's configured override).
        """
        return self.fetch_detailed(url, etag=etag, last_modified=last_modified, kind=kind, user_agent=user_agent).page

    def _fetch_robots(self, url: str) -> Page:
        return self.fetch(url, kind="robots")

    def fetch_detailed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, kind: Kind = "page",
        user_agent: str | None = None,
    ) -> FetchResult:
        """Like fetch, plus the redirect chain (poll_feed uses it to follow permanent moves)."""
        deadline_at = time.monotonic() + self.total_timeout_s
        outer_at = _deadline_at.get()
        # A nested fetch (robots.txt for a page) spends the outer fetch's budget, never extends it.
        token = _deadline_at.set(deadline_at if outer_at is None else min(deadline_at, outer_at))
        try:
            return self._fetch(url, etag=etag, last_modified=last_modified, kind=kind, user_agent=user_agent)
        finally:
            _deadline_at.reset(token)

    def _check_url(self, url: str, original: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(original, f"invalid URL {url!r}: {exc}", category=FetchFailure.INVALID_URL) from exc
        if parsed.scheme not in ("http", "https"):
            raise FetchError(original, f"scheme {parsed.scheme or 'none'!r} refused: only http and https are fetched",
                             category=FetchFailure.INVALID_URL)
        if not parsed.host:
            raise FetchError(original, f"URL {url!r} has no host", category=FetchFailure.INVALID_URL)
        if parsed.userinfo:
            raise FetchError(original, "URLs with embedded credentials are refused", category=FetchFailure.INVALID_URL)
        return parsed

    def _fetch(self, url: str, *, etag: str | None, last_modified: str | None, kind: Kind,
               user_agent: str | None = None) -> FetchResult:
        redirects: list[tuple[int, str]] = []
        current = url
        visited: set[str] = set()
        while True:
            target = self._check_url(current, url)
            if kind == "page" and self.respect_robots:
                allowed, why, temporary = self.robots.check(str(target))
                if not allowed:
                    # An unreachable robots.txt is a "not now", so the pipeline retries the page later.
                    category = FetchFailure.ROBOTS_UNREACHABLE if temporary else FetchFailure.ROBOTS_DISALLOWED
                    raise FetchError(current, f"disallowed by robots.txt ({why})", retryable=temporary, category=category)
            headers: dict[str, str] = {}
            if kind == "feed":
                headers["Accept"] = (
                    "application/rss+xml, application/atom+xml, application/feed+json, "
                    "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
                )
            elif kind == "page":
                headers["Accept"] = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
            # Sent on every hop: a feed behind a temporary redirect is validated by the final server.
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            if user_agent:
                headers["User-Agent"] = user_agent  # request headers win over the client's default
            status, location, page = self._one_request(target, headers, kind, original=url)
            if status in REDIRECTS:
                if location is None:
                    raise FetchError(url, f"HTTP {status} redirect without a Location header", status=status,
                                     category=FetchFailure.BAD_REDIRECT)
                next_url = str(target.join(location))
                if len(redirects) >= self.max_redirects:
                    raise FetchError(url, f"more than {self.max_redirects} redirects (last to {next_url})", status=status,
                                     category=FetchFailure.TOO_MANY_REDIRECTS)
                if next_url in visited or next_url == str(target):
                    raise FetchError(url, f"redirect loop at {next_url}", status=status, category=FetchFailure.REDIRECT_LOOP)
                visited.add(str(target))
                redirects.append((status, next_url))
                current = next_url
                continue
            assert page is not None
            return FetchResult(page=page, redirects=tuple(redirects))

    def _one_request(
        self, target: httpx.URL, headers: dict[str, str], kind: Kind, *, original: str
    ) -> tuple[int, str | None, Page | None]:
        host = host_key(target)
        blocked_s = self.limiter.blocked_for_s(host)
        if blocked_s > 0:
            # Another feed or page on this host just got a 429/503: asking again now would be hammering.
            raise FetchError(original, f"{target.host} asked us to wait (Retry-After): {blocked_s:.0f} s left, not sent",
                             retryable=True, retry_after_s=blocked_s, category=FetchFailure.HOST_BACKOFF)
        ticket = self.limiter.acquire(host)
        ticket_token = _ticket.set(ticket)
        try:
            timeout = self._timeouts(deadline_at=_deadline_at.get())
            request = self._client.build_request("GET", target, headers=headers, timeout=timeout)
            try:
                response = self._client.send(request, stream=True)
            except AddressRefused as exc:
                why = str(exc)
                if "metadata" in why or "non-public" in why or "unix" in why:
                    hint = "never fetched"
                else:
                    knob = "NEWSMON_ALLOW_LOOPBACK" if "loopback" in why else "NEWSMON_ALLOW_PRIVATE_ADDRESSES"
                    hint = f"allowed only with {knob}=true"
                raise TargetRefused(original, f"refused target: {why} ({hint})") from exc
            except httpx.TimeoutException as exc:
                raise FetchError(original, self._timeout_reason(exc, target.host or ""), retryable=True,
                                 category=FetchFailure.TIMEOUT) from exc
            except httpx.HTTPError as exc:
                raise FetchError(original, f"network error talking to {target.host}: {exc}", retryable=True,
                                 category=_network_failure(exc)) from exc
            try:
                return self._read_response(response, target, kind, original=original)
            except FetchError as exc:
                if exc.status in HOST_BACKOFF_STATUSES:
                    self.limiter.block(host, min(exc.retry_after_s or DEFAULT_HOST_BACKOFF_S, self.max_host_block_s))
                raise
            finally:
                response.close()
        finally:
            _ticket.reset(ticket_token)
            self.limiter.release(ticket)

    def _timeout_reason(self, exc: httpx.TimeoutException, host: str) -> str:
        deadline_at = _deadline_at.get()
        if deadline_at is not None and time.monotonic() >= deadline_at - 0.05:
            return f"timed out: total deadline of {self.total_timeout_s:g} s exceeded talking to {host}"
        if isinstance(exc, httpx.PoolTimeout):
            return f"timed out: no free connection in newsmon's pool within {self.connect_timeout_s:g} s"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"timed out: no connection to {host} within {self.connect_timeout_s:g} s"
        return f"timed out: {host} sent nothing for {self.read_timeout_s:g} s"

    def _read_response(
        self, response: httpx.Response, target: httpx.URL, kind: Kind, *, original: str
    ) -> tuple[int, str | None, Page | None]:
        status = response.status_code
        if status in REDIRECTS:
            return status, response.headers.get("location"), None
        fetched_at = datetime.now(UTC)
        if status == 304:
            page = Page(url=original, final_url=str(target), status=304,
                        headers={k.lower(): v for k, v in response.headers.items()},
                        body=b"", fetched_at=fetched_at, not_modified=True)
            return status, None, page
        if not 200 <= status < 300:
            retry_after_s = parse_retry_after(response.headers.get("retry-after"))
            raise FetchError(
                original,
                f"HTTP {status} {response.reason_phrase or ''}".strip() + f" from {target}",
                retryable=status in RETRYABLE_STATUSES,
                status=status,
                retry_after_s=retry_after_s,
                category=FetchFailure.for_status(status),
            )
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "robots" and (content_type.startswith(NEVER_TEXT_PREFIXES) or content_type in NEVER_TEXT_TYPES):
            raise FetchError(original, f"unexpected Content-Type {content_type!r} for a {kind}", status=status,
                             category=FetchFailure.BAD_CONTENT_TYPE)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise FetchError(original, f"body of {declared} bytes exceeds the {self.max_body_bytes}-byte cap", status=status,
                             category=FetchFailure.TOO_LARGE)
        decoder = _Decoder(response.headers.get("content-encoding", ""), original, self.max_decompressed_bytes)
        parts: list[bytes] = []
        raw_bytes = 0
        try:
            for chunk in response.iter_raw(RAW_CHUNK_BYTES):
                raw_bytes += len(chunk)
                if raw_bytes > self.max_body_bytes:
                    raise FetchError(original, f"body exceeds the {self.max_body_bytes}-byte cap", status=status,
                                     category=FetchFailure.TOO_LARGE)
                parts.extend(decoder.feed(chunk))
        except httpx.TimeoutException as exc:
            raise FetchError(original, self._timeout_reason(exc, target.host or "") + " while reading the body",
                             retryable=True, status=status, category=FetchFailure.TIMEOUT) from exc
        except httpx.HTTPError as exc:
            raise FetchError(original, f"connection broke while reading the body: {exc}", retryable=True, status=status,
                             category=FetchFailure.NETWORK) from exc
        headers = {k.lower(): v for k, v in response.headers.items()}
        page = Page(url=original, final_url=str(target), status=status, headers=headers,
                    body=b"".join(parts), fetched_at=fetched_at)
        return status, None, page
