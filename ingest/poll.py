"""One poll of one feed: conditional GET, body hash, parse, adaptive interval, backoff, moves and 410 Gone."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from newsmon.core.outcomes import FeedFailure, FetchFailure, PollOutcome
from newsmon.core.records import Feed, FeedState, ParsedFeed
from newsmon.ingest.feeds import FeedParseError, parse_feed
from newsmon.ingest.http import FetchError
from newsmon.ingest.urls import same_site

log = logging.getLogger("newsmon.poll")

# A scheduler tick that lands a little before next_poll_at still polls: otherwise a 600 s interval on a
# 10-minute DAG would silently become 20 minutes.
DUE_SLACK_S = 60.0
DEFAULT_MAX_BACKOFF_S = 24 * 3600
# The adaptive interval (seconds between polls) is multiplied by this after a poll that brought no new
# entry, so a quiet feed is polled less often; after n >= 2 new entries it is multiplied by 2/(n+1), a
# shorter interval (record_new_items); one new entry keeps it.
QUIET_GROWTH = 1.5


@dataclass(frozen=True)
class PollResult:
    """Outcome of one poll: `outcome` says what happened; a failed poll has its `failure` category.

    `parsed` holds the entries to ingest (fetched or moved with a new body); `error` is the free-text
    detail of a failed, gone or disabled poll (for logs and the feed's last_error, never a counter key).
    """

    state: FeedState
    parsed: ParsedFeed | None
    unchanged: bool
    error: str | None
    outcome: PollOutcome = PollOutcome.FETCHED
    moved_to: str | None = None
    status: int | None = None
    failure: FetchFailure | FeedFailure | None = None


def _knob(client: Any, name: str, default: float) -> float:
    return float(getattr(getattr(client, "settings", None), name, default))


def _bounded_interval(client: Any, interval_s: float) -> int:
    low = _knob(client, "min_poll_interval_s", 300)
    high = _knob(client, "max_poll_interval_s", 6 * 3600)
    return int(min(max(interval_s, low), high))


def initial_state(feed: Feed, *, interval_s: int = 600) -> FeedState:
    """State of a feed never polled before."""
    return FeedState(feed_id=feed.id, url=feed.url, interval_s=interval_s, configured_url=feed.url)


def _current_state(client: Any, feed: Feed, state: FeedState | None) -> FeedState:
    default_s = int(_knob(client, "default_poll_interval_s", 600))
    if state is None:
        return initial_state(feed, interval_s=default_s)
    if state.configured_url is not None and state.configured_url != feed.url:
        # The user edited the feed's URL in feeds.yaml: the new one wins over a remembered 301 target.
        return initial_state(feed, interval_s=default_s)
    if state.configured_url is None:
        state = replace(state, configured_url=feed.url)  # state saved before this column existed
    if state.disabled_reason and feed.url not in state.disabled_reason:
        # The user changed the configured URL of a feed we disabled: start afresh with the new one.
        return initial_state(feed, interval_s=default_s)
    if state.failures and state.url != feed.url:
        # A failing feed whose stored URL differs from feeds.yaml: either the user fixed the URL, or the
        # address it moved to broke. Either way the configured URL is the one to try.
        return replace(state, url=feed.url, etag=None, last_modified=None, body_hash=None)
    return state


def is_due(feed: Feed, state: FeedState | None, now: datetime) -> bool:
    """True when the feed is enabled, not disabled by us, and its next poll time has come."""
    if not feed.enabled:
        return False
    if state is None:
        return True
    if state.disabled_reason:
        return feed.url not in state.disabled_reason
    if state.failures and state.url != feed.url:
        return True  # the user changed the URL of a failing feed: try it now, not after the backoff
    if state.configured_url is not None and state.configured_url != feed.url:
        return True  # the user edited the URL in feeds.yaml: poll the new one now
    if state.next_poll_at is None:
        return True
    return state.next_poll_at <= now + timedelta(seconds=DUE_SLACK_S)


def record_new_items(state: FeedState, n_new: int, now: datetime, *, client: Any = None) -> FeedState:
    """Teach the adaptive interval how many new entries a poll brought; returns the state to persist.

    Call it once per poll whose PollResult.parsed is not None (unchanged polls already learnt "0 new").
    """
    interval_s = float(state.interval_s or _knob(client, "default_poll_interval_s", 600))
    if n_new <= 0:
        interval_s *= QUIET_GROWTH
    elif n_new >= 2:
        # Several new items per poll means we are late: aim at roughly one new item per poll.
        interval_s *= 2.0 / (n_new + 1)
    bounded_s = _bounded_interval(client, interval_s)
    polled_at = state.last_polled_at or now
    return replace(
        state,
        interval_s=bounded_s,
        items_seen=state.items_seen + max(n_new, 0),
        next_poll_at=polled_at + timedelta(seconds=bounded_s),
    )


def forget_validators(state: FeedState) -> FeedState:
    """Make the next poll fetch and parse the feed again (call it when some entries must be retried).

    An unchanged feed is never re-parsed, so entries whose page fetch failed with a retryable error
    would otherwise wait until the feed changes.
    """
    return replace(state, etag=None, last_modified=None, body_hash=None)


def backoff_s(client: Any, state: FeedState, failures: int, retry_after_s: float | None) -> float:
    """Exponential backoff from the feed's interval, at least Retry-After, capped (a day by default)."""
    base_s = float(state.interval_s or _knob(client, "default_poll_interval_s", 600))
    cap_s = _knob(client, "max_backoff_s", DEFAULT_MAX_BACKOFF_S)
    delay_s = min(base_s * (2 ** max(failures - 1, 0)), cap_s)
    if retry_after_s is not None:
        delay_s = max(delay_s, min(retry_after_s, cap_s))
    return delay_s


def page_user_agent(feed: Feed, link: str) -> str | None:
    """The User-Agent for an entry's page: the feed's override on the feed's own site, else None (default).

    A server that refuses non-browser clients for its feed refuses them for its articles too; a link to
    another site gets the default, since the override's note speaks for the feed's server only.
    """
    if feed.user_agent and same_site(feed.url, link):
        return feed.user_agent
    return None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _failed(client: Any, state: FeedState, now: datetime, reason: str, *, status: int | None,
            failure: FetchFailure | FeedFailure | None, retry_after_s: float | None = None) -> PollResult:
    failures = state.failures + 1
    delay_s = backoff_s(client, state, failures, retry_after_s)
    new_state = replace(
        state, failures=failures, last_error=reason, last_polled_at=now,
        next_poll_at=now + timedelta(seconds=delay_s),
    )
    return PollResult(state=new_state, parsed=None, unchanged=False, error=reason, outcome=PollOutcome.FAILED,
                      status=status, failure=failure)


def record_failure(client: Any, feed: Feed, state: FeedState | None, now: datetime, reason: str) -> FeedState:
    """The state after a poll that failed outside poll_feed (the pipeline's own processing crashed): backoff."""
    return _failed(client, _current_state(client, feed, state), now, reason, status=None, failure=None).state


def poll_feed(client: Any, feed: Feed, state: FeedState | None, now: datetime) -> PollResult:
    """Poll one feed once. Feed-level problems are returned in PollResult.error; nothing is raised for them."""
    state = _current_state(client, feed, state)
    if not feed.enabled or state.disabled_reason:
        reason = state.disabled_reason or "disabled in feeds.yaml"
        return PollResult(state=state, parsed=None, unchanged=True, error=reason, outcome=PollOutcome.DISABLED)
    try:
        fetched = client.fetch_detailed(state.url, etag=state.etag, last_modified=state.last_modified, kind="feed",
                                        user_agent=feed.user_agent)
    except FetchError as exc:
        if exc.status == 410:
            reason = f"410 Gone at {state.url} on {now:%Y-%m-%d}: fix or remove the feed in feeds.yaml"
            gone = replace(state, disabled_reason=reason, last_error=exc.reason, last_polled_at=now,
                           failures=state.failures + 1, next_poll_at=None)
            return PollResult(state=gone, parsed=None, unchanged=False, error=reason, outcome=PollOutcome.GONE,
                              status=410, failure=exc.category)
        return _failed(client, state, now, exc.reason, status=exc.status, failure=exc.category,
                       retry_after_s=exc.retry_after_s)
    page = fetched.page
    moved_to = fetched.permanent_url
    url = moved_to or state.url
    headers = page.headers
    etag = headers.get("etag") or (state.etag if page.not_modified else None)
    last_modified = headers.get("last-modified") or (state.last_modified if page.not_modified else None)
    if page.not_modified or (state.body_hash is not None and body_hash(page.body) == state.body_hash):
        ok = replace(state, url=url, etag=etag, last_modified=last_modified, failures=0, last_error=None,
                     last_polled_at=now, last_success_at=now)
        unchanged = PollOutcome.NOT_MODIFIED if page.not_modified else PollOutcome.SAME_BODY
        return PollResult(
            state=record_new_items(ok, 0, now, client=client), parsed=None, unchanged=True, error=None,
            outcome=PollOutcome.MOVED if moved_to else unchanged, moved_to=moved_to, status=page.status,
        )
    try:
        parsed = parse_feed(page.body, url=page.final_url, headers=headers)
    except FeedParseError as exc:
        return _failed(client, replace(state, url=url), now, f"unusable feed: {exc.reason}", status=page.status,
                       failure=exc.category)
    except Exception as exc:  # parse_feed already turns parser failures into FeedParseError; never stop the batch
        log.exception("parsing feed %s (%s) failed", feed.id, state.url)
        reason = f"unusable feed: the parser crashed ({type(exc).__name__}: {str(exc)[:200]})"
        return _failed(client, replace(state, url=url), now, reason, status=page.status,
                       failure=FeedFailure.PARSER_FAILED)
    interval_s = state.interval_s or int(_knob(client, "default_poll_interval_s", 600))
    ok = replace(
        state, url=url, etag=etag, last_modified=last_modified, body_hash=body_hash(page.body), failures=0,
        last_error=None, last_polled_at=now, last_success_at=now, interval_s=interval_s,
        next_poll_at=now + timedelta(seconds=interval_s),
    )
    return PollResult(state=ok, parsed=parsed, unchanged=False, error=None,
                      outcome=PollOutcome.MOVED if moved_to else PollOutcome.FETCHED, moved_to=moved_to, status=page.status)
