"""Outbox rows → Message (newsmon/alerts/message.py): outlets by name and affiliation, the story's other outlets, updates.

This is where the outbox meets the renderer. `compose` builds one Message from the rows one channel is sent;
`to_alert` turns it into the plain-text Alert the channels of newsmon/alerts/channels.py deliver today (the
renderer replaces that last step with its templates).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from newsmon.alerts.channels import Alert
from newsmon.alerts.message import EntryKind, Message, MessageKind, Outlet, Segment, StoryEntry
from newsmon.core.config import AlertRule, ConfigError, load_feeds
from newsmon.core.documents import parse_datetime
from newsmon.core.records import Feed
from newsmon.core.settings import Settings
from newsmon.core.text import subject_title
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


def affiliation_label(affiliation: str | None) -> str | None:
    return affiliation.replace("_", "-") if affiliation else None


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
            feeds: Mapping[str, Feed], created_at: datetime) -> Message:
    """The Message one channel of `rule` is sent for these outbox rows (alerts and pickups first, then updates)."""
    alerts = [r for r in rows if not r.get("copy_id")]
    updates = [r for r in rows if r.get("copy_id")]
    entries = [_entry(rule, r, context, feeds, "pickup" if r["payload"].get("pickup") else "alert",
                      r["payload"].get("pickup")) for r in alerts]
    entries += _update_entries(rule, updates, context, feeds)
    shown = entries if kind == "instant" else entries[:MAX_DIGEST_STORIES]
    return Message(rule=rule.name, kind=kind, key=message_key(rule, rows, kind), entries=tuple(shown),
                   created_at=created_at, more=len(entries) - len(shown))


# ---------------------------------------------------------------- the plain-text bridge to today's channels


def _story_line(entry: StoryEntry) -> list[str]:
    outlets = [entry.outlet, *entry.other_outlets]
    if len(outlets) < 2:
        return []
    languages = sorted({o.language for o in outlets if o.language})
    names = sorted(o.name for o in outlets)
    return [f"story: {len(outlets)} outlets in {len(languages)} language(s) "
            f"({', '.join(languages) or '?'}): {', '.join(names)}"]


def _entry_lines(rule: AlertRule, entry: StoryEntry, payload: dict) -> list[str]:
    others = len(entry.other_outlets)
    also = f" · also reported by {others} other outlet(s)" if others and entry.kind != "update" else ""
    about = ", ".join(x for x in (affiliation_label(entry.outlet.affiliation),) if x)
    outlet = f"{entry.outlet.name} ({about})" if about else entry.outlet.name
    published = payload.get("published_at") or "publish date unknown"
    lines = [entry.title, *([f"story update: {entry.note}"] if entry.kind == "update" else []),
             *([entry.note] if entry.kind == "pickup" and entry.note else []),
             f"{outlet} · {published} · {entry.language or '?'}{also}",
             *(_story_line(entry) if rule.group_by == "story" and entry.kind != "update" else []),
             entry.url]
    if entry.kind != "update":
        lines += [f"relevance {payload.get('relevance', 0):.2f} · subtopics: {', '.join(entry.subtopics) or '-'} · "
                  f"matched: {', '.join(payload.get('matched') or []) or '-'}",
                  (payload.get("lead") or "") + " …"]
    return [*lines, ""]


def to_alert(rule: AlertRule, message: Message, rows: Sequence[dict], label: str = "") -> Alert:
    """The Message as the plain-text Alert channels.deliver takes (until the renderer's templates take over).

    `label` names a digest in its subject: "daily digest", "held digest"."""
    rows_out = [{k: v for k, v in r["payload"].items() if not k.startswith("_")} for r in rows]
    payloads = {p["article_id"]: p for p in rows_out}
    lines = []
    for entry in message.entries:
        lines += _entry_lines(rule, entry, payloads.get(entry.article_id, {}))
    if message.more:
        lines.append(f"+{message.more} more")
    if message.kind == "instant" and len(message.entries) == 1:
        subject = f"[newsmon] {rule.name}: {subject_title(message.entries[0].title)}"
    elif message.kind == "followup":
        subject = f"[newsmon] {rule.name}: {len(message.entries) + message.more} story update(s)"
    else:
        stories = len(message.entries) + message.more
        subject = f"[newsmon] {rule.name}: {stories} stories ({label or 'digest'})"
    payload = {"stories": rows_out} if len(rows_out) > 1 else dict(rows_out[0])
    payload["key"] = message.key
    return Alert(rule=rule.name, subject=subject, body="\n".join(lines).strip() + "\n",
                 message_id=message.message_id, payload=payload)
