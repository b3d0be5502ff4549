"""Reading the articles the state DB holds, for the commands that rebuild or inspect the search index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from newsmon.core.documents import document_to_article
from newsmon.core.records import Article
from newsmon.store.schema import articles

READ_BATCH_ROWS = 500


@dataclass(frozen=True)
class UnreadableArticle:
    """A stored article whose document no longer reads as an Article (hand edits, a bug of an older version)."""

    article_id: str
    reason: str


def indexed_articles(engine: Engine, unreadable: list[UnreadableArticle]) -> Iterator[Article]:
    """Every article the search index has, from the state DB, in id order.

    An unreadable document is appended to `unreadable` and left out, so one bad row cannot stop a reindex."""
    query = select(articles.c.id, articles.c.doc).where(articles.c.status == "indexed").order_by(articles.c.id)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=READ_BATCH_ROWS).execute(query):
            try:
                yield document_to_article(dict(row.doc))
            except (KeyError, TypeError, ValueError) as exc:
                unreadable.append(UnreadableArticle(row.id, repr(exc)))
