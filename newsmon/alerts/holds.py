"""When a rule, or one channel of it, may send: mute_until, quiet hours in a named time zone, max_per_hour; what
stops it and until when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsmon.core.config import AlertChannel, AlertRule, QuietHours

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Stop:
    """Why a rule sends nothing now, and the first time it may send again."""

    reason: str  # muted | quiet_hours | max_per_hour
    until: datetime


def in_quiet_hours(quiet: QuietHours, now: datetime) -> bool:
    local = now.astimezone(quiet.zone).time()
    if quiet.start <= quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end  # a window past midnight (22:00–07:00)


def quiet_hours_end(quiet: QuietHours, now: datetime) -> datetime:
    """The next end of the window after `now`, in UTC (the wall-clock end, whatever the DST offset that day)."""
    local = now.astimezone(quiet.zone)
    end = datetime.combine(local.date(), quiet.end, tzinfo=quiet.zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=quiet.zone)
    return end.astimezone(UTC)


def rate_room(max_per_hour: int | None, sent_at: Sequence[datetime], now: datetime) -> int | None:
    """How many more messages a rule (or a channel) may send in the hour up to `now` (None: no limit)."""
    if max_per_hour is None:
        return None
    return max(0, max_per_hour - sum(1 for at in sent_at if at > now - HOUR))


def rate_free_at(sent_at: Sequence[datetime], now: datetime) -> datetime:
    """When the oldest message of the last hour leaves the window, so one more may be sent."""
    recent = sorted(at for at in sent_at if at > now - HOUR)
    return (recent[0] if recent else now) + HOUR


def stop_now(rule: AlertRule, sent_at: Sequence[datetime], now: datetime) -> Stop | None:
    """What keeps the rule from sending anything at `now` (urgent rules ignore quiet hours, not mutes or limits)."""
    if rule.mute_until is not None and now < rule.mute_until:
        return Stop("muted", rule.mute_until.astimezone(UTC))
    return _window_or_limit(rule, rule.quiet_hours, rule.max_per_hour, sent_at, now)


def channel_stop_now(rule: AlertRule, channel: AlertChannel, sent_at: Sequence[datetime], now: datetime) -> Stop | None:
    """What keeps one channel of the rule from sending at `now`, by the channel's own quiet hours and limit
    (`sent_at`: that channel's messages); the rule's `urgent` overrides the channel's quiet hours too."""
    return _window_or_limit(rule, channel.quiet_hours, channel.max_per_hour, sent_at, now)


def _window_or_limit(rule: AlertRule, quiet: QuietHours | None, max_per_hour: int | None,
                     sent_at: Sequence[datetime], now: datetime) -> Stop | None:
    if quiet is not None and not rule.urgent and in_quiet_hours(quiet, now):
        return Stop("quiet_hours", quiet_hours_end(quiet, now))
    if rate_room(max_per_hour, sent_at, now) == 0:
        return Stop("max_per_hour", rate_free_at(sent_at, now))
    return None
