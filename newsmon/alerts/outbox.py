"""Alert outbox: one row per (rule, story cluster), moved pending → sent | failed with backoff.

The unique (rule, cluster_id, copy_id) key is what makes an alert fire once per story: copy_id is '' for the
alert, so later copies of the story, reruns and parallel workers all hit the same row. A copy from a new outlet
that arrives after the alert was sent becomes a story update row (copy_id = its outlet) that the next digest or
a follow-up carries. Quiet hours, max_per_hour and mute_until hold rows back (held_until) or drop them
(newsmon/alerts/holds.py); a channel's own quiet hours and max_per_hour do so for that channel only, the row
staying pending (its other channels have had it) until that channel has had it or dropped it. A row is claimed
(status `sending`) before delivery and channels already delivered are remembered, so a retry never resends to
them. A worker killed between sending and recording leaves a `sending` row that is released after
SENDING_LEASE_S; the resend carries the same Message-ID, so mail clients fold it. Every claim counts as an
attempt, so a row whose deliveries keep dying is given up after MAX_ATTEMPTS like one that keeps failing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from newsmon.alerts.channels import DeliveryError, deliver
from newsmon.alerts.compose import StoryContext, compose, feed_outlets, story_context
from newsmon.alerts.highlight import passages
from newsmon.alerts.holds import Stop, channel_stop_now, rate_free_at, rate_room, stop_now
from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.alerts.message import MessageKind
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import AlertChannel, AlertRule
from newsmon.core.errors import Unavailable
from newsmon.core.outcomes import Count
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.store.clusters_lsh import chunks
from newsmon.store.db import insert_ignore
from newsmon.store.schema import alert_outbox, alert_sends
from newsmon.store.stories import stories_of, story_member_ids

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SENDING_LEASE_S = 600
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600


class AlertDeliveryError(Unavailable):
    """Some alerts could not be delivered this time; they stay in the outbox and the task should retry."""


@dataclass
class OutboxCounts:
    matched: int = 0
    enqueued: int = 0
    already_alerted: int = 0
    story_updates: int = 0
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    held: int = 0
    dropped: int = 0
    # (the counter the row went to: retry_later or failed, the error): examples for the run's counts.
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as `newsmon alerts outbox` (and any other reader) shows it."""

    id: int
    rule: str
    status: str  # pending | sending | sent | failed | dropped
    attempts: int
    created_at: datetime
    cluster_id: str
    title: str
    last_error: str | None
    copy_id: str = ""  # '' for an alert; the outlet of a story update
    held_until: datetime | None = None


