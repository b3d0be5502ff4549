"""Alert: rules matched against newly indexed articles (one outbox row per rule and story), then delivery; digests."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from newsmon.alerts.outbox import AlertDeliveryError, OutboxCounts, deliver_pending, enqueue_matches
from newsmon.alerts.pickup import enqueue_pickups
from newsmon.app.stages.counts import Counts, recorded, utcnow
from newsmon.app.stages.index import articles_in_status
from newsmon.core.config import ConfigError, RuleSet, check_alert_rules
from newsmon.core.outcomes import Count, Stage
from newsmon.core.settings import Settings
from newsmon.store.db import open_engine
from newsmon.store.schema import articles, meta

log = logging.getLogger(__name__)

DIGEST_PERIODS = {"hourly": 3600, "daily": 86400}
_DIGEST_STAGES = {"hourly": Stage.DIGEST_HOURLY, "daily": Stage.DIGEST_DAILY}


def send_alerts(settings: Settings, now: datetime | None = None, *, raise_on_failure: bool = False) -> dict:
    """Match rules against newly indexed articles (one outbox row per rule and story), deliver instant alerts."""
    now = now or utcnow()
    with recorded(settings, Stage.ALERT) as counts:
        checked = usable_rules(settings, counts)
        rules = checked.rules
        engine = open_engine(settings.database_url)
        with engine.begin() as conn:
            # Earliest copy first: when several copies of a story arrive in one run, the alert shows the original.
            fresh = sorted(articles_in_status(conn, "indexed", alerted=False),
                           key=lambda a: (a.published_at or a.fetched_at, a.id))
            queued = enqueue_matches(conn, rules, fresh, now)
            picked = enqueue_pickups(conn, rules, fresh, now)
            if fresh:
                conn.execute(update(articles).where(articles.c.id.in_([a.id for a in fresh])).values(alerted=True))
        delivered = deliver_pending(engine, rules, settings, now)
        for name in (Count.MATCHED, Count.ENQUEUED, Count.ALREADY_ALERTED, Count.STORY_UPDATES):
            counts.add(name, getattr(queued, name) + getattr(picked, name))
        _add_delivery(counts, delivered)
    # Raised after the with: the run is recorded with what failed, then the task fails and is retried.
    _raise_if_undelivered(delivered, raise_on_failure)
    _raise_if_rules_invalid(checked, raise_on_failure)
    return counts.as_dict()


def usable_rules(settings: Settings, counts: Counts) -> RuleSet:
    """The rules of alerts.yaml; each invalid one is logged and counted, and the valid ones still run."""
    checked = check_alert_rules(settings.alerts_file)
    for problem in checked.problems:
        log.error("alert rule left out: %s", problem)
        counts.add(Count.RULES_INVALID, 1)
        counts.example(Count.RULES_INVALID, problem)
    return checked


def _raise_if_rules_invalid(checked: RuleSet, raise_on_failure: bool) -> None:
    # After the valid rules ran: the task fails (without retries, a UserError) so the operator sees the file to fix.
    if raise_on_failure and checked.problems:
        raise ConfigError(f"{len(checked.problems)} alert rule(s) left out (the others ran); fix them:\n  "
                          + "\n  ".join(checked.problems))


def _add_delivery(counts: Counts, delivered: OutboxCounts) -> None:
    for name in (Count.SENT, Count.RETRY_LATER, Count.FAILED, Count.HELD, Count.DROPPED):
        counts.add(name, getattr(delivered, name))
    for name, error in delivered.errors:  # error texts name channels by scheme and hash, never a secret
        counts.example(name, error)


def _raise_if_undelivered(delivered: OutboxCounts, raise_on_failure: bool) -> None:
    if raise_on_failure and (delivered.retry_later or delivered.failed):
        errors = sorted({error for _, error in delivered.errors})
        raise AlertDeliveryError(
            f"{delivered.retry_later} alert(s) kept in the outbox for a retry, {delivered.failed} given up "
            f"(see `newsmon alerts outbox`): " + "; ".join(errors[:3]))


def send_digests(settings: Settings, mode: str, now: datetime | None = None, *, raise_on_failure: bool = False) -> dict:
    """Deliver the pending hourly or daily digest rows, one message per rule."""
    with recorded(settings, _DIGEST_STAGES[mode]) as counts:
        engine = open_engine(settings.database_url)
        checked = usable_rules(settings, counts)
        delivered = deliver_pending(engine, checked.rules, settings, now or utcnow(), modes=(mode,))
        _add_delivery(counts, delivered)
    _raise_if_undelivered(delivered, raise_on_failure)
    _raise_if_rules_invalid(checked, raise_on_failure)
    return counts.as_dict()


def send_due_digests(settings: Settings, now: datetime | None = None) -> dict:
    """For `newsmon run` without Airflow: send each digest whose period has passed since the last one."""
    now = now or utcnow()
    engine = open_engine(settings.database_url)
    sent: dict = {}
    for mode, period_s in DIGEST_PERIODS.items():
        key = f"digest_{mode}_at"
        with engine.connect() as conn:
            last = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()
        if last is not None and (now - datetime.fromisoformat(last)).total_seconds() < period_s:
            continue
        if last is not None:
            sent[mode] = send_digests(settings, mode, now)
        with engine.begin() as conn:  # the first run only starts the clock
            conn.execute(meta.delete().where(meta.c.key == key))
            conn.execute(meta.insert().values(key=key, value=now.isoformat()))
    return sent
