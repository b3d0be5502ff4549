"""Search results grouped by event-level story: one row per story with its translations, pages that never repeat a story."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from story_fixtures import closure_articles, reaction_article

from newsmon.core.records import Article, TopicResult
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex
from newsmon.store.stories import assign_stories
from newsmon.store.story_search import search_stories, story_members

NOW = closure_articles()[0].fetched_at + timedelta(days=1)


def _store(tmp_path, articles: list[Article], *, with_stories: bool = True):
    engine = open_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        clustered = assign_clusters(conn, articles, NOW)
        if with_stories:
            clustered = assign_stories(conn, clustered, NOW)
    index = SqliteIndex(engine)
    index.put_articles(clustered)
    return index, engine


def _tagged(articles: list[Article]) -> list[Article]:
    return [replace(a, topic=TopicResult("lt-by", True, 0.7)) for a in articles]


@pytest.fixture
def store(tmp_path):
    return _store(tmp_path, _tagged([*closure_articles(), reaction_article()]))


def test_one_event_reported_in_three_languages_is_one_row_with_every_outlet_and_language(store):
    index, engine = store
    lt, en, ru = sorted(closure_articles(), key=lambda a: a.published_at)[0], *closure_articles()[::2]
    page = search_stories(index, engine, SearchQuery(q="salcininkai"))
    assert len(page.stories) == 1  # the reaction names Medininkai only
    story = page.stories[0]
    assert story.story_id == lt.id and story.size == 3
    # The Lithuanian report writes Šalčininkų, the Russian one Шальчининкай: neither matched the word, yet
    # both are the same story, folded under the English copy that did, oldest first.
    assert [h.id for h in story.matched] == [en.id]
    assert [(m.article_id, m.language) for m in story.others] == [(lt.id, "lt"), (ru.id, "ru")]
    assert story.summary.languages == ("en", "lt", "ru")


def test_a_same_day_story_about_the_same_places_is_a_row_of_its_own(store):
    index, engine = store
    page = search_stories(index, engine, SearchQuery(q="medininkai OR мядининкай", sort="date"))
    assert [s.size for s in page.stories] == [1, 3]  # the reaction is newest
    assert page.stories[0].story_id == reaction_article().id


def test_articles_indexed_before_stories_existed_are_rows_of_their_own(tmp_path):
    index, engine = _store(tmp_path, _tagged(closure_articles()), with_stories=False)
    page = search_stories(index, engine, SearchQuery(q=""))
    assert len(page.stories) == 3 and all(s.story_id is None and s.size == 1 for s in page.stories)
    assert story_members(engine, page.stories[0].key) == []


def test_pages_of_stories_follow_the_ranking_and_never_show_a_story_twice(tmp_path):
    base, rng = closure_articles()[0], random.Random(4)
    words = "lorry queue border guard hauliers waited night morning crossing lane officers customs papers".split()
    # 25 events three days apart, each copied by a second outlet, newest first by date: pages of 10, 10 and 5.
    articles = []
    for n in range(25):
        text = f"Queue number {n} at Medininkai. " + " ".join(rng.choice(words) for _ in range(120))
        articles += [replace(base, id=f"{n:02d}{c}".ljust(32, "0"), url=f"https://{c}.example/{n}",
                             canonical_url=f"https://{c}.example/{n}", source=f"outlet-{c}", title=f"Queue number {n}",
                             text=text, content_hash=content_hash(text), fingerprint=tuple(fingerprint(text)),
                             entities=(), published_at=base.published_at + timedelta(days=3 * n)) for c in "xy"]
    index, engine = _store(tmp_path, articles)
    pages = [search_stories(index, engine, SearchQuery(q="medininkai", sort="date"), page=p, per_page=10)
             for p in (1, 2, 3)]
    titles = [[s.lead.title for s in p.stories] for p in pages]
    assert [len(t) for t in titles] == [10, 10, 5]
    assert [t for page in titles for t in page] == [f"Queue number {n}" for n in range(24, -1, -1)]
    assert all({h.source for h in s.matched} == {"outlet-x", "outlet-y"} for p in pages for s in p.stories)
    assert [p.has_next for p in pages] == [True, True, False]


def test_a_storys_members_come_oldest_first_and_an_unknown_key_finds_nothing(store):
    _, engine = store
    lt = min(closure_articles(), key=lambda a: a.published_at)
    members = story_members(engine, lt.id)
    assert [m.language for m in members] == ["lt", "en", "ru"]
    assert story_members(engine, "nope") == []