def list_outbox(engine: Engine, *, status: str | None = None, limit: int = 30) -> list[OutboxEntry]:
    """The newest `limit` outbox rows, of one status or all."""
    stmt = select(alert_outbox).order_by(alert_outbox.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(alert_outbox.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [OutboxEntry(id=r["id"], rule=r["rule"], status=r["status"], attempts=r["attempts"],
                        created_at=r["created_at"], cluster_id=r["cluster_id"],
                        title=str(r["payload"].get("title", "")), last_error=r["last_error"],
                        copy_id=r["copy_id"], held_until=r["held_until"]) for r in rows]


def outbox_totals(engine: Engine) -> dict[str, int]:
    """How many outbox rows have each status (statuses without rows are left out)."""
    with engine.connect() as conn:
        rows = conn.execute(select(alert_outbox.c.status, func.count()).group_by(alert_outbox.c.status)).all()
    return {status: int(n) for status, n in rows}


def retry_failed(engine: Engine, ids: Sequence[int] = ()) -> int:
    """Queue given-up alerts again with a fresh attempt count (all of them, or only `ids`); returns how many.

    Their channels that already took them stay remembered, so a retried alert reaches only the others."""
    stmt = update(alert_outbox).where(alert_outbox.c.status == "failed")
    if ids:
        stmt = stmt.where(alert_outbox.c.id.in_(list(ids)))
    with engine.begin() as conn:
        return conn.execute(stmt.values(status="pending", attempts=0, next_attempt_at=None)).rowcount


def channel_key(url: str) -> str:
    """A stable key for one channel URL (credentials and all), without storing the URL itself."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def payload_of(view: ArticleView, rule: AlertRule) -> dict[str, object]:
    """What an alert shows about one article, taken from the document the rules were matched on; `passages` are
    the sentences holding the rule's own words, as [[text, hit], …] segments (newsmon/alerts/highlight.py)."""
    doc = view.doc
    return {
        "article_id": doc["id"],
        **{key: doc[key] for key in ("cluster_id", "story_id", "title", "url", "source", "language", "published_at",
                                     "on_topic", "subtopics")},
        "affiliation": doc.get("source_affiliation"),
        "relevance": round(doc["relevance"], 3),
        "matched": sorted({m["surface"] for m in doc["matched"]})[:12],
        "lead": " ".join(doc["text"].split()[:60]),
        "passages": [[[seg.text, seg.hit] for seg in passage] for passage in passages(rule, view)],
    }


def enqueue_matches(conn: Connection, rules: Sequence[AlertRule], new_articles: Sequence[Article], now: datetime) -> OutboxCounts:
    """Queue one outbox row per (rule, story) for newly indexed articles that match a rule, and a story update
    per (rule, story, outlet) for a copy from a new outlet of a story whose alert has gone out."""
    counts = OutboxCounts()
    alerted = _alerted_stories(conn, rules, new_articles)
    for article in new_articles:
        view = ArticleView(article)
        for rule in rules:
            if not rule.enabled or rule.pickup:
                continue
            if not rule_matches(rule, view):
                # A translation or a rewrite need not match the rule's words to be a later copy of its story.
                story_key = alerted.get((rule.name, article.id))
                if story_key and _enqueue_update(conn, rule, story_key, article, _row(rule, story_key, view, now)):
                    counts.story_updates += 1
                continue
            counts.matched += 1
            key = alert_key(conn, rule, article)
            if key is None:
                counts.already_alerted += 1
                continue
            row = _row(rule, key, view, now)
            if insert_ignore(conn, alert_outbox, row):
                counts.enqueued += 1
            elif _enqueue_update(conn, rule, key, article, row):
                counts.story_updates += 1
            else:
                counts.already_alerted += 1
    return counts


def _row(rule: AlertRule, key: str, view: ArticleView, now: datetime) -> dict:
    return {"rule": rule.name, "cluster_id": key, "article_id": view.article.id, "mode": rule.mode,
            "status": "pending", "attempts": 0, "created_at": now, "payload": payload_of(view, rule)}


def _alerted_stories(conn: Connection, rules: Sequence[AlertRule], fresh: Sequence[Article]) -> dict[tuple[str, str], str]:
    """(rule, article id) → the outbox key of the rule's sent alert about the article's story, for rules that
    take story updates: the articles that may be updates although they do not match the rule themselves."""
    watching = [r.name for r in rules if r.enabled and not r.pickup and r.group_by == "story" and r.updates != "none"]
    story_of = stories_of(conn, [a.id for a in fresh if a.story_id]) if watching else {}
    keys = {f"story:{s}" for s in story_of.values()}
    sent: set[tuple[str, str]] = set()
    for chunk in chunks(sorted(keys)):
        sent |= {(r.rule, r.cluster_id) for r in conn.execute(
            select(alert_outbox.c.rule, alert_outbox.c.cluster_id).where(
                alert_outbox.c.cluster_id.in_(chunk), alert_outbox.c.copy_id == "", alert_outbox.c.status == "sent",
                alert_outbox.c.rule.in_(watching)))}
    return {(rule, article_id): f"story:{story}" for article_id, story in story_of.items() for rule in watching
            if (rule, f"story:{story}") in sent}


def _enqueue_update(conn: Connection, rule: AlertRule, key: str, article: Article, row: dict) -> bool:
    """A story update for a later copy: only once the alert went out, and only from an outlet it did not name
    (an alert still waiting shows the story's outlets as they are when it is sent)."""
    if rule.updates == "none" or not article.source:
        return False
    alert = conn.execute(select(alert_outbox.c.status, alert_outbox.c.payload).where(
        alert_outbox.c.rule == rule.name, alert_outbox.c.cluster_id == key, alert_outbox.c.copy_id == "")).first()
    if alert is None or alert.status != "sent":
        return False
    if article.source in alert.payload.get("_told_outlets", [alert.payload.get("source")]):
        return False
    # An instant rule's updates wait for the daily digest (newsmon_digest); a digest rule's for its next digest.
    mode = "instant" if rule.updates == "followup" else (rule.mode if rule.mode != "instant" else "daily")
    return insert_ignore(conn, alert_outbox, {**row, "copy_id": article.source[:64], "mode": mode,
                                              "payload": {**row["payload"], "update_of": key}})


def alert_key(conn: Connection, rule: AlertRule, article: Article) -> str | None:
    """The outbox key of an alert: the copy cluster, or `story:<id>` for rules grouped by story (the default).

    None when the rule has alerted an article of the article's story already, under an older story id that a
    merge of two stories has since renamed."""
    if rule.group_by == "cluster" or not article.story_id:
        return article.cluster_id or article.id
    story_id = stories_of(conn, [article.id]).get(article.id, article.story_id)
    members = story_member_ids(conn, story_id)
    earlier = conn.execute(select(alert_outbox.c.cluster_id).where(
        alert_outbox.c.rule == rule.name, alert_outbox.c.article_id.in_(members[:900]),
        alert_outbox.c.cluster_id != f"story:{story_id}")).first() if members else None
    return None if earlier else f"story:{story_id}"


def _claim_due(engine: Engine, modes: tuple[str, ...], now: datetime, counts: OutboxCounts) -> list[dict]:
    """Claim the rows due now: pending rows of these modes, and every held row whose hold has ended."""
    with engine.begin() as conn:
        conn.execute(
            update(alert_outbox)
            .where(alert_outbox.c.status == "sending", alert_outbox.c.next_attempt_at <= now)
            .values(status="pending")
        )
        held_over = alert_outbox.c.held_until.is_not(None) & (alert_outbox.c.held_until <= now)
        not_held = alert_outbox.c.held_until.is_(None) | (alert_outbox.c.held_until <= now)
        due = conn.execute(
            select(alert_outbox)
            .where(alert_outbox.c.status == "pending", alert_outbox.c.mode.in_(modes) | held_over, not_held)
            .where((alert_outbox.c.next_attempt_at.is_(None)) | (alert_outbox.c.next_attempt_at <= now))
            .order_by(alert_outbox.c.id)
        ).mappings().all()
        claimed = []
        for row in due:
            if row["attempts"] >= MAX_ATTEMPTS:
                _give_up_unfinished(conn, row, counts)
                continue
            res = conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id == row["id"], alert_outbox.c.status == "pending")
                .values(status="sending", attempts=alert_outbox.c.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=SENDING_LEASE_S))
            )
            if res.rowcount:
                claimed.append(dict(row))
    return claimed


