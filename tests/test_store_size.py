"""What the state DB keeps per article, and what `newsmon maintenance` keeps bounded, on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import load_settings
from newsmon.store.db import open_engine
from newsmon.store.schema import articles
from newsmon.store.sqlite_index import SqliteIndex

NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
TEXT = "Лукашенко заявил, что граница с Литвой останется закрытой. Шалчининкай и Мядининкай ждут решения. " * 20


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path, state_dir=tmp_path / "var", state_url=None, search_backend="sqlite")


def _article() -> Article:
    return Article(id="a1", url="https://www.lrt.lt/ru/1", canonical_url="https://www.lrt.lt/ru/1", source="lrt-ru",
                   title="Граница остаётся закрытой", text=TEXT, fetched_at=NOW, content_hash="h1", language="ru",
                   summary="Граница с Литвой", topic=TopicResult("lt-by", True, 0.9, ("border",)), cluster_id="a1")


def _raw(settings, sql: str) -> str:
    conn = sqlite3.connect(settings.state_path / "newsmon.db")
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_a_russian_articles_stored_document_keeps_its_letters_instead_of_escapes(settings):
    from newsmon.core.documents import article_to_document

    with open_engine(settings.database_url).begin() as conn:
        conn.execute(articles.insert().values(id="a1", canonical_url="https://www.lrt.lt/ru/1", content_hash="h1",
                                              staged_at=NOW, status="staged", alerted=False,
                                              doc=article_to_document(_article())))
    stored = _raw(settings, "SELECT doc FROM articles")
    assert "Лукашенко" in stored and "\\u041b" not in stored
    assert len(stored.encode()) < 1.2 * len(TEXT.encode())


def test_the_search_index_keeps_an_articles_text_once_and_still_returns_the_whole_document(settings):
    index = SqliteIndex(open_engine(settings.database_url))
    index.put_articles([_article()])
    stored = json.loads(_raw(settings, "SELECT doc FROM search_docs"))
    assert "text" not in stored and stored["url"] == "https://www.lrt.lt/ru/1"
    doc = index.get("a1")
    assert (doc["text"], doc["title"], doc["summary"], doc["language"]) == (
        TEXT, "Граница остаётся закрытой", "Граница с Литвой", "ru")


def test_after_maintenance_compacts_the_store_its_write_ahead_log_does_not_keep_the_space(settings):
    from newsmon.app.maintenance import run_maintenance
    from newsmon.store.schema import seen_entries

    engine = open_engine(settings.database_url)
    old = NOW.replace(year=2025)
    with engine.begin() as conn:  # one big write, as an index run of a large backlog makes
        conn.execute(seen_entries.insert(), [{"feed_id": "lrt-en", "entry_key": f"k{i}", "outcome": "staged" * 5,
                                              "seen_at": old} for i in range(30_000)])
    wal = settings.state_path / "newsmon.db-wal"
    counts = run_maintenance(settings, NOW)
    assert counts["seen_entries_pruned"] == 30_000 and counts["vacuumed"] == 1
    assert wal.stat().st_size < 64 * 1024  # what the run records afterwards; it was the size of the whole VACUUM
