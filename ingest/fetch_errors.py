"""The errors of a fetch, shared by the HTTP client and the robots.txt cache it consults."""

from __future__ import annotations

from newsmon.core.outcomes import FetchFailure


class FetchError(Exception):
    """A fetch that produced no usable response: network error, cap exceeded, refused target or non-2xx.

    `category` is the stable kind of failure (what counters count); `reason` is the free-text detail for
    logs and messages (it names the URL, the status, the cap). Without a category, an HTTP status gives it.
    """

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after_s: float | None = None,
        category: FetchFailure | None = None,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s
        self.category = category or FetchFailure.for_status(status)


class TargetRefused(FetchError):
    """The host resolves only to addresses newsmon must not contact (private, loopback, metadata)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason, category=FetchFailure.REFUSED_TARGET)