def _recent_sends(engine: Engine, rule: str, now: datetime, channel: str | None = None) -> list[datetime]:
    """When the rule's messages of the last hour went out (one time per message, whatever its channels), or those
    of one of its channels (by channel_key)."""
    recent = (alert_sends.c.rule == rule) & (alert_sends.c.sent_at > now - timedelta(hours=1))
    if channel is not None:
        recent &= alert_sends.c.channel == channel
    with engine.connect() as conn:
        rows = conn.execute(select(alert_sends.c.key, func.min(alert_sends.c.sent_at)).where(recent)
                            .group_by(alert_sends.c.key)).all()
    return [at if at.tzinfo else at.replace(tzinfo=now.tzinfo) for _, at in rows]


def _messages(rule: AlertRule, rows: list[dict]) -> list[tuple[MessageKind, str | None, list[dict]]]:
    """How the due rows of one rule go out: (kind, the digest's period as its subject names it, rows) per message.

    Rows that were held go out together as one digest, with the rule's new instant rows; digest-mode rows as
    one digest per mode; follow-up updates as one message; every other instant row on its own."""
    held = [r for r in rows if r["held_until"] is not None]
    instant = [r for r in rows if r["held_until"] is None and r["mode"] == "instant"]
    messages: list[tuple[MessageKind, str | None, list[dict]]] = []
    if held:
        messages.append(("digest", "held", held + instant))
        instant = []
    for mode in ("hourly", "daily"):
        batch = [r for r in rows if r["held_until"] is None and r["mode"] == mode]
        if batch:
            messages.append(("digest", mode, batch))
    followups = [r for r in instant if r["copy_id"]]
    if followups:
        messages.append(("followup", None, followups))
    messages += [("instant", None, [r]) for r in instant if not r["copy_id"]]
    return messages


