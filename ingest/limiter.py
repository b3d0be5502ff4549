"""Per-host politeness inside one process: requests in flight, spacing of sends, Crawl-delay and Retry-After."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx


def host_key(url: str | httpx.URL) -> str:
    """The limiter's key for the host of url: scheme, ASCII (punycode) host, port.

    Every caller keys the limiter through this one function: a Crawl-delay read from robots.txt of
    http://xn--bcher-kva.example must slow the pages of http://bücher.example, the same host.
    """
    parsed = httpx.URL(url) if isinstance(url, str) else url
    host = parsed.raw_host.decode("ascii")
    return f"{parsed.scheme}://{host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


@dataclass
class _HostSlot:
    semaphore: threading.BoundedSemaphore
    # Held from the end of the wait until the request has been written, so that sends are spaced by
    # when they actually left (a slow connect cannot bunch the next requests up behind it).
    start_lock: threading.Lock = field(default_factory=threading.Lock)
    last_sent_at: float = float("-inf")
    crawl_delay_s: float = 0.0
    # Set when the host answered 429/503: no request goes to it before this (monotonic) time.
    blocked_until: float = float("-inf")


class SendTicket:
    """One request's claim on its host: marks the send time and lets the next request start its wait."""

    def __init__(self, slot: _HostSlot) -> None:
        self.slot = slot
        self.sent = False

    def mark_sent(self) -> None:
        if not self.sent:
            self.sent = True
            self.slot.last_sent_at = time.monotonic()
            self.slot.start_lock.release()


@dataclass
class HostLimiter:
    """In-process per-host politeness: ≤ `concurrency` requests in flight, sends ≥ `min_interval_s` apart."""

    concurrency: int
    min_interval_s: float
    _slots: dict[str, _HostSlot] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _slot(self, host: str) -> _HostSlot:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = _HostSlot(threading.BoundedSemaphore(max(1, self.concurrency)))
                self._slots[host] = slot
            return slot

    def set_crawl_delay(self, host: str, delay_s: float) -> None:
        """A robots.txt Crawl-delay larger than our own interval wins for that host."""
        self._slot(host).crawl_delay_s = delay_s

    def spacing_s(self, host: str) -> float:
        """How far apart requests to host are sent: our own interval, or its robots.txt Crawl-delay if longer."""
        return max(self.min_interval_s, self._slot(host).crawl_delay_s)

    def block(self, host: str, seconds: float) -> None:
        """The host asked us to wait (429/503 Retry-After): every request to it in this process waits too."""
        slot = self._slot(host)
        slot.blocked_until = max(slot.blocked_until, time.monotonic() + seconds)

    def blocked_for_s(self, host: str) -> float:
        """Seconds left of a host's Retry-After block (0 when not blocked)."""
        return max(0.0, self._slot(host).blocked_until - time.monotonic())

    def acquire(self, host: str) -> SendTicket:
        slot = self._slot(host)
        slot.semaphore.acquire()
        slot.start_lock.acquire()
        wait_s = slot.last_sent_at + self.spacing_s(host) - time.monotonic()
        if wait_s > 0:
            time.sleep(wait_s)
        return SendTicket(slot)

    def release(self, ticket: SendTicket) -> None:
        ticket.mark_sent()  # a request that failed before sending still counts as contact
        ticket.slot.semaphore.release()
