"""Search hits grouped into stories, one row per story with its copies folded under it and paged; a story's members.

A story is what `story_key` says a hit belongs to. Today that is the copy-cluster (`cluster_id`): the same
article republished, truncated or lightly edited. Event-level stories across languages will replace it
with their own key; `story_key` and `STORY_FIELD` are the two names to change then, and every reader of
this module (the desk, its JSON API) follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from newsmon.store.index import SearchHit, SearchIndex, SearchQuery

# The indexed keyword field that holds story_key(hit) for every document.
STORY_FIELD = "cluster_id"
# Copies folded under one row of a result page; the story page lists them all.
COPIES_SHOWN = 8
# Members of one story read for its page (a wire story can have hundreds of copies).
MAX_MEMBERS = 500
# Hits read at most to fill a page of stories: deep pages of a broad query stop here (Elasticsearch's
# default max_result_window is 10,000, and nobody pages that far in a browser).
MAX_HITS_READ = 5000
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")


def story_key(hit: SearchHit) -> str:
    """The story a hit belongs to: its copy-cluster, or the article itself when it has none."""
    return hit.cluster_id or hit.id


def is_story_key(key: str) -> bool:
    """Whether `key` can name a story (ids are hex digests; anything else cannot be one)."""
    return bool(_KEY.fullmatch(key))


@dataclass(frozen=True)
class Story:
    """One story of a result page: the copies that matched, best first, then other copies, oldest first."""

    key: str
    matched: tuple[SearchHit, ...]
    others: tuple[SearchHit, ...]
    size: int  # copies the index holds, shown or not

    @property
    def lead(self) -> SearchHit:
        return self.matched[0]

    @property
    def copies(self) -> tuple[SearchHit, ...]:
        return self.matched + self.others

    @property
    def outlets(self) -> tuple[str, ...]:
        """The sources of the copies shown, each once, in the order shown."""
        return tuple(dict.fromkeys(hit.source for hit in self.copies))


@dataclass(frozen=True)
class StoryPage:
    stories: tuple[Story, ...]
    page: int
    per_page: int
    has_next: bool
    hits_read: int  # search hits it took to fill this page (for the curious and the benchmark)


def search_stories(index: SearchIndex, query: SearchQuery, *, page: int = 1, per_page: int = 20,
                   copies_shown: int = COPIES_SHOWN) -> StoryPage:
    """Page `page` of the stories matching `query`, ranked by their best hit (query.limit/offset are ignored).

    Stories are ordered by where their first copy comes in the index's ranking, so each page is the same
    whichever page was asked for before. The hits are read from the top of the ranking until the page
    and one story beyond it (is there a next page?) are complete.
    """
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    wanted = page * per_page + 1
    groups: dict[str, list[SearchHit]] = {}
    seen: set[str] = set()
    read, batch = 0, max(2 * wanted, 20)
    while len(groups) < wanted and read < MAX_HITS_READ:
        hits = index.search(replace(query, limit=min(batch, MAX_HITS_READ - read), offset=read))
        read += len(hits)
        for hit in hits:
            if hit.id not in seen:
                seen.add(hit.id)
                groups.setdefault(story_key(hit), []).append(hit)
        if len(hits) < batch:
            break  # the ranking is exhausted
        batch *= 2
    keys = list(groups)[(page - 1) * per_page: page * per_page]
    stories = tuple(_fold(index, key, groups[key], copies_shown) for key in keys)
    return StoryPage(stories=stories, page=page, per_page=per_page, has_next=len(groups) > page * per_page,
                     hits_read=read)


def _fold(index: SearchIndex, key: str, matched: list[SearchHit], copies_shown: int) -> Story:
    size = max(hit.cluster_size for hit in matched)
    others: tuple[SearchHit, ...] = ()
    if size > len(matched) and len(matched) < copies_shown:
        # Copies that did not match (another wording, a filter) still belong under the story's row.
        known = {hit.id for hit in matched}
        members = story_members(index, key, limit=copies_shown)
        others = tuple(hit for hit in members if hit.id not in known)[: copies_shown - len(matched)]
    return Story(key=key, matched=tuple(matched), others=others, size=max(size, len(matched) + len(others)))


def story_members(index: SearchIndex, key: str, *, limit: int = MAX_MEMBERS) -> list[SearchHit]:
    """The copies of one story (at most `limit`), oldest first; [] for a key that names no story."""
    if not is_story_key(key):
        return []
    hits = index.search(SearchQuery(q=f"{STORY_FIELD}:{key}", sort="date", limit=limit))
    return sorted(hits, key=_chronological)


def _chronological(hit: SearchHit) -> tuple[bool, str, str]:
    # Undated copies last; the id keeps equal times in a stable order.
    return (hit.published_at is None, hit.published_at.isoformat() if hit.published_at else "", hit.id)