@dataclass
class _Progress:
    """How far one claimed row got in this delivery run, channel by channel (channels by channel_key)."""

    delivered: set[str]  # channels that have had it, in this run or an earlier one
    dropped: dict[str, str]  # channel → why a hold: drop rule dropped it for that channel only
    errors: list[str] = field(default_factory=list)
    holds: list[tuple[datetime, str]] = field(default_factory=list)  # (until, why) per channel holding it back
    told: list[str] | None = None

    @classmethod
    def of(cls, row: dict) -> _Progress:
        return cls(set(row["payload"].get("_delivered", [])), dict(row["payload"].get("_dropped", {})))

    def wants(self, channel: str) -> bool:
        return channel not in self.delivered and channel not in self.dropped


def deliver_pending(engine: Engine, rules: Sequence[AlertRule], settings: Settings, now: datetime, *, modes: tuple[str, ...] = ("instant",)) -> OutboxCounts:
    """Deliver due outbox rows of the given modes (and held rows whose hold is over), as the rule's limits and
    each channel's own allow."""
    counts = OutboxCounts()
    by_name = {r.name: r for r in rules}
    claimed = _claim_due(engine, modes, now, counts)
    if not claimed:
        return counts
    with engine.connect() as conn:
        context = story_context(conn, claimed)
    sending = _Sending(context, feed_outlets(settings), settings, now)
    by_rule: dict[str, list[dict]] = {}
    for row in claimed:
        by_rule.setdefault(row["rule"], []).append(row)
    for rule_name, rows in by_rule.items():
        rule = by_name.get(rule_name)
        if rule is None:
            _give_up(engine, rows, f"rule {rule_name!r} is no longer in alerts.yaml", counts)
            continue
        sent_at = _recent_sends(engine, rule_name, now)
        stop = stop_now(rule, sent_at, now)
        if stop is not None:
            _hold_or_drop(engine, rule, rows, stop.reason, stop.until, counts)
            continue
        rows = _within_rule_limit(engine, rule, rows, sent_at, now, counts)
        progress = {r["id"]: _Progress.of(r) for r in rows}
        for channel in rule.channels:
            _deliver_to_channel(engine, rule, channel, rows, progress, sending)
        _settle(engine, rule, rows, progress, now, counts)
    return counts


def _within_rule_limit(engine: Engine, rule: AlertRule, rows: list[dict], sent_at: list[datetime], now: datetime,
                       counts: OutboxCounts) -> list[dict]:
    """The rows the rule's max_per_hour lets go now; the rest are held until the hour has room again (then they go
    as one digest), or dropped."""
    messages = _messages(rule, rows)
    room = rate_room(rule.max_per_hour, sent_at, now)
    if room is None or len(messages) <= room:
        return rows
    late = [r for _, _, batch in messages[room:] for r in batch]
    _hold_or_drop(engine, rule, late, "max_per_hour", rate_free_at([*sent_at, *[now] * room], now), counts)
    return [r for _, _, batch in messages[:room] for r in batch]


