"""The operator's feed-health report: feeds that went silent, fail, moved or are gone, sent when a verdict changes."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsmon.alerts.channels import DeliveryError, deliver
from newsmon.alerts.notice import Notice
from newsmon.app.stages.counts import recorded
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import load_feeds
from newsmon.core.outcomes import Count, Stage
from newsmon.core.settings import Settings
from newsmon.store.db import open_engine
from newsmon.store.health import PROBLEMS, FeedHealth, Verdict, feed_health, record_reported, reported_verdicts

log = logging.getLogger("newsmon.feed_report")
REPORT_RULE = "feed-health"


@dataclass(frozen=True)
class Change:
    """One feed whose verdict differs from what the operator was last told."""

    feed: FeedHealth
    was: Verdict  # ok for a feed never reported


@dataclass
class FeedReport:
    """What the report says: the changes since the last report, and the problems the operator knows already."""

    changes: list[Change] = field(default_factory=list)
    still: list[FeedHealth] = field(default_factory=list)

    def notice(self, now: datetime) -> Notice:
        new = [c for c in self.changes if c.feed.verdict in PROBLEMS]
        recovered = [c for c in self.changes if c.feed.verdict not in PROBLEMS]
        kinds = sorted({str(c.feed.verdict) for c in new})
        subject = (f"newsmon feeds: {len(new)} need attention ({', '.join(kinds)})" if new
                   else "newsmon feeds: all reported problems resolved")
        if new and recovered:
            subject += f", {len(recovered)} recovered"
        lines = [f"Feed health on {now:%Y-%m-%d %H:%M} UTC: what changed since the last report.", ""]
        # A moved feed's why names its new URL; the others are shown with the URL they are polled at.
        lines += [f"[{c.feed.verdict}] {c.feed.id}" + ("" if c.feed.moved_to else f" ({c.feed.url})") + f": {c.feed.why}"
                  for c in new]
        lines += [f"[{c.feed.verdict} again] {c.feed.id}: was {c.was}" for c in recovered]
        if self.still:
            lines += ["", "Still needing attention (reported before): "
                          + ", ".join(f"{f.id} ({f.verdict})" for f in self.still)]
        lines += ["", "`newsmon feeds status` shows every feed; `newsmon feeds verify` polls them once."]
        payload = {
            "kind": "feed_health",
            "changes": [{"feed": c.feed.id, "verdict": str(c.feed.verdict), "was": str(c.was), "url": c.feed.url,
                         "why": c.feed.why, "moved_to": c.feed.moved_to} for c in self.changes],
            "still": [{"feed": f.id, "verdict": str(f.verdict)} for f in self.still],
        }
        # The same changes give the same key, so a report resent after a crash folds into the first in mail
        # clients, and a webhook receiver can drop the repeat.
        digest = hashlib.sha256(repr(sorted((c.feed.id, str(c.feed.verdict)) for c in self.changes)).encode()).hexdigest()
        return Notice(rule=REPORT_RULE, subject=subject, text="\n".join(lines) + "\n",
                      key=f"feed-health-{now:%Y%m%d}-{digest[:16]}", payload=payload)


def build_report(current: list[FeedHealth], reported: dict[str, Verdict]) -> FeedReport:
    """Changes: a problem verdict not reported as such, or a reported problem that is over."""
    report = FeedReport()
    for row in current:
        was = reported.get(row.id, Verdict.OK)
        if row.verdict in PROBLEMS and row.verdict != was:
            report.changes.append(Change(row, was))
        elif row.verdict in PROBLEMS:
            report.still.append(row)
        elif was in PROBLEMS and row.verdict == Verdict.OK:  # off or new: nothing to tell, the row just goes
            report.changes.append(Change(row, was))
    return report


def report_feed_health(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Send the feed-health changes to NEWSMON_OPERATOR_CHANNELS; returns the counts (recorded in `runs`).

    What was delivered is remembered, so an unchanged problem is not reported again tomorrow. A channel that
    cannot take the report raises DeliveryError after the others were tried (Airflow retries the task; a
    channel that took it then may get it twice, with the same Message-ID), and nothing is remembered.
    """
    now = now or datetime.now(UTC)
    with recorded(settings, Stage.REPORT_FEED_HEALTH) as counts:
        feeds = load_feeds(settings.feeds_file)
        engine = open_engine(settings.database_url)
        current = feed_health(engine, feeds, now)
        report = build_report(current, reported_verdicts(engine))
        counts.add(Count.FEEDS_NEEDING_ATTENTION, sum(1 for row in current if row.verdict in PROBLEMS))
        counts.add(Count.FEED_VERDICTS_CHANGED, len(report.changes))
        for change in report.changes:
            log.warning("feed %s: %s (was %s) %s", change.feed.id, change.feed.verdict, change.was, change.feed.why)
        if not report.changes:
            return counts.as_dict()
        if not settings.operator_channels:
            log.warning("no NEWSMON_OPERATOR_CHANNELS: the feed-health report above is only in this log")
            return counts.as_dict()
        notice = report.notice(now)
        failures = []
        for url in settings.operator_channels:
            try:
                deliver(url, notice, settings)
                counts.add(Count.OPERATOR_REPORTS_SENT)
            except DeliveryError as exc:
                failures.append(str(exc))
        if failures:
            raise DeliveryError(f"the feed-health report did not reach {len(failures)} of "
                                f"{len(settings.operator_channels)} operator channel(s): {'; '.join(failures)}")
        record_reported(engine, current, now, {f.id: f for f in feeds})
        log.info("feed-health report sent to %s", ", ".join(describe_channel(u) for u in settings.operator_channels))
        return counts.as_dict()
