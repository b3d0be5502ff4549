"""Outbox rows → Message (newsmon/alerts/message.py): outlets by name and affiliation, the story's other outlets, updates.

`compose` builds the Message one channel of a rule is sent for some outbox rows; channels.deliver renders it
(newsmon/alerts/render.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from newsmon.alerts.message import EntryKind, Message, MessageKind, Outlet, Segment, StoryEntry
from newsmon.alerts.render import affiliation_label
from newsmon.core.config import AlertRule, ConfigError, load_feeds
from newsmon.core.documents import parse_datetime
from newsmon.core.records import Feed
from newsmon.core.settings import Settings
from newsmon.store.clusters import cluster_info
from newsmon.store.stories import StoryMember, stories_of, story_members_of

log = logging.getLogger(__name__)

MAX_DIGEST_STORIES = 20  # a digest shows this many stories in full, then "+N more" (they stay in the outbox listing)


def feed_outlets(settings: Settings) -> dict[str, Feed]:
    """The configured feeds by id (what names an outlet); an unreadable feeds.yaml leaves outlets named by id."""
    try:
        return {feed.id: feed for feed in load_feeds(settings.feeds_file)}
    except ConfigError as exc:  # the poll stage reports it; an alert still goes out, naming outlets by feed id
        log.warning("alerts name outlets by feed id: %s", exc)
        return {}


@dataclass(frozen=True)
class StoryContext:
    """What the state DB says about the stories of the rows being sent: their articles now, their copy clusters."""

    members: Mapping[str, Sequence[StoryMember]]  # by article id: every article of its story, oldest first
    cluster_outlets: Mapping[str, Sequence[str]]  # by copy cluster id


def story_context(conn: Connection, rows: Sequence[dict]) -> StoryContext:
    story_of = stories_of(conn, {r["article_id"] for r in rows})
    by_story = story_members_of(conn, set(story_of.values()))
    clusters = cluster_info(conn, {r["payload"].get("cluster_id") or r["cluster_id"] for r in rows})
    return StoryContext({a: by_story.get(s, []) for a, s in story_of.items()},
                        {c: info["outlets"] for c, info in clusters.items()})


def _outlet(feed_id: str, feeds: Mapping[str, Feed], language: str | None = None,
            affiliation: str | None = None) -> Outlet:
    feed = feeds.get(feed_id)
    return Outlet(feed_id=feed_id, name=feed.name if feed else feed_id,
                  language=language or (feed.language if feed else None),
                  affiliation=affiliation or (feed.affiliation if feed else None))


def story_outlets(rule: AlertRule, payload: dict, context: StoryContext, feeds: Mapping[str, Feed]) -> list[Outlet]:
    """Every outlet that carried the story (or, for a rule grouped by cluster, the copy cluster), once each."""
    members = context.members.get(payload["article_id"], ()) if rule.group_by == "story" else ()
    found: dict[str, Outlet] = {}
    for m in members:
        if m.source and m.source not in found:
            found[m.source] = _outlet(m.source, feeds, m.language, m.affiliation)
    if not members:
        for source in context.cluster_outlets.get(payload.get("cluster_id") or "", ()):
            found.setdefault(source, _outlet(source, feeds))
    own = payload.get("source") or ""
    found.setdefault(own, _outlet(own, feeds, payload.get("language")))
    return list(found.values())


def _segment(raw: object) -> Segment:
    if isinstance(raw, dict):
        return Segment(str(raw.get("text", "")), bool(raw.get("hit")))
    text, hit = raw if isinstance(raw, (list, tuple)) and len(raw) == 2 else (raw, False)
    return Segment(str(text), bool(hit))


def _passages(payload: dict) -> tuple[tuple[Segment, ...], ...]:
    # Filled in by the highlighter (payload["passages"]: lists of [text, hit] segments); absent in older rows.
    return tuple(tuple(_segment(s) for s in passage) for passage in payload.get("passages", []))


def _entry(rule: AlertRule, row: dict, context: StoryContext, feeds: Mapping[str, Feed], kind: EntryKind,
           note: str | None) -> StoryEntry:
    p = row["payload"]
    outlets = story_outlets(rule, p, context, feeds)
    own = next(o for o in outlets if o.feed_id == (p.get("source") or ""))
    return StoryEntry(
        key=row["cluster_id"], article_id=p["article_id"], title=p.get("title") or "", url=p.get("url") or "",
        outlet=own, published_at=parse_datetime(p["published_at"]) if p.get("published_at") else None,
        language=p.get("language"), subtopics=tuple(p.get("subtopics") or ()), passages=_passages(p),
        other_outlets=tuple(o for o in outlets if o.feed_id != own.feed_id), kind=kind, note=note)


def update_note(outlets: Sequence[Outlet], new: Sequence[Outlet]) -> str:
    """"now reported by 5 outlets, including BelTA (state-controlled, ru)": the new ones, state-controlled first."""
    def shown(o: Outlet) -> str:
        about = ", ".join(x for x in (affiliation_label(o.affiliation), o.language) if x)
        return f"{o.name} ({about})" if about else o.name

    ordered = sorted(new, key=lambda o: (o.affiliation != "state_controlled", o.name))
    return f"now reported by {len(outlets)} outlets, including {', '.join(shown(o) for o in ordered)}"


def _update_entries(rule: AlertRule, rows: Sequence[dict], context: StoryContext,
                    feeds: Mapping[str, Feed]) -> list[StoryEntry]:
    """One entry per story: the newest later copy, with a note naming every outlet that carried it since."""
    by_story: dict[str, list[dict]] = {}
    for row in rows:
        by_story.setdefault(row["cluster_id"], []).append(row)
    entries = []
    for story_rows in by_story.values():
        newest = story_rows[-1]
        outlets = story_outlets(rule, newest["payload"], context, feeds)
        new = [_outlet(r["payload"].get("source") or "", feeds, r["payload"].get("language"),
                       r["payload"].get("affiliation")) for r in story_rows]
        entries.append(_entry(rule, newest, context, feeds, "update", update_note(outlets, new)))
    return entries


def message_key(rule: AlertRule, rows: Sequence[dict], kind: MessageKind) -> str:
    """The same for every send of the same message (retries, reruns): a receiver drops a repeat by it."""
    base = rule.name.replace(" ", "_")
    if kind == "instant" and len(rows) == 1:
        row = rows[0]
        pickup = f".pickup.{row['payload'].get('pickup_kind')}" if row["payload"].get("pickup") else ""
        # The copy cluster, as before stories: a rerun of an alert keeps the Message-ID it had.
        return f"{base}.{row['payload'].get('cluster_id') or row['cluster_id']}{pickup}"
    ids = ",".join(str(r["id"]) for r in sorted(rows, key=lambda r: r["id"]))
    return f"{base}.{kind}.{hashlib.sha256(ids.encode()).hexdigest()[:16]}"


def compose(rule: AlertRule, rows: Sequence[dict], kind: MessageKind, context: StoryContext,
            feeds: Mapping[str, Feed], created_at: datetime, period: str | None = None) -> Message:
    """The Message one channel of `rule` is sent for these outbox rows (alerts and pickups first, then updates)."""
    alerts = [r for r in rows if not r.get("copy_id")]
    updates = [r for r in rows if r.get("copy_id")]
    entries = [_entry(rule, r, context, feeds, "pickup" if r["payload"].get("pickup") else "alert",
                      r["payload"].get("pickup")) for r in alerts]
    entries += _update_entries(rule, updates, context, feeds)
    shown = entries if kind == "instant" else entries[:MAX_DIGEST_STORIES]
    return Message(rule=rule.name, kind=kind, key=message_key(rule, rows, kind), entries=tuple(shown),
                   created_at=created_at, more=len(entries) - len(shown), period=period)
