"""Pickup alerts: a story a rule watches reaches a new language or a state-controlled outlet ("now carried by BelTA").

A rule with `pickup: true` watches every story one of whose articles matches it. Its alerts fire not when the
story appears but each time a newly indexed article brings the story a language none of its earlier articles
had, or a state-controlled outlet when none of them was one. "Earlier" is by publication time (then id), so
the outcome does not depend on the order of arrival; the outbox key `pickup:<story>:<kind>` fires each once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.alerts.outbox import OutboxCounts, payload_of
from newsmon.core.config import AlertRule
from newsmon.core.documents import document_to_article
from newsmon.core.records import Article
from newsmon.store.clusters_lsh import chunks
from newsmon.store.db import insert_ignore
from newsmon.store.schema import alert_outbox, articles
from newsmon.store.stories import StoryMember, affiliation_group, seen_at, stories_of, story_members_of

STATE = "state-controlled"
LANGUAGE_NAMES = {"be": "Belarusian", "de": "German", "en": "English", "lt": "Lithuanian", "lv": "Latvian",
                  "pl": "Polish", "ru": "Russian", "uk": "Ukrainian", "et": "Estonian", "fr": "French"}


def pickups(article: Article, earlier: Sequence[StoryMember]) -> list[str]:
    """What the article brings its story: `language:<code>` and/or `state` (nothing for a story's first article)."""
    if not earlier:
        return []
    found = []
    if article.language and article.language not in {m.language for m in earlier}:
        found.append(f"language:{article.language}")
    if affiliation_group(article.source_affiliation) == STATE and all(
            affiliation_group(m.affiliation) != STATE for m in earlier):
        found.append("state")
    return found


def pickup_note(article: Article, first: StoryMember, kind: str) -> str:
    """"the lrt story is now carried by belta, in Russian" (or "…, a state-controlled outlet")."""
    language = LANGUAGE_NAMES.get(article.language or "", article.language or "another language")
    how = f"in {language}" if kind.startswith("language:") else f"a {STATE} outlet, in {language}"
    return f"pickup: the {first.source} story is now carried by {article.source}, {how}"


def enqueue_pickups(conn: Connection, rules: Sequence[AlertRule], fresh: Sequence[Article], now: datetime) -> OutboxCounts:
    """One outbox row per (pickup rule, story, what it reached) for the newly indexed articles."""
    counts = OutboxCounts()
    watching = [r for r in rules if r.enabled and r.pickup]
    if not watching or not fresh:
        return counts
    story_of = stories_of(conn, [a.id for a in fresh])
    members = story_members_of(conn, set(story_of.values()))
    watched: dict[tuple[str, str], bool] = {}
    for article in sorted(fresh, key=lambda a: (seen_at(a), a.id)):
        story_id = story_of.get(article.id)
        if story_id is None:
            continue
        story = members.get(story_id, [])
        earlier = [m for m in story if (m.seen_at, m.article_id) < (seen_at(article), article.id)]
        kinds = pickups(article, earlier)
        if not kinds:
            continue
        view = ArticleView(article)
        for rule in watching:
            if not _watches(conn, rule, story_id, story, view, watched):
                continue
            counts.matched += 1
            for kind in kinds:
                payload = {**payload_of(view, rule), "pickup": pickup_note(article, story[0], kind), "pickup_kind": kind}
                row = {"rule": rule.name, "cluster_id": f"pickup:{story_id}:{kind}"[:64], "article_id": article.id,
                       "mode": rule.mode, "status": "pending", "attempts": 0, "created_at": now, "payload": payload}
                if insert_ignore(conn, alert_outbox, row):
                    counts.enqueued += 1
                else:
                    counts.already_alerted += 1
    return counts


def _watches(conn: Connection, rule: AlertRule, story_id: str, story: list[StoryMember], view: ArticleView,
             cache: dict[tuple[str, str], bool]) -> bool:
    """Whether any article of the story matches the rule (its query may be in the first article's language)."""
    key = (rule.name, story_id)
    if key not in cache:
        cache[key] = rule_matches(rule, view) or any(rule_matches(rule, ArticleView(a))
                                                     for a in _stored_articles(conn, [m.article_id for m in story]))
    return cache[key] or rule_matches(rule, view)


def _stored_articles(conn: Connection, ids: list[str]) -> list[Article]:
    found = []
    for chunk in chunks(ids):
        found += [document_to_article(row.doc) for row in conn.execute(select(articles.c.doc).where(articles.c.id.in_(chunk)))]
    return found
