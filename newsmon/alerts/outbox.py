"""Alert outbox: one row per (rule, story cluster), moved pending → sent | failed with backoff.

The unique (rule, cluster_id) key is what makes an alert fire once per story: later copies of the
story, reruns and parallel workers all hit the same row. A row is claimed (status `sending`) before
delivery and channels already delivered are remembered, so a retry never resends to them. A worker
killed between sending and recording leaves a `sending` row that is released after
SENDING_LEASE_S; the resend carries the same Message-ID, so mail clients fold it. Every claim counts as an
attempt, so a row whose deliveries keep dying is given up after MAX_ATTEMPTS like one that keeps failing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from newsmon.alerts.channels import DeliveryError, deliver
from newsmon.alerts.highlight import passages
from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.alerts.message import Message, Outlet, Segment, StoryEntry
from newsmon.core.config import AlertRule
from newsmon.core.documents import parse_datetime
from newsmon.core.errors import Unavailable
from newsmon.core.outcomes import Count
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.store.clusters import cluster_info
from newsmon.store.db import insert_ignore
from newsmon.store.schema import alert_outbox
from newsmon.store.stories import StorySummary, stories_of, story_member_ids, story_summaries

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
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    # (the counter the row went to: retry_later or failed, the error): examples for the run's counts.
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as `newsmon alerts outbox` (and any other reader) shows it."""

    id: int
    rule: str
    status: str  # pending | sending | sent | failed
    attempts: int
    created_at: datetime
    cluster_id: str
    title: str
    last_error: str | None


