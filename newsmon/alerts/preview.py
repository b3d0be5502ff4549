"""`newsmon alerts test`: what a rule (or a draft query) would have sent, grouped by story; it sends and records nothing.

The live path never asks the search index: it matches each newly indexed document in-process (the tagger's folding
and stemming) and keys the alert by story (newsmon/alerts/outbox.py). A preview does the same over the documents
the state DB holds for the period, so it lists exactly the stories the rule would alert. It also runs the query
through the configured index's search (SQLite FTS5 or Elasticsearch), and says how far that search, which is what
Kibana and `newsmon search` show, agrees: their analysers inflect and fold differently (`salcininkai` does not
find `Šalčininkų` in FTS5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.core.config import AlertRule
from newsmon.core.documents import document_to_article
from newsmon.core.records import Article
from newsmon.store.clusters_lsh import chunks, utc
from newsmon.store.index import SearchIndex, SearchQuery
from newsmon.store.schema import alert_outbox, articles
from newsmon.store.stories import stories_of

PREVIEW_LIMIT = 1000  # hits asked of the index; a preview that reaches it says so
MAX_SCANNED = 50_000  # stored documents matched at most; a preview that reaches it says so


@dataclass(frozen=True)
class PreviewStory:
    """One alert the rule would send: the story's earliest matching article (what the alert shows), the others."""

    key: str  # the outbox key the live path would use: story:<id>, or a copy cluster
    first: Article
    others: tuple[Article, ...]
    already_alerted: bool  # the live rule has an outbox row for it already


@dataclass(frozen=True)
class Preview:
    stories: list[PreviewStory]
    scanned: int  # stored documents of the period the rule was matched on
    matched: int  # of them, those the rule matches
    index_found: int  # of the matching ones, those the index's own search for the query returns
    index_other: int  # articles the index's search returns that the rule does not match
    truncated: bool  # MAX_SCANNED documents or PREVIEW_LIMIT hits reached: narrow the period


def preview_rule(engine: Engine, index: SearchIndex, rule: AlertRule, since: datetime | None) -> Preview:
    """The stories `rule` would alert among indexed articles published (or fetched) since `since`."""
    stored = _stored_since(engine, since)
    # Earliest first, as the alert stage orders a run's articles: the alert shows the story's original.
    matching = sorted((a for a in stored if rule_matches(rule, ArticleView(a))),
                      key=lambda a: (a.published_at or a.fetched_at, a.id))
    with engine.connect() as conn:
        story_of = stories_of(conn, [a.id for a in matching])
        groups: dict[str, list[Article]] = {}
        for article in matching:
            groups.setdefault(_key(rule, article, story_of), []).append(article)
        alerted = _alerted_keys(conn, rule.name, list(groups))
    hits = index.search(SearchQuery(q=rule.query.strip() or "*", since=since, languages=tuple(rule.languages),
                                    sources=tuple(rule.sources), on_topic=rule.on_topic, limit=PREVIEW_LIMIT,
                                    sort="date"))
    found, matched_ids = {h.id for h in hits}, {a.id for a in matching}
    stories = [PreviewStory(key, group[0], tuple(group[1:]), key in alerted) for key, group in groups.items()]
    return Preview(stories, len(stored), len(matching), len(found & matched_ids), len(found - matched_ids),
                   len(stored) >= MAX_SCANNED or len(hits) >= PREVIEW_LIMIT)


def _key(rule: AlertRule, article: Article, story_of: dict[str, str]) -> str:
    # The same choice as outbox.alert_key: by copy cluster for group_by: cluster or an article without a story.
    if rule.group_by == "cluster" or not article.story_id:
        return article.cluster_id or article.id
    return f"story:{story_of.get(article.id, article.story_id)}"


def _stored_since(engine: Engine, since: datetime | None) -> list[Article]:
    """The indexed documents published (or, undated, fetched) since `since`, as the live path matched them."""
    stmt = select(articles.c.doc).where(articles.c.status == "indexed").order_by(articles.c.staged_at.desc())
    if since is not None:  # an article is staged after it is fetched, so this keeps every one the period holds
        stmt = stmt.where(articles.c.staged_at >= since)
    with engine.connect() as conn:
        found = [document_to_article(row.doc) for row in conn.execute(stmt.limit(MAX_SCANNED))]
    return [a for a in found if since is None or utc(a.published_at or a.fetched_at) >= since]


def _alerted_keys(conn: Connection, rule: str, keys: list[str]) -> set[str]:
    seen: set[str] = set()
    for chunk in chunks(keys):
        seen |= set(conn.execute(select(alert_outbox.c.cluster_id).where(
            alert_outbox.c.rule == rule, alert_outbox.c.cluster_id.in_(chunk), alert_outbox.c.copy_id == "")).scalars())
    return seen
