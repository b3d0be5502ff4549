"""Per-host politeness: requests in flight, spacing of sends, Crawl-delay and Retry-After, across processes too."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx

from newsmon.ingest.host_files import HostClock, HostFiles


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

    def __init__(self, slot: _HostSlot, clock: HostClock | None = None, shared_slot: int | None = None) -> None:
        self.slot = slot
        self.clock = clock  # the host's clock file, held until the send (other processes)
        self.shared_slot = shared_slot  # the host's in-flight slot file, held until release
        self.sent = False

    def mark_sent(self) -> None:
        if not self.sent:
            self.sent = True
            self.slot.last_sent_at = time.monotonic()
            if self.clock is not None:
                self.clock.sent()
            self.slot.start_lock.release()


@dataclass
class HostLimiter:
    """Per-host politeness: ≤ `concurrency` requests in flight, sends ≥ `min_interval_s` apart.

    With `shared` (lock files in the state directory, see host_files.py) both limits and Retry-After blocks
    hold across every process using the same directory; without it, within this process only.
    """

    concurrency: int
    min_interval_s: float
    shared: HostFiles | None = None
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
        """The host asked us to wait (429/503 Retry-After): every request to it waits too (every process, when shared)."""
        slot = self._slot(host)
        slot.blocked_until = max(slot.blocked_until, time.monotonic() + seconds)
        if self.shared is not None:
            self.shared.block(host, time.time() + seconds)

    def blocked_for_s(self, host: str) -> float:
        """Seconds left of a host's Retry-After block (0 when not blocked)."""
        left_s = self._slot(host).blocked_until - time.monotonic()
        if self.shared is not None:
            left_s = max(left_s, self.shared.blocked_until(host) - time.time())
        return max(0.0, left_s)

    def acquire(self, host: str) -> SendTicket:
        slot = self._slot(host)
        with ExitStack() as undo:  # whatever fails or is interrupted on the way gives back what it held
            slot.semaphore.acquire()
            undo.callback(slot.semaphore.release)
            shared_slot = self.shared.take_slot(host) if self.shared is not None else None
            if shared_slot is not None:
                undo.callback(HostFiles.release_slot, shared_slot)
            slot.start_lock.acquire()
            undo.callback(slot.start_lock.release)
            spacing_s = self.spacing_s(host)
            wait_s = slot.last_sent_at + spacing_s - time.monotonic()
            clock = None
            if self.shared is not None and spacing_s > 0:
                clock = self.shared.lock_clock(host)
                undo.callback(clock.abandon)
                # At most one spacing: a wall clock stepped backwards must not stall the host.
                wait_s = max(wait_s, min(spacing_s, clock.last_sent_at + spacing_s - time.time()))
            if wait_s > 0:
                time.sleep(wait_s)
            undo.pop_all()
        return SendTicket(slot, clock, shared_slot)

    def release(self, ticket: SendTicket) -> None:
        ticket.mark_sent()  # a request that failed before sending still counts as contact
        if ticket.shared_slot is not None and self.shared is not None:
            self.shared.release_slot(ticket.shared_slot)
        ticket.slot.semaphore.release()