@dataclass(frozen=True)
class _Sending:
    """What every message of one delivery run is built and sent with."""

    context: StoryContext
    feeds: dict
    settings: Settings
    now: datetime


def _deliver_to_channel(engine: Engine, rule: AlertRule, channel: AlertChannel, rows: list[dict],
                        progress: dict[int, _Progress], sending: _Sending) -> None:
    """Send one channel what it has not had of these rows, grouped for it (what was held for it as one digest),
    as its own quiet hours and max_per_hour allow; what they stop is held (or dropped) for this channel only."""
    key = channel_key(channel.url)
    needing = [r for r in rows if progress[r["id"]].wants(key)]
    if not needing:
        return
    now = sending.now
    sent_at = _recent_sends(engine, rule.name, now, channel=key) if channel.max_per_hour else []
    stop = channel_stop_now(rule, channel, sent_at, now)
    if stop is not None:
        _stop_for_channel(rule, channel, needing, progress, stop)
        return
    messages = _messages(rule, needing)
    room = rate_room(channel.max_per_hour, sent_at, now)
    if room is not None and len(messages) > room:
        late = [r for _, _, batch in messages[room:] for r in batch]
        _stop_for_channel(rule, channel, late, progress, Stop("max_per_hour", rate_free_at([*sent_at, *[now] * room], now)))
        messages = messages[:room]
    for kind, period, batch in messages:
        _send_message(engine, rule, channel, kind, period, batch, progress, sending)


def _stop_for_channel(rule: AlertRule, channel: AlertChannel, rows: list[dict], progress: dict[int, _Progress],
                      stop: Stop) -> None:
    why = f"{stop.reason} of {describe_channel(channel.url)}"
    for r in rows:
        if rule.hold == "hold":
            progress[r["id"]].holds.append((stop.until, why))
        else:
            progress[r["id"]].dropped[channel_key(channel.url)] = why


def _send_message(engine: Engine, rule: AlertRule, channel: AlertChannel, kind: MessageKind, period: str | None,
                  rows: list[dict], progress: dict[int, _Progress], sending: _Sending) -> None:
    # Each row remembers the channels that already took it, so a retry (or a digest that grew since a
    # partial failure) sends each channel exactly the stories it has not had yet.
    key = channel_key(channel.url)
    message = compose(rule, rows, kind, sending.context, sending.feeds, sending.now, period)
    try:
        deliver(channel.url, message, sending.settings)
    except DeliveryError as exc:  # deliver() raises nothing else, and its text names no secret
        log.warning("rule %r: %s", rule.name, exc)
        for r in rows:
            progress[r["id"]].errors.append(str(exc))
        return
    _record_send(engine, rule.name, key, sending.now, kind, message.key, len(message.entries) + message.more)
    for r in rows:
        progress[r["id"]].delivered.add(key)
    for entry in message.entries:
        row = progress[next(r["id"] for r in rows if r["payload"]["article_id"] == entry.article_id)]
        if row.told is None:
            row.told = sorted({entry.outlet.feed_id, *(o.feed_id for o in entry.other_outlets)})


def _record_send(engine: Engine, rule: str, channel: str, now: datetime, kind: str, key: str, stories: int) -> None:
    with engine.begin() as conn:
        conn.execute(alert_sends.insert().values(rule=rule, channel=channel, sent_at=now, kind=kind,
                                                 stories=stories, key=key[:300]))


