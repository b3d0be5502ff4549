"""The one document shape of an article, shared by the state DB, the SQLite index and Elasticsearch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsmon.core.records import Article, TopicMatch, TopicResult

# Fields of the indexed document, in order. The Elasticsearch mapping (newsmon/store/es_mapping.json) must
# map exactly these; tests check the two against each other.
DOCUMENT_FIELDS = (
    "id",
    "url",
    "canonical_url",
    "source",
    "source_affiliation",
    "source_country",
    "feed_url",
    "title",
    "text",
    "summary",
    "authors",
    "published_at",
    "modified_at",
    "fetched_at",
    "language",
    "site_name",
    "image",
    "word_count",
    "content_hash",
    "topic",
    "on_topic",
    "relevance",
    "subtopics",
    "entities",
    "matched",
    "cluster_id",
    "duplicate_of",
    "dup_reason",
    "story_id",
)


def format_datetime(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z suffix (strict_date_optional_time in Elasticsearch terms); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: newsmon stores only timezone-aware datetimes")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def article_to_document(article: Article) -> dict[str, Any]:
    """The JSON document for one article (no None-valued keys are dropped: absent means null)."""
    topic = article.topic
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "source_affiliation": article.source_affiliation,
        "source_country": article.source_country,
        "feed_url": article.feed_url,
        "title": article.title,
        "text": article.text,
        "summary": article.summary,
        "authors": list(article.authors),
        "published_at": format_datetime(article.published_at),
        "modified_at": format_datetime(article.modified_at),
        "fetched_at": format_datetime(article.fetched_at),
        "language": article.language,
        "site_name": article.site_name,
        "image": article.image,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "topic": topic.topic if topic else None,
        "on_topic": topic.on_topic if topic else False,
        "relevance": round(topic.relevance, 4) if topic else 0.0,
        "subtopics": list(topic.subtopics) if topic else [],
        "entities": list(article.entities or (topic.entities if topic else ())),
        "matched": [
            {"term": m.term, "surface": m.surface, "start": m.start, "end": m.end, "field": m.field, "kind": m.kind}
            for m in (topic.matched if topic else ())
        ],
        "cluster_id": article.cluster_id,
        "duplicate_of": article.duplicate_of,
        "dup_reason": article.dup_reason,
        "story_id": article.story_id,
    }


def document_to_article(doc: dict[str, Any]) -> Article:
    """Inverse of article_to_document (the fingerprint is not part of the document)."""
    topic = None
    if doc.get("topic"):
        topic = TopicResult(
            topic=doc["topic"],
            on_topic=bool(doc.get("on_topic")),
            relevance=float(doc.get("relevance") or 0.0),
            subtopics=tuple(doc.get("subtopics") or ()),
            entities=tuple(doc.get("entities") or ()),
            matched=tuple(TopicMatch(**m) for m in doc.get("matched") or ()),
        )
    fetched_at = parse_datetime(doc["fetched_at"])
    if fetched_at is None:  # every article was fetched at some time; an empty one means the document is damaged
        raise ValueError(f"document {doc.get('id')!r} has no fetched_at")
    return Article(
        id=doc["id"],
        url=doc["url"],
        canonical_url=doc["canonical_url"],
        source=doc["source"],
        title=doc["title"],
        text=doc["text"],
        fetched_at=fetched_at,
        content_hash=doc["content_hash"],
        source_affiliation=doc.get("source_affiliation"),
        source_country=doc.get("source_country"),
        feed_url=doc.get("feed_url"),
        summary=doc.get("summary"),
        authors=tuple(doc.get("authors") or ()),
        published_at=parse_datetime(doc.get("published_at")),
        modified_at=parse_datetime(doc.get("modified_at")),
        language=doc.get("language"),
        site_name=doc.get("site_name"),
        image=doc.get("image"),
        topic=topic,
        entities=tuple(doc.get("entities") or ()),
        cluster_id=doc.get("cluster_id"),
        duplicate_of=doc.get("duplicate_of"),
        dup_reason=doc.get("dup_reason"),
        story_id=doc.get("story_id"),
    )
