"""The errors of a fetch, shared by the HTTP client and the robots.txt cache it consults."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that produced no usable response: network error, cap exceeded, refused target or non-2xx."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


class TargetRefused(FetchError):
    """The host resolves only to addresses newsmon must not contact (private, loopback, metadata)."""