def _hold_or_drop(engine: Engine, rule: AlertRule, rows: list[dict], reason: str, until: datetime,
                  counts: OutboxCounts) -> None:
    """Release the claim: held rows wait (their attempt not counted) until `until`; dropped ones are never sent."""
    with engine.begin() as conn:
        for row in rows:
            if rule.hold == "hold":
                values = {"status": "pending", "held_until": until, "held_reason": reason, "attempts": row["attempts"],
                          "next_attempt_at": None}
                counts.held += 1
            else:
                values = {"status": "dropped", "held_reason": reason, "next_attempt_at": None,
                          "last_error": f"dropped: {reason.replace('_', ' ')} (the rule has hold: drop)"}
                counts.dropped += 1
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == row["id"]).values(**values))


def _give_up_unfinished(conn: Connection, row: dict, counts: OutboxCounts) -> None:
    # Only a claim whose delivery never recorded an outcome (the worker was killed, or crashed mid-send) gets
    # here: without this, such a row would be re-claimed after every lease, and its channels sent it each time.
    error = f"gave up after {row['attempts']} delivery attempts, the last of which never finished"
    res = conn.execute(update(alert_outbox).where(alert_outbox.c.id == row["id"], alert_outbox.c.status == "pending")
                       .values(status="failed", last_error=error, next_attempt_at=None))
    if res.rowcount:
        log.warning("alert %s of rule %r: %s", row["id"], row["rule"], error)
        counts.failed += 1
        counts.errors.append((Count.FAILED, error))


def _give_up(engine: Engine, rows: list[dict], error: str, counts: OutboxCounts) -> None:
    with engine.begin() as conn:
        for row in rows:
            counts.failed += 1
            counts.errors.append((Count.FAILED, error))
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == row["id"])
                         .values(status="failed", last_error=error))


def _settle(engine: Engine, rule: AlertRule, rows: list[dict], progress: dict[int, _Progress], now: datetime,
            counts: OutboxCounts) -> None:
    """Record each row's outcome: sent once every channel has had it (or dropped it), held while a channel's own
    window or limit keeps it back, retried with backoff while a channel failed."""
    with engine.begin() as conn:
        for row in rows:
            done = progress[row["id"]]
            payload = {**row["payload"], "_delivered": sorted(done.delivered)}
            if done.dropped:
                payload["_dropped"] = done.dropped
            if done.told is not None:  # the outlets the alert named: a later copy from one of them is no story update
                payload["_told_outlets"] = sorted(set(payload.get("_told_outlets", [])) | set(done.told))
            values = _outcome(row, done, now, counts)
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == row["id"]).values(payload=payload, **values))


def _outcome(row: dict, done: _Progress, now: datetime, counts: OutboxCounts) -> dict:
    attempts = row["attempts"] + 1
    if done.errors:
        # A channel's hold is not recorded with a failure: the retry comes sooner, and checks the hold again.
        error = "; ".join(done.errors)
        if attempts >= MAX_ATTEMPTS:
            counts.failed += 1
            counts.errors.append((Count.FAILED, error))
            return {"status": "failed", "last_error": error}
        counts.retry_later += 1
        counts.errors.append((Count.RETRY_LATER, error))
        delay_s = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
        return {"status": "pending", "last_error": error, "next_attempt_at": now + timedelta(seconds=delay_s)}
    if done.holds:
        # Pending for the channels that hold it (the claim's attempt not counted), until the first of them may send.
        until, why = min(done.holds)
        counts.held += 1
        return {"status": "pending", "held_until": until, "held_reason": why, "attempts": row["attempts"],
                "next_attempt_at": None, "last_error": None}
    dropped = "; ".join(f"dropped: {why.replace('_', ' ')} (the rule has hold: drop)" for why in done.dropped.values())
    if done.dropped and not done.delivered:
        counts.dropped += 1
        return {"status": "dropped", "held_reason": next(iter(done.dropped.values())), "last_error": dropped,
                "next_attempt_at": None}
    counts.sent += 1
    if done.dropped:  # sent to the rule's other channels, dropped for these
        counts.dropped += 1
    return {"status": "sent", "sent_at": now, "last_error": dropped or None, "next_attempt_at": None}
