"""Index: staged articles joined to copy clusters and event-level stories, then created in the search index (an existing id is a duplicate)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from newsmon.app.stages.counts import Counts, recorded, utcnow
from newsmon.core.documents import article_to_document, document_to_article
from newsmon.core.outcomes import Count, SkipReason, Stage
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.enrich.dedup import fingerprint
from newsmon.enrich.story_signals import StorySignals
from newsmon.store.backends import open_index
from newsmon.store.clusters import assign_clusters, take_dedup_lock
from newsmon.store.db import open_engine
from newsmon.store.schema import articles
from newsmon.store.stories import assign_stories

# What each duplicate kind of the cluster step is counted as.
_DUPLICATE_COUNTS = {"exact": Count.DUPLICATES_EXACT, "near": Count.DUPLICATES_NEAR}
# A staged row's document also carries what the extraction worker computed for the cluster step (MinHash
# fingerprint, story signals), under this key; clustering rewrites the document without it, so it never
# reaches the search index. A row staged without it (an older release) gets both computed here.
STAGED_KEY = "_staged"


_CLUSTERED = update(articles).where(articles.c.id == bindparam("b_id")).values(
    status="clustered", cluster_id=bindparam("b_cluster_id"), duplicate_of=bindparam("b_duplicate_of"),
    dup_reason=bindparam("b_dup_reason"), doc=bindparam("b_doc", type_=articles.c.doc.type))


def staged_extras(article: Article, signals: StorySignals | None) -> dict[str, Any]:
    """The extra key of a staged row's document: the worker's fingerprint and story signals of the article."""
    if signals is None:
        return {}
    return {STAGED_KEY: {"fingerprint": list(article.fingerprint),
                         "signals": {"dates": signals.dates, "quantities": signals.quantities, "names": signals.names}}}


def articles_in_status(conn: Connection, status: str, *, alerted: bool | None = None) -> list[Article]:
    """The articles of one pipeline status (staged → clustered → indexed), in id order."""
    stmt = select(articles.c.doc).where(articles.c.status == status)
    if alerted is not None:
        stmt = stmt.where(articles.c.alerted == alerted)
    rows = conn.execute(stmt.order_by(articles.c.id)).all()
    return [document_to_article(r.doc) for r in rows]


def cluster_and_index(settings: Settings, now: datetime | None = None) -> dict:
    """Assign staged articles to story clusters, then create them in the search index (409 = duplicate)."""
    now = now or utcnow()
    with recorded(settings, Stage.INDEX) as counts:
        engine = open_engine(settings.database_url)
        _cluster(engine, counts, now)
        _index(settings, engine, counts)
        return counts.as_dict()


def _cluster(engine: Engine, counts: Counts, now: datetime) -> None:
    with engine.begin() as conn:
        # Lock, then read: a concurrent run waits here and finds only what is still staged, instead of
        # clustering (and counting) the same articles a second time.
        take_dedup_lock(conn)
        staged, signals = _staged(conn)
        if not staged:
            return
        # Stories after copy clusters, in the same transaction and under the same lock: a copy joins its
        # cluster's story, and a translation the story of its event.
        done = assign_stories(conn, assign_clusters(conn, staged, now), now, signals=signals)
        # One executemany for the batch instead of a statement per article.
        conn.execute(_CLUSTERED, [{"b_id": a.id, "b_cluster_id": a.cluster_id, "b_duplicate_of": a.duplicate_of,
                                   "b_dup_reason": a.dup_reason, "b_doc": article_to_document(a)} for a in done])
        for article in done:
            counts.add(Count.CLUSTERED)
            if article.dup_reason:
                counts.add(_DUPLICATE_COUNTS[article.dup_reason])


def _staged(conn: Connection) -> tuple[list[Article], dict[str, StorySignals]]:
    """The staged articles in id order, with their fingerprints, and the story signals the workers computed."""
    found: list[Article] = []
    signals: dict[str, StorySignals] = {}
    rows = conn.execute(select(articles.c.doc).where(articles.c.status == "staged").order_by(articles.c.id))
    for row in rows:
        article = document_to_article(row.doc)
        extras = row.doc.get(STAGED_KEY)
        if extras is None:
            found.append(replace(article, fingerprint=fingerprint(article.text)))
            continue
        found.append(replace(article, fingerprint=tuple(extras["fingerprint"])))
        signals[article.id] = StorySignals(**{k: tuple(v) for k, v in extras["signals"].items()})
    return found, signals


def _index(settings: Settings, engine: Engine, counts: Counts) -> None:
    with engine.connect() as conn:
        pending = articles_in_status(conn, "clustered")
    if not pending:
        return
    index = open_index(settings, engine)
    try:
        result = index.put_articles(pending)
    finally:
        index.close()
    done = result.created + result.duplicates
    with engine.begin() as conn:
        if done:
            conn.execute(update(articles).where(articles.c.id.in_(done)).values(status="indexed", index_error=None))
        for article_id, reason in result.failed.items():
            conn.execute(update(articles).where(articles.c.id == article_id).values(index_error=reason[:2000]))
    counts.add(Count.INDEXED, len(result.created))
    counts.add(Count.INDEX_DUPLICATES, len(result.duplicates))
    counts.add(Count.INDEX_FAILED_KEPT_STAGED, len(result.failed))
    for article_id, reason in result.failed.items():
        counts.skip(SkipReason.INDEX_REFUSED, detail=f"article {article_id}: {reason[:200]}")