def list_outbox(engine: Engine, *, status: str | None = None, limit: int = 30) -> list[OutboxEntry]:
    """The newest `limit` outbox rows, of one status or all."""
    stmt = select(alert_outbox).order_by(alert_outbox.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(alert_outbox.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [OutboxEntry(id=r["id"], rule=r["rule"], status=r["status"], attempts=r["attempts"],
                        created_at=r["created_at"], cluster_id=r["cluster_id"],
                        title=str(r["payload"].get("title", "")), last_error=r["last_error"]) for r in rows]


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
        "relevance": round(doc["relevance"], 3),
        "matched": sorted({m["surface"] for m in doc["matched"]})[:12],
        "lead": " ".join(doc["text"].split()[:60]),
        "passages": [[[seg.text, seg.hit] for seg in passage] for passage in passages(rule, view)],
    }


def enqueue_matches(conn: Connection, rules: Sequence[AlertRule], new_articles: Sequence[Article], now: datetime) -> OutboxCounts:
    """Queue one outbox row per (rule, cluster) for newly indexed articles that match a rule."""
    counts = OutboxCounts()
    for article in new_articles:
        view = ArticleView(article)
        for rule in rules:
            if not rule.enabled or rule.pickup or not rule_matches(rule, view):
                continue
            counts.matched += 1
            key = alert_key(conn, rule, article)
            if key is None:
                counts.already_alerted += 1
                continue
            row = {
                "rule": rule.name,
                "cluster_id": key,
                "article_id": article.id,
                "mode": rule.mode,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "payload": payload_of(view, rule),
            }
            if insert_ignore(conn, alert_outbox, row):
                counts.enqueued += 1
            else:
                counts.already_alerted += 1
    return counts


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


def _story_outlets(conn: Connection, cluster_ids: set[str]) -> dict[str, set[str]]:
    """The outlets each story cluster has been seen at (its record keeps them as copies join it)."""
    return {cluster_id: set(info["outlets"]) for cluster_id, info in cluster_info(conn, cluster_ids).items()}


def _format(rule: AlertRule, payloads: list[dict], outlets: dict[str, set[str]],
            stories: dict[str, StorySummary] | None = None, now: datetime | None = None) -> Message:
    """The Message of one delivery: one entry per outbox row, its key the Message-ID the rows always had."""
    rows = [{k: v for k, v in p.items() if not k.startswith("_")} for p in payloads]
    stories = stories or {}
    entries = tuple(_entry(rule, p, outlets, stories.get(p["article_id"]) if rule.group_by == "story" else None)
                    for p in rows)
    name = rule.name.replace(" ", "_")
    if len(rows) == 1:
        key, kind = f"{name}.{rows[0]['cluster_id']}{_pickup_suffix(rows[0])}", "instant"
    else:
        key, kind = f"{name}.digest.{rows[0]['cluster_id']}.{len(rows)}", "digest"
    return Message(rule=rule.name, kind=kind, key=key, entries=entries, created_at=now or datetime.now(UTC),
                   period=None if rule.mode == "instant" else rule.mode)


def _entry(rule: AlertRule, p: dict, outlets: dict[str, set[str]], story: StorySummary | None) -> StoryEntry:
    # Other outlets, not other copies: a site that publishes a story twice is still one outlet.
    others = sorted((set(story.outlets) if story else outlets.get(p["cluster_id"], set())) - {p["source"]})
    published = p.get("published_at")
    return StoryEntry(
        key=f"story:{story.story_id}" if story else (p["cluster_id"] or p["article_id"]),
        article_id=p["article_id"], title=p["title"], url=p["url"],
        outlet=Outlet(feed_id=p["source"], name=p["source"], language=p.get("language")),
        published_at=parse_datetime(published) if isinstance(published, str) else published,
        language=p.get("language"), subtopics=tuple(p.get("subtopics") or ()),
        passages=tuple(tuple(Segment(text, bool(hit)) for text, hit in passage) for passage in p.get("passages", [])),
        other_outlets=tuple(Outlet(feed_id=o, name=o) for o in others),
        kind="pickup" if p.get("pickup") else "alert", note=p.get("pickup"))


def _pickup_suffix(payload: dict) -> str:
    # A pickup alert is a new message about a story already alerted: it must not fold into the first one.
    return f".pickup.{payload.get('pickup_kind')}" if payload.get("pickup") else ""


def _current_stories(conn: Connection, article_ids: set[str]) -> dict[str, StorySummary]:
    """The story each alerted article belongs to now (merges since the match included), by article id."""
    story_of = stories_of(conn, article_ids)
    summaries = story_summaries(conn, set(story_of.values()))
    return {a: summaries[s] for a, s in story_of.items() if s in summaries}


def deliver_pending(engine: Engine, rules: Sequence[AlertRule], settings: Settings, now: datetime, *, modes: tuple[str, ...] = ("instant",)) -> OutboxCounts:
    """Deliver due outbox rows of the given modes; instant rows one by one, digest modes grouped per rule."""
    counts = OutboxCounts()
    by_name = {r.name: r for r in rules}
    with engine.begin() as conn:
        conn.execute(
            update(alert_outbox)
            .where(alert_outbox.c.status == "sending", alert_outbox.c.next_attempt_at <= now)
            .values(status="pending")
        )
        due = conn.execute(
            select(alert_outbox)
            .where(alert_outbox.c.status == "pending", alert_outbox.c.mode.in_(modes))
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
        outlets = _story_outlets(conn, {r["payload"]["cluster_id"] or r["cluster_id"] for r in claimed})
        stories = _current_stories(conn, {r["article_id"] for r in claimed})
    groups: dict[tuple[str, int | None], list[dict]] = {}
    for row in claimed:
        key = (row["rule"], None if row["mode"] != "instant" else row["id"])
        groups.setdefault(key, []).append(row)
    for (rule_name, _), rows in groups.items():
        rule = by_name.get(rule_name)
        if rule is None:
            _finish(engine, rows, now, error=f"rule {rule_name!r} is no longer in alerts.yaml", permanent=True, counts=counts)
            continue
        # Each row remembers the channels that already took it, so a retry (or a digest that grew since a
        # partial failure) sends each channel exactly the stories it has not had yet.
        delivered = {r["id"]: set(r["payload"].get("_delivered", [])) for r in rows}
        errors: dict[int, list[str]] = {r["id"]: [] for r in rows}
        for channel in rule.channels:
            key = channel_key(channel)
            needing = [r for r in rows if key not in delivered[r["id"]]]
            if not needing:
                continue
            message = _format(rule, [r["payload"] for r in needing], outlets, stories, now)
            try:
                deliver(channel, message, settings)
            except DeliveryError as exc:  # deliver() raises nothing else, and its text names no secret
                log.warning("rule %r: %s", rule_name, exc)
                for r in needing:
                    errors[r["id"]].append(str(exc))
            else:
                for r in needing:
                    delivered[r["id"]].add(key)
        for r in rows:
            _finish(engine, [r], now, error="; ".join(errors[r["id"]]) or None, permanent=False, counts=counts,
                    delivered=delivered[r["id"]])
    return counts


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


def _finish(engine: Engine, rows: list[dict], now: datetime, *, error: str | None, permanent: bool,
            counts: OutboxCounts, delivered: set[str] | None = None) -> None:
    with engine.begin() as conn:
        for row in rows:
            payload = dict(row["payload"])
            if delivered is not None:
                payload["_delivered"] = sorted(delivered)
            attempts = row["attempts"] + 1
            if error is None:
                values = {"status": "sent", "sent_at": now, "last_error": None, "payload": payload, "next_attempt_at": None}
                counts.sent += 1
            elif permanent or attempts >= MAX_ATTEMPTS:
                values = {"status": "failed", "last_error": error, "payload": payload}
                counts.failed += 1
                counts.errors.append((Count.FAILED, error))
            else:
                delay_s = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
                values = {"status": "pending", "last_error": error, "payload": payload,
                          "next_attempt_at": now + timedelta(seconds=delay_s)}
                counts.retry_later += 1
                counts.errors.append((Count.RETRY_LATER, error))
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == row["id"]).values(**values))
