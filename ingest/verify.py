"""Poll each configured feed once, as the pipeline would but with a throw-away state, and say what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newsmon.core.outcomes import FeedFailure, FetchFailure, PollOutcome
from newsmon.core.records import Feed
from newsmon.ingest.discover import DiscoveryError, discover_feeds
from newsmon.ingest.poll import poll_feed

# A feed whose newest item is older than this is listed as usable but stale: most likely frozen.
STALE_AFTER_DAYS = 30


@dataclass(frozen=True)
class FeedCheck:
    """One feed polled once: `usable` when it answered with a feed newsmon can read; `suggestion` says what to do."""

    feed_id: str
    url: str
    usable: bool
    status: str  # the HTTP status, or the failure's category when there is none
    items: int | None
    newest_item_at: datetime | None
    outcome: str
    suggestion: str
    new_url: str | None = None
    discovered: tuple[str, ...] = ()


def _newest(entries: Any) -> datetime | None:
    dates = [d for e in entries for d in (e.published_at, e.updated_at) if d is not None]
    return max(dates) if dates else None


def verify_feed(client: Any, feed: Feed, now: datetime) -> FeedCheck:
    """Poll `feed` once through poll_feed with no stored state (nothing is written anywhere)."""
    result = poll_feed(client, feed, None, now)
    status = str(result.status) if result.status is not None else str(result.failure or result.outcome)
    base = {"feed_id": feed.id, "url": feed.url, "status": status, "outcome": str(result.outcome)}
    if result.outcome == PollOutcome.DISABLED:
        return FeedCheck(**base, usable=True, items=None, newest_item_at=None, suggestion="disabled in feeds.yaml")
    if result.outcome == PollOutcome.GONE:
        return FeedCheck(**base, usable=False, items=None, newest_item_at=None,
                         suggestion="gone (410): remove the feed from feeds.yaml, or find the outlet's new feed")
    if result.outcome == PollOutcome.FAILED:
        return _failed(client, feed, result, base)
    entries = result.parsed.entries if result.parsed else ()
    newest = _newest(entries)
    if result.outcome == PollOutcome.MOVED:
        suggestion = f"moved (permanent redirect): set url to {result.moved_to}"
        return FeedCheck(**base, usable=False, items=len(entries), newest_item_at=newest, suggestion=suggestion,
                         new_url=result.moved_to)
    if not entries:
        suggestion = "no items: the feed is empty; check the site for another feed"
        return FeedCheck(**base, usable=False, items=0, newest_item_at=None, suggestion=suggestion)
    if newest is not None and now - newest > timedelta(days=STALE_AFTER_DAYS):
        suggestion = f"ok, but the newest item is {(now - newest).days} days old: the feed may be frozen"
    else:
        suggestion = "ok"
    return FeedCheck(**base, usable=True, items=len(entries), newest_item_at=newest, suggestion=suggestion)


def _failed(client: Any, feed: Feed, result: Any, base: dict[str, Any]) -> FeedCheck:
    failure = result.failure
    if failure == FeedFailure.NOT_A_FEED:
        # An HTML page where the feed should be (a section page, a moved feed): look for the feeds it advertises.
        try:
            found, _language = discover_feeds(client, feed.url)
        except DiscoveryError as exc:
            suggestion = f"not a feed ({result.error}); no feed found on that page: {exc.reason}"
            return FeedCheck(**base, usable=False, items=None, newest_item_at=None, suggestion=suggestion)
        urls = tuple(f.url for f in found)
        suggestion = f"an HTML page, not a feed; it points to: {', '.join(urls)}"
        return FeedCheck(**base, usable=False, items=None, newest_item_at=None, suggestion=suggestion,
                         new_url=urls[0], discovered=urls)
    if failure == FetchFailure.HTTP_404:
        suggestion = ("not found (404): the URL is wrong or the feed was removed; `newsmon feeds add` with the "
                      "site's address finds the feeds it advertises")
    elif failure in (FetchFailure.DNS, FetchFailure.CONNECT, FetchFailure.TLS, FetchFailure.TIMEOUT):
        suggestion = f"unreachable from here ({failure}): {result.error}"
    elif failure in (FetchFailure.HTTP_4XX, FetchFailure.HTTP_429) and "403" in (result.error or ""):
        suggestion = (f"refused ({result.error}); if the server refuses non-browser clients, set user_agent with "
                      "a user_agent_note for this feed")
    else:
        suggestion = f"failed: {result.error}"
    return FeedCheck(**base, usable=False, items=None, newest_item_at=None, suggestion=suggestion)
