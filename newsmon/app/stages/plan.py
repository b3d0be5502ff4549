"""Plan: the feeds due now, batched by the host they are fetched from."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from newsmon.app.stages.counts import recorded, utcnow
from newsmon.core.config import load_feeds
from newsmon.core.outcomes import Count, Stage
from newsmon.core.settings import Settings
from newsmon.ingest.poll import is_due
from newsmon.store.db import open_engine
from newsmon.store.feedstate import all_feed_states


def plan_feeds(settings: Settings, now: datetime | None = None, *, force: bool = False) -> list[list[str]]:
    """Ids of the feeds due now (all enabled ones with `force`), batched so that all feeds fetched from one
    host land in one batch.

    One batch is one poll task with its own HTTP client. Its per-host limiter shares each host's spacing,
    in-flight cap and Retry-After with every other process through lock files in the state directory
    (ingest/host_files.py), so article pages on a third host that feeds of two batches link to are spaced
    too; batching by feed host also keeps one host's feeds (and their usual pages) in one task, where they
    queue behind each other instead of behind another task.
    """
    now = now or utcnow()
    with recorded(settings, Stage.PLAN) as counts:
        feeds = [f for f in load_feeds(settings.feeds_file) if f.enabled]
        with open_engine(settings.database_url).connect() as conn:
            states = all_feed_states(conn)
        by_host: dict[str, list[str]] = {}
        for feed in feeds:
            state = states.get(feed.id)
            # is_due also decides about disabled feeds: a feed disabled by a 410 comes back when
            # feeds.yaml gives it a new URL.
            if is_due(feed, state, now) or (force and not (state and state.disabled_reason)):
                host = urlsplit(state.url if state else feed.url).hostname or ""
                by_host.setdefault(host, []).append(feed.id)
        batches = _batches(by_host, settings.feed_batch_size)
        counts.add(Count.FEEDS_DUE, sum(len(b) for b in batches))
        counts.add(Count.BATCHES, len(batches))
    return batches


def _batches(by_host: dict[str, list[str]], batch_size: int) -> list[list[str]]:
    """Hosts in name order, packed into batches of up to `batch_size` feeds; a host is never split."""
    batches: list[list[str]] = []
    for host in sorted(by_host):
        ids = by_host[host]
        if batches and len(batches[-1]) + len(ids) <= batch_size:
            batches[-1].extend(ids)
        else:
            batches.append(list(ids))
    return batches
