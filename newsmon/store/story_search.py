"""Search results by event-level story: one row per story with its copies and translations folded under it, paged.

The stories are those of newsmon.store.stories (read from the state DB, so a story merged since its articles
were indexed shows as one); the hits come from the search index through its protocol, so both backends work.
An article without a story (indexed before stories existed) is a story of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from newsmon.store.index import SearchHit, SearchIndex, SearchQuery
from newsmon.store.stories import StoryMember, StorySummary, stories_of, story_members_of, story_summaries

# Copies and translations folded under one row of a result page; the story page lists them all.
COPIES_SHOWN = 8
# Hits read at most to fill a page of stories: deep pages of a broad query stop here (Elasticsearch's
# default max_result_window is 10,000, and nobody pages that far in a browser).
MAX_HITS_READ = 5000


@dataclass(frozen=True)
class FoundStory:
    """One story of a result page: the articles that matched, best first, then other members, oldest first."""

    key: str  # the story id, or the article's own id when it has no story
    story_id: str | None
    matched: tuple[SearchHit, ...]
    others: tuple[StoryMember, ...]
    summary: StorySummary | None

    @property
    def lead(self) -> SearchHit:
        return self.matched[0]

    @property
    def size(self) -> int:
        """Articles in the story, shown or not."""
        return max(self.summary.size if self.summary else 0, len(self.matched) + len(self.others))


@dataclass(frozen=True)
class StoryPage:
    stories: tuple[FoundStory, ...]
    page: int
    per_page: int
    has_next: bool
    hits_read: int  # search hits it took to fill this page (for the curious and the benchmark)


def search_stories(index: SearchIndex, engine: Engine, query: SearchQuery, *, page: int = 1, per_page: int = 20,
                   copies_shown: int = COPIES_SHOWN) -> StoryPage:
    """Page `page` of the stories matching `query`, ranked by their best hit (query.limit/offset are ignored).

    Stories are ordered by where their first article comes in the index's ranking, so each page is the same
    whichever page was asked for before. Hits are read from the top of the ranking until the page and one
    story beyond it (is there a next page?) are complete.
    """
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    wanted = page * per_page + 1
    groups: dict[str, list[SearchHit]] = {}
    story_ids: dict[str, str] = {}
    seen: set[str] = set()
    read, batch = 0, max(2 * wanted, 20)
    with engine.connect() as conn:
        while len(groups) < wanted and read < MAX_HITS_READ:
            ranked = index.search(replace(query, limit=min(batch, MAX_HITS_READ - read), offset=read))
            read += len(ranked)
            hits = [hit for hit in ranked if hit.id not in seen]
            story_ids.update(stories_of(conn, [hit.id for hit in hits]))
            for hit in hits:
                seen.add(hit.id)
                groups.setdefault(story_ids.get(hit.id, hit.id), []).append(hit)
            if len(ranked) < batch:
                break  # the ranking is exhausted
            batch *= 2
        keys = list(groups)[(page - 1) * per_page: page * per_page]
        found = _fold(conn, keys, groups, set(story_ids.values()), copies_shown)
    return StoryPage(stories=found, page=page, per_page=per_page, has_next=len(groups) > page * per_page,
                     hits_read=read)


def _fold(conn: Connection, keys: Sequence[str], groups: dict[str, list[SearchHit]], known: set[str],
          copies_shown: int) -> tuple[FoundStory, ...]:
    real = [k for k in keys if k in known]
    summaries = story_summaries(conn, real)
    # Members that did not match (another language, another wording, a filter) still belong under the row.
    fuller = [k for k in real if k in summaries and summaries[k].size > len(groups[k]) and len(groups[k]) < copies_shown]
    members = story_members_of(conn, fuller) if fuller else {}
    found = []
    for key in keys:
        matched = groups[key]
        ids = {hit.id for hit in matched}
        others = tuple(m for m in members.get(key, ()) if m.article_id not in ids)[: max(0, copies_shown - len(matched))]
        found.append(FoundStory(key=key, story_id=key if key in known else None, matched=tuple(matched), others=others,
                                summary=summaries.get(key)))
    return tuple(found)


def story_members(engine: Engine, key: str) -> list[StoryMember]:
    """Every article of one story, oldest first; [] when no story has that id."""
    with engine.connect() as conn:
        return story_members_of(conn, [key]).get(key, [])
