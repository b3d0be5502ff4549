"""The embedded SQLite FTS5 index: Lucene syntax as in Kibana, diacritic folding, create-only writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from newsmon.core.query import QuerySyntaxError
from newsmon.core.records import Article, TopicResult
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _article(id_, title, text, *, source="lrt-en", language="en", on_topic=True, subtopics=("border_crossings",),
             published_at=AT, cluster_id=None):
    return Article(id=id_, url=f"https://example.org/{id_}", canonical_url=f"https://example.org/{id_}", source=source,
                   title=title, text=text, fetched_at=AT, content_hash=id_, language=language,
                   published_at=published_at, cluster_id=cluster_id or id_,
                   topic=TopicResult("lt-by", on_topic, 0.8 if on_topic else 0.1, subtopics if on_topic else ()))


@pytest.fixture
def index(tmp_path):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    idx.put_articles([
        _article("a", "Lavoriškės checkpoint reopens", "Trucks crossed the Lavoriškės checkpoint from Belarus again."),
        _article("b", "Balloons close Vilnius airport", "Smuggling balloons from Belarus closed Vilnius airport.",
                 subtopics=("airspace", "smuggling"), published_at=datetime(2025, 3, 1, tzinfo=UTC)),
        _article("c", "Granica z Białorusią", "Polska straż graniczna na granicy z Białorusią.", source="tvp",
                 language="pl", on_topic=False),
    ])
    return idx


def ids(index, q, **kw):
    return sorted(h.id for h in index.search(SearchQuery(q=q, **kw)))


def test_words_must_all_match_unless_or_is_written(index):
    assert ids(index, "Belarus airport") == ["b"]
    assert ids(index, "checkpoint OR airport") == ["a", "b"]


def test_phrases_not_groups_and_prefixes_work_like_in_kibana(index):
    assert ids(index, '"Vilnius airport"') == ["b"]
    assert ids(index, "Belarus NOT balloons") == ["a"]
    assert ids(index, "(trucks OR smuggling) AND title:balloons") == ["b"]
    assert ids(index, "smuggl*") == ["b"]


def test_diacritic_free_query_matches_lithuanian_and_polish_spellings(index):
    assert ids(index, "lavoriskes") == ["a"]
    assert ids(index, "bialorusia") == ["c"]


def test_keyword_fields_and_date_ranges_filter(index):
    assert ids(index, "source:tvp") == ["c"]
    assert ids(index, "subtopics:airspace") == ["b"]
    assert ids(index, "on_topic:false") == ["c"]
    assert ids(index, "published_at:[2026-01-01 TO *]") == ["a", "c"]
    assert ids(index, "*", languages=("pl",)) == ["c"]
    assert ids(index, "*", on_topic=True, since=datetime(2026, 1, 1, tzinfo=UTC)) == ["a"]


def test_writing_the_same_article_twice_is_a_counted_duplicate_not_a_second_document(index):
    again = index.put_articles([_article("a", "changed title", "changed text")])
    assert again.created == [] and again.duplicates == ["a"]
    assert index.count() == 3
    assert index.get("a")["title"] == "Lavoriškės checkpoint reopens"


def test_unknown_fields_and_inner_wildcards_are_explained(index):
    with pytest.raises(QuerySyntaxError, match="unknown field 'author'"):
        index.search(SearchQuery(q="author:smith"))
    with pytest.raises(QuerySyntaxError, match="trailing"):
        index.search(SearchQuery(q="b*rder"))


def test_hits_show_a_snippet_around_the_match(index):
    hit = index.search(SearchQuery(q="lavoriskes"))[0]
    assert "[Lavoriškės]" in hit.snippet


def test_a_text_term_or_a_field_filter_returns_articles_matching_either(index):
    assert ids(index, "balloons OR source:tvp") == ["b", "c"]


def test_field_groups_and_required_terms_work_as_in_kibana(index):
    assert ids(index, "title:(balloons OR checkpoint)") == ["a", "b"]
    assert ids(index, "language:(pl OR lt)") == ["c"]
    assert ids(index, "+belarus -balloons") == ["a"]


def test_date_maths_in_ranges_and_bad_dates_are_explained(index):
    assert ids(index, "published_at:[now-3650d TO now]") == ["a", "b", "c"]
    assert ids(index, "published_at:[now+1d TO *]") == []
    with pytest.raises(QuerySyntaxError, match="date 'yesterday'"):
        index.search(SearchQuery(q="published_at:[yesterday TO *]"))
    with pytest.raises(QuerySyntaxError, match="regex"):
        index.search(SearchQuery(q="/ball.*/"))


def test_the_affiliation_filter_keeps_only_matching_articles_and_hits_carry_it(tmp_path):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    base = _article("x", "Lukashenko meets envoy", "Lukashenko met the Lithuanian envoy in Minsk.")
    idx.put_articles([
        replace(base, id="state", source_affiliation="state_controlled"),
        replace(base, id="public", source_affiliation="public_broadcaster"),
        replace(base, id="none", source_affiliation=None),
    ])
    assert ids(idx, "lukashenko", affiliations=("STATE_CONTROLLED",)) == ["state"]
    assert ids(idx, "*", affiliations=("state_controlled", "public_broadcaster")) == ["public", "state"]
    assert {h.id: h.source_affiliation for h in idx.search(SearchQuery(q="envoy"))} == {
        "state": "state_controlled", "public": "public_broadcaster", "none": None}


def test_offset_pages_through_the_ranking_without_repeating_or_skipping_a_hit(tmp_path):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    # Same title, text and date: every sort key ties, so only a final tie-breaker keeps pages apart.
    idx.put_articles([_article(f"p{i}", "Queue at Medininkai", "Lorries queue at Medininkai.") for i in range(7)])
    pages = [[h.id for h in idx.search(SearchQuery(q="medininkai", limit=3, offset=start))] for start in (0, 3, 6)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(h for p in pages for h in p) == [f"p{i}" for i in range(7)]


def test_snippet_marks_can_be_chosen_by_the_caller(index):
    hit = index.search(SearchQuery(q="lavoriskes", marks=("\x02", "\x03")))[0]
    assert "\x02Lavoriškės\x03" in hit.snippet and "[" not in hit.snippet


def test_the_newest_first_listing_walks_the_date_index_instead_of_sorting_every_article(index):
    with index.engine.connect() as conn:
        plan = " ".join(str(row) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT d.rowid FROM search_docs d "
            "ORDER BY COALESCE(d.published_at, d.fetched_at) DESC, d.fetched_at DESC, d.rowid DESC LIMIT 20"))
    assert "ix_search_docs_date" in plan and "TEMP B-TREE" not in plan
    newest = [h.id for h in index.search(SearchQuery(q="", limit=2))]
    assert newest == ["c", "a"]  # same date: the one stored later first


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """120 border stories, one an hour, indexed in order; a broad query is what matches more than 10 of them."""
    import newsmon.store.sqlite_index as sqlite_index

    monkeypatch.setattr(sqlite_index, "BROAD_MATCHES", 10)
    monkeypatch.setattr(sqlite_index, "RANGE_MATCHES", 6)
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'archive.db'}"))
    hour = 3600
    stories = [_article(f"s{i:03d}", f"Border story {i}", f"Queue at the Medininkai border crossing, day {i}."
                        + (" Lukashenko spoke." if i % 10 == 0 else ""),
                        published_at=datetime.fromtimestamp(AT.timestamp() + i * hour, UTC),
                        source="lrt-en" if i % 2 else "delfi-en") for i in range(120)]
    stories = [replace(s, fetched_at=s.published_at) for s in stories]
    for story in stories:
        idx.put_articles([story])
    return idx


def test_a_broad_query_in_date_order_lists_exactly_the_newest_matches(archive):
    hits = archive.search(SearchQuery(q="border", sort="date", limit=20))
    assert [h.id for h in hits] == [f"s{i:03d}" for i in range(119, 99, -1)]
    only_delfi = archive.search(SearchQuery(q="border AND source:delfi-en", sort="date", limit=20))
    assert [h.id for h in only_delfi] == [f"s{i:03d}" for i in range(118, 78, -2)]


def test_an_article_indexed_late_with_an_early_date_and_one_dated_ahead_keep_their_places_by_date(archive):
    archive.put_articles([
        _article("late", "Border story from last year", "A border crossing story indexed last.",
                 published_at=datetime(2025, 1, 1, tzinfo=UTC)),
    ])
    with archive.engine.begin() as conn:  # an early-indexed article whose publisher dated it a week ahead
        from sqlalchemy import text

        conn.execute(text("UPDATE search_docs SET published_at = '2026-12-30T00:00:00Z' WHERE id = 's001'"))
    hits = [h.id for h in archive.search(SearchQuery(q="border", sort="date", limit=5))]
    assert hits == ["s001", "s119", "s118", "s117", "s116"]
    assert "late" not in [h.id for h in archive.search(SearchQuery(q="border", sort="date", limit=20))]


def test_a_broad_query_by_relevance_ranks_among_its_newest_matches_and_still_fills_the_page(archive):
    hits = archive.search(SearchQuery(q="border lukashenko", limit=5))
    assert [h.id for h in hits] == ["s110", "s100", "s090", "s080", "s070"]
    broad = archive.search(SearchQuery(q="border", limit=20))
    assert len(broad) == 20 and all(int(h.id[1:]) >= 80 for h in broad)
