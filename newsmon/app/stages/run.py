"""One whole ingest pass in-process (`newsmon run`): the DAG's stages in order, and what each counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.counts import Counts, utcnow
from newsmon.app.stages.index import cluster_and_index
from newsmon.app.stages.page_pool import PagePools
from newsmon.app.stages.plan import plan_feeds
from newsmon.app.stages.poll import Progress, poll_feeds
from newsmon.core.settings import Settings


@dataclass
class RunSummary:
    """What one pass did: batches and feeds planned, and the counts of poll (all batches), index and alerts."""

    batches: int
    feeds: int
    poll: dict[str, Any]
    index: dict[str, Any]
    alerts: dict[str, Any]


def run_once(settings: Settings, progress: Progress | None = None, *, on_plan: Callable[[int], None] | None = None,
             now: datetime | None = None, force: bool = False) -> RunSummary:
    """One full ingest pass in-process (what `newsmon run --once` does); each stage records its own run."""
    started_at = now or utcnow()
    poll_counts = Counts()
    with PagePools(settings) as pools:  # one set of extraction workers for every batch of the pass
        pools.warm()
        batches = plan_feeds(settings, started_at, force=force)
        feeds = sum(len(b) for b in batches)
        if on_plan:
            on_plan(feeds)
        for batch in batches:
            poll_counts.merge(poll_feeds(settings, batch, started_at, progress, pools=pools))
    index_counts = cluster_and_index(settings, started_at)
    alert_counts = send_alerts(settings, started_at)
    return RunSummary(len(batches), feeds, poll_counts.as_dict(), index_counts, alert_counts)
