"""Search results grouped by story: one row per story with its copies, pages that never repeat a story."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from newsmon.core.records import Article, TopicResult
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex
from newsmon.store.stories import search_stories, story_key, story_members

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _article(id_: str, title: str, text: str, *, source: str, cluster: str, hours: int = 0) -> Article:
    return Article(id=id_, url=f"https://example.org/{id_}", canonical_url=f"https://example.org/{id_}", source=source,
                   title=title, text=text, fetched_at=AT, content_hash=id_, language="en", cluster_id=cluster,
                   published_at=AT + timedelta(hours=hours), topic=TopicResult("lt-by", True, 0.7))


@pytest.fixture
def index(tmp_path):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    idx.put_articles([
        _article("wire", "Šalčininkai checkpoint closed", "Lorries wait at Šalčininkai.", source="wire", cluster="s1"),
        _article("copy", "Šalčininkai checkpoint closed", "Lorries wait at Šalčininkai.", source="daily", cluster="s1",
                 hours=2),
        # The same story under another headline, without the word searched for: still one of its copies.
        _article("edit", "Border post shut again", "Lorries wait at the border.", source="weekly", cluster="s1",
                 hours=5),
        _article("other", "Šalčininkai school reopens", "Pupils return in Šalčininkai.", source="daily", cluster="s2",
                 hours=1),
    ])
    return idx


def test_copies_of_one_story_make_one_row_with_every_outlet(index):
    page = search_stories(index, SearchQuery(q="salcininkai"))
    assert [s.key for s in page.stories] == ["s2", "s1"]  # the school story matches more of its short text
    story = page.stories[1]
    assert [h.id for h in story.matched] == ["copy", "wire"]  # equal scores: the later-stored copy first
    assert [h.id for h in story.others] == ["edit"]  # the copy without the word is folded under the row too
    assert story.outlets == ("daily", "wire", "weekly") and story.size == 3
    assert not page.has_next


def test_pages_of_stories_follow_the_ranking_and_never_show_a_story_twice(tmp_path):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    # 25 stories of two copies each, newest first by date: pages of 10, 10 and 5 stories.
    idx.put_articles([_article(f"a{n}{c}", f"Queue number {n}", "Queue at Medininkai.", source=f"outlet{c}",
                               cluster=f"story{n:02d}", hours=n) for n in range(25) for c in "xy"])
    pages = [search_stories(idx, SearchQuery(q="medininkai", sort="date"), page=p, per_page=10) for p in (1, 2, 3)]
    keys = [[s.key for s in p.stories] for p in pages]
    assert [len(k) for k in keys] == [10, 10, 5]
    assert [k for page in keys for k in page] == [f"story{n:02d}" for n in range(24, -1, -1)]
    assert [p.has_next for p in pages] == [True, True, False]
    assert all(len(s.matched) == 2 for p in pages for s in p.stories)


def test_a_story_key_is_the_copy_cluster_or_the_article_itself(index):
    hit = index.search(SearchQuery(q="school"))[0]
    assert story_key(hit) == "s2"
    assert story_key(replace(hit, cluster_id=None)) == "other"


def test_story_members_come_oldest_first_and_a_key_that_is_no_id_finds_nothing(index):
    assert [h.id for h in story_members(index, "s1")] == ["wire", "copy", "edit"]
    assert story_members(index, "s1 OR cluster_id:s2") == []
    assert story_members(index, "nope") == []
