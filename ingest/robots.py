"""robots.txt per host, fetched with the fetch function it is given, parsed with protego and cached (RFC 9309 rules)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from newsmon.core.records import Page
from newsmon.ingest.fetch_errors import FetchError, TargetRefused
from newsmon.ingest.limiter import HostLimiter, host_key

# RFC 9309: crawlers should not use a cached copy for more than 24 hours.
ROBOTS_TTL_S = 24 * 3600.0
# After a 5xx or network failure robots.txt is "unreachable": treat the host as disallowed, retry soon.
UNREACHABLE_TTL_S = 600.0
# RFC 9309 asks parsers to handle at least 500 KiB; anything longer is cut there.
MAX_ROBOTS_BYTES = 500 * 1024
# A Crawl-delay above this is capped: a hostile robots.txt must not stall a whole run.
MAX_CRAWL_DELAY_S = 30.0


@dataclass(frozen=True)
class _Entry:
    parser: Protego | None  # None = allow everything (no robots.txt)
    disallow_all_reason: str | None
    expires_at: float


class RobotsCache:
    """Answers `check(url)` for `user_agent`, fetching each host's robots.txt once per TTL.

    `fetch(url)` fetches one robots.txt (raising FetchError); a Crawl-delay it states goes to `limiter`.
    """

    def __init__(self, fetch: Callable[[str], Page], limiter: HostLimiter, user_agent: str, *,
                 ttl_s: float = ROBOTS_TTL_S) -> None:
        self.fetch = fetch
        self.limiter = limiter
        self.user_agent = user_agent
        self.ttl_s = ttl_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    @property
    def agent(self) -> str:
        # Match robots groups on the product token ("newsmon"), as RFC 9309 says.
        return self.user_agent.split("/", 1)[0].split()[0] or "*"

    def check(self, url: str) -> tuple[bool, str, bool]:
        """(allowed, why, temporary): temporary is True when the refusal comes from an unreachable robots.txt."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        entry = self._entry(origin)
        if entry.disallow_all_reason:
            return False, entry.disallow_all_reason, True
        if entry.parser is None:
            return True, "no robots.txt", False
        if entry.parser.can_fetch(url, self.agent):
            return True, f"{origin}/robots.txt allows it", False
        return False, f"{origin}/robots.txt disallows {parts.path or '/'} for {self.agent}", False

    def _entry(self, origin: str) -> _Entry:
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        with host_lock:
            entry = self._entries.get(origin)
            if entry is not None and entry.expires_at > time.monotonic():
                return entry
            entry = self._load(origin, previous=entry)
            self._entries[origin] = entry
            return entry

    def _load(self, origin: str, *, previous: _Entry | None) -> _Entry:
        now = time.monotonic()
        try:
            page = self.fetch(f"{origin}/robots.txt")
        except TargetRefused:
            raise  # the host itself is off limits: that, not robots.txt, is why its pages are not fetched
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                # RFC 9309 2.3.1.3: an unavailable (4xx) robots.txt means no restrictions.
                return _Entry(None, None, now + self.ttl_s)
            if previous is not None and previous.parser is not None:
                return _Entry(previous.parser, None, now + UNREACHABLE_TTL_S)
            return _Entry(None, f"robots.txt unreachable ({exc.reason}); retrying later", now + UNREACHABLE_TTL_S)
        text = page.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        parser = Protego.parse(text)
        delay_s = parser.crawl_delay(self.agent)
        if delay_s:
            self.limiter.set_crawl_delay(host_key(origin), min(float(delay_s), MAX_CRAWL_DELAY_S))
        return _Entry(parser, None, now + self.ttl_s)
