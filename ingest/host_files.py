"""Per-host politeness shared by every process on the machine: a few small lock files per host in a directory.

Each poll task, extraction pool and `newsmon run` has its own HostLimiter, which spaces and caps
requests inside its process only. Two processes can still reach one host at once: Airflow runs several
poll batches in parallel, and the article pages of feeds on different hosts can live on a third host.
These files carry the per-host state across processes:

- `<key>.clock` holds when the last request to the host was sent and until when the host asked everyone
  to wait (Retry-After). A process holds an exclusive `flock` on it from the start of its wait until its
  request has been written, so sends from all processes are spaced as if they came from one.
- `<key>.slot<i>`, one per allowed request in flight: a request holds one of them (flock) until its
  response is read, so the per-host concurrency cap holds across processes too.

flock locks belong to the open file and vanish when the process dies, so a killed worker never leaves a
host locked. Times are wall-clock (time.time) because monotonic clocks of different machines differ; a
wait is never longer than the spacing, so a clock step cannot stall a host.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: politeness then holds per process only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("newsmon.http")

_CLOCK = struct.Struct("<dd")  # last request sent at, blocked until (seconds since the epoch)


def _file_stem(host: str) -> str:
    # The key (scheme://host:port) is hashed: it may hold characters a file name cannot.
    return hashlib.sha256(host.encode("utf-8")).hexdigest()[:24]


@dataclass
class HostClock:
    """The locked clock file of one host, held from the start of a wait until the request is written."""

    fd: int
    last_sent_at: float
    blocked_until: float

    def sent(self) -> None:
        """Record the send time and let the next process (or thread) start its wait."""
        os.pwrite(self.fd, _CLOCK.pack(time.time(), self.blocked_until), 0)
        self.abandon()

    def abandon(self) -> None:
        """Let go without recording a send (closing the file drops the flock)."""
        os.close(self.fd)


class HostFiles:
    """The lock files of every host under `directory` (created on first use)."""

    def __init__(self, directory: Path, concurrency: int) -> None:
        self.directory = directory
        self.concurrency = max(1, concurrency)
        self._next_slot = threading.local()

    @classmethod
    def in_directory(cls, directory: Path, concurrency: int) -> HostFiles | None:
        """HostFiles in `directory`, created if needed; None where file locks or the directory are unavailable."""
        if fcntl is None:
            return None
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("per-host politeness holds within each process only: cannot create %s (%s)", directory, exc)
            return None
        return cls(directory, concurrency)

    def _path(self, host: str, suffix: str) -> Path:
        return self.directory / f"{_file_stem(host)}.{suffix}"

    def _open(self, host: str, suffix: str) -> int:
        return os.open(self._path(host, suffix), os.O_RDWR | os.O_CREAT, 0o644)

    def take_slot(self, host: str) -> int:
        """Hold one of the host's in-flight slots (waiting for one when all are held); returns its fd."""
        fds = []
        try:
            for i in range(self.concurrency):
                fd = self._open(host, f"slot{i}")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    fds.append(fd)
                    continue
                return fd
            # All held: queue on one of them, spread over the slots so waiters do not pile onto slot 0.
            turn = getattr(self._next_slot, "value", os.getpid()) % self.concurrency
            self._next_slot.value = turn + 1
            fd = fds.pop(turn)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return fd
        finally:
            for other in fds:
                os.close(other)

    @staticmethod
    def release_slot(fd: int) -> None:
        os.close(fd)

    def lock_clock(self, host: str) -> HostClock:
        """Take the host's clock file exclusively and read it (released by HostClock.sent)."""
        fd = self._open(host, "clock")
        fcntl.flock(fd, fcntl.LOCK_EX)
        last_sent_at, blocked_until = _read(fd)
        return HostClock(fd, last_sent_at, blocked_until)

    def block(self, host: str, until: float) -> None:
        """Every process leaves the host alone until `until` (a 429/503 Retry-After)."""
        clock = self.lock_clock(host)
        try:
            os.pwrite(clock.fd, _CLOCK.pack(clock.last_sent_at, max(clock.blocked_until, until)), 0)
        finally:
            os.close(clock.fd)

    def blocked_until(self, host: str) -> float:
        """Until when (epoch seconds) some process was asked to leave the host alone; no lock is needed to read."""
        path = self._path(host, "clock")
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return float("-inf")
        try:
            return _read(fd)[1]
        finally:
            os.close(fd)


def _read(fd: int) -> tuple[float, float]:
    data = os.pread(fd, _CLOCK.size, 0)
    if len(data) < _CLOCK.size:  # a new file
        return float("-inf"), float("-inf")
    last_sent_at, blocked_until = _CLOCK.unpack(data)
    return last_sent_at, blocked_until
