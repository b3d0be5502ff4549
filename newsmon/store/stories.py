"""Event-level stories above copy clusters: articles in any language about one event, joined by what survives translation.

A story is a connected component of a graph whose edges are pure functions of two articles: the same copy
cluster, or publication within STORY_WINDOW and at least MIN_EVIDENCE pieces of shared evidence (dates
mentioned, numbers with units, names, rarer entity ids; newsmon.enrich.story_signals). Components of a fixed
graph do not depend on the order in which its edges are found, and a story's id is the id of its oldest
article (seen_at, then id), so whatever order articles arrive in, the same articles end in the same stories
under the same ids. A new article joins a story or merges several: the younger ones take the oldest one's
id (`story_members` is updated; an indexed document keeps the story it was indexed with, and search and
alerts read the current one here). Candidates come from `story_keys`, one row per (key, day, article), read
only for the batch's keys and days ± the window, so the cost per article does not grow with the archive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.engine import Engine

from newsmon.core.records import Article
from newsmon.enrich.story_signals import StorySignals, is_common_entity, story_signals
from newsmon.store.clusters_lsh import chunks, utc
from newsmon.store.db import one_of
from newsmon.store.schema import stories, story_keys, story_members

# Chosen on the tuning part of bench/data/crosslingual (bench/eval_stories.py, docs/stories.md). Two
# articles of one event are published within a day or so of each other; a day and a half keeps apart the
# balloon closures of consecutive nights while it joins a late-evening report with the next morning's.
STORY_WINDOW = timedelta(hours=36)
# Every same-day negative of the tuning part shares one piece of evidence at most (a place, a date of the
# week's crisis); most same-event pairs that are found share two or more.
MIN_EVIDENCE = 2
MIN_SHARED_ENTITIES = 2  # one shared checkpoint or minister is the week's topic, two start to be an event
MANY_SHARED_NAMES = 4  # a first name and a surname are two keys: four shared name keys are two people or more
MAX_KEY_CHARS = 160

# How `newsmon stories` groups outlets: the four kinds of voice an analyst compares.
AFFILIATION_GROUPS = {
    "state_controlled": "state-controlled",
    "government": "state-controlled",
    "independent": "independent",
    "public_broadcaster": "public broadcaster",
    "international": "international",
    "wire": "international",
}


def affiliation_group(affiliation: str | None) -> str:
    return AFFILIATION_GROUPS.get(affiliation or "", "unknown")


@dataclass(frozen=True)
class StoryDoc:
    """One article as the story decision sees it."""

    article_id: str
    cluster_id: str
    seen_at: datetime
    dates: frozenset[str]
    quantities: frozenset[str]
    names: frozenset[str]
    entities: frozenset[str]

    def signals(self) -> dict[str, list[str]]:
        return {"dates": sorted(self.dates), "quantities": sorted(self.quantities), "names": sorted(self.names),
                "entities": sorted(self.entities)}

    def keys(self) -> list[str]:
        """Its blocking keys: an article is only ever compared with articles sharing one of them."""
        found = [f"d:{v}" for v in self.dates] + [f"q:{v}" for v in self.quantities]
        found += [f"n:{v}" for v in self.names] + [f"e:{v}" for v in self.entities]
        return sorted({key[:MAX_KEY_CHARS] for key in found})


@dataclass(frozen=True)
class StoryMember:
    """One article of a story, as listings show it."""

    article_id: str
    story_id: str
    cluster_id: str
    seen_at: datetime
    language: str | None
    source: str | None
    affiliation: str | None
    title: str | None
    url: str | None


@dataclass(frozen=True)
class StorySummary:
    story_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    first_article_id: str
    size: int
    languages: tuple[str, ...]
    outlets: tuple[str, ...]


def seen_at(article: Article) -> datetime:
    return utc(article.published_at or article.fetched_at)


def outlet(article: Article) -> str:
    return article.source or article.site_name or article.canonical_url.split("/")[2]


def story_doc(article: Article, signals: StorySignals | None = None) -> StoryDoc:
    """The signals of one article (pure): its entities as opaque ids, and what its title and text mention
    (`signals`, when an extraction worker has already read them from the same title and text)."""
    if signals is None:
        signals = story_signals(article.title or "", article.text)
    entities = frozenset(e for e in article.entities if not is_common_entity(e))
    return StoryDoc(article.id, article.cluster_id or article.id, seen_at(article), frozenset(signals.dates),
                    frozenset(signals.quantities), frozenset(signals.names), entities)


def evidence(a: StoryDoc, b: StoryDoc) -> int:
    """How many independent pieces of evidence two articles share: each date mentioned and each number with a
    unit; bare numbers once; who and where once (a name, or two entities), and once more for many names."""
    shared_quantities = a.quantities & b.quantities
    with_unit = sum(1 for q in shared_quantities if " " in q)
    names = len(a.names & b.names)
    who = names >= 1 or len(a.entities & b.entities) >= MIN_SHARED_ENTITIES
    return (len(a.dates & b.dates) + with_unit + (len(shared_quantities) > with_unit) + who
            + (names >= MANY_SHARED_NAMES))


def same_event(a: StoryDoc, b: StoryDoc) -> bool:
    """The edge of the story graph between two articles of different copy clusters (symmetric, pure)."""
    return abs(a.seen_at - b.seen_at) <= STORY_WINDOW and evidence(a, b) >= MIN_EVIDENCE


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _day(at: datetime) -> int:
    return (at - _EPOCH).days


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class _Stored:
    """What the batch can reach in the state DB: candidate articles and the stories they belong to."""

    docs: dict[str, StoryDoc]
    story_of: dict[str, str]  # article id → current story id
    summaries: dict[str, StorySummary]
    keyed: dict[str, list[str]]  # blocking key → stored article ids
    by_cluster: dict[str, list[str]]  # cluster id → stored article ids


def assign_stories(conn: Connection, articles: Sequence[Article], now: datetime,
                   *, signals: Mapping[str, StorySignals] | None = None) -> list[Article]:
    """Give each article (already in its copy cluster) its event-level story, in the caller's transaction.

    Call it after `assign_clusters`, under the same dedup lock. Articles assigned before keep their story
    (as it is now, after any merge since). `signals` (by article id) are story signals computed earlier;
    the others are read here. Returns the articles in input order with `story_id` set.
    """
    if not articles:
        return []
    unique = sorted({a.id: a for a in articles}.values(), key=lambda a: (seen_at(a), a.id))
    current = _stories_of(conn, [a.id for a in unique])
    fresh = [a for a in unique if a.id not in current]
    if fresh:
        current.update(_assign_fresh(conn, fresh, now, signals or {}))
    return [replace(a, story_id=current[a.id]) for a in articles]


def _assign_fresh(conn: Connection, fresh: list[Article], now: datetime,
                  signals: Mapping[str, StorySignals]) -> dict[str, str]:
    docs = {a.id: story_doc(a, signals.get(a.id)) for a in fresh}
    stored = _load_stored(conn, list(docs.values()))
    graph = _UnionFind()
    seen_keys: dict[str, list[str]] = defaultdict(list)
    seen_clusters: dict[str, list[str]] = defaultdict(list)
    for article in fresh:
        doc = docs[article.id]
        keys = doc.keys()
        node = f"a:{doc.article_id}"
        graph.find(node)
        for other in stored.by_cluster.get(doc.cluster_id, ()):
            graph.union(node, f"s:{stored.story_of[other]}")
        for other in seen_clusters[doc.cluster_id]:
            graph.union(node, f"a:{other}")
        for other in sorted({o for key in keys for o in stored.keyed.get(key, ())}):
            if same_event(doc, stored.docs[other]):
                graph.union(node, f"s:{stored.story_of[other]}")
        for other in sorted({o for key in keys for o in seen_keys[key]}):
            if same_event(doc, docs[other]):
                graph.union(node, f"a:{other}")
        seen_clusters[doc.cluster_id].append(doc.article_id)
        for key in keys:
            seen_keys[key].append(doc.article_id)
    return _persist(conn, fresh, docs, stored, graph, now)


def _persist(conn: Connection, fresh: list[Article], docs: dict[str, StoryDoc], stored: _Stored, graph: _UnionFind,
             now: datetime) -> dict[str, str]:
    """Name each component after its oldest article, write the members and keys, rename merged stories."""
    components: dict[str, list[str]] = defaultdict(list)
    for node in list(graph.parent):
        components[graph.find(node)].append(node)
    final: dict[str, str] = {}
    new_stories: list[dict[str, Any]] = []
    position = {a.id: i for i, a in enumerate(fresh)}
    for nodes in components.values():
        story_nodes = sorted(n[2:] for n in nodes if n.startswith("s:"))
        new_ids = [n[2:] for n in nodes if n.startswith("a:")]
        firsts = [(stored.summaries[s].first_seen_at, stored.summaries[s].first_article_id) for s in story_nodes]
        firsts += [(docs[i].seen_at, i) for i in new_ids]
        story_id = min(firsts)[1]
        for article_id in new_ids:
            final[article_id] = story_id
        members = [fresh[i] for i in sorted(position[a] for a in new_ids)]  # in batch order
        row = _merge_stories(conn, story_id, story_nodes, members, stored, docs)
        if row is not None:
            new_stories.append(row)
    if new_stories:  # one executemany for the batch's new stories (their ids are new articles', so no clash)
        conn.execute(stories.insert(), new_stories)
    conn.execute(story_members.insert(), [_member_row(a, docs[a.id], final[a.id], now) for a in fresh])
    days = {a.id: _day(docs[a.id].seen_at) for a in fresh}
    rows = sorted({(key, days[a.id], a.id) for a in fresh for key in docs[a.id].keys()})
    if rows:
        conn.execute(story_keys.insert(), [{"key": k, "day": d, "article_id": i} for k, d, i in rows])
    return final


def _merge_stories(conn: Connection, story_id: str, old_ids: list[str], new_articles: list[Article],
                   stored: _Stored, docs: dict[str, StoryDoc]) -> dict[str, Any] | None:
    """One stories row for the component: the stored stories it joins, renamed to story_id, plus its new articles.
    A stored story is updated here; a new story's row is returned for the caller to insert."""
    parts = [stored.summaries[s] for s in old_ids]
    size = sum(p.size for p in parts) + len(new_articles)
    languages = set().union(*(p.languages for p in parts)) | {a.language for a in new_articles if a.language}
    outlets = set().union(*(p.outlets for p in parts)) | {outlet(a) for a in new_articles}
    firsts = [(p.first_seen_at, p.first_article_id) for p in parts] + [(docs[a.id].seen_at, a.id) for a in new_articles]
    lasts = [p.last_seen_at for p in parts] + [docs[a.id].seen_at for a in new_articles]
    first_seen_at, first_article_id = min(firsts)
    renamed = [s for s in old_ids if s != story_id]
    if renamed:
        conn.execute(update(story_members).where(story_members.c.story_id.in_(renamed)).values(story_id=story_id))
        conn.execute(delete(stories).where(stories.c.story_id.in_(renamed)))
    values = {"first_seen_at": first_seen_at, "first_article_id": first_article_id, "last_seen_at": max(lasts),
              "size": size, "languages": sorted(languages), "outlets": sorted(outlets)}
    if story_id in old_ids:
        conn.execute(update(stories).where(stories.c.story_id == story_id).values(**values))
        return None
    return {"story_id": story_id, **values}


def _member_row(article: Article, doc: StoryDoc, story_id: str, now: datetime) -> dict:
    return {"article_id": article.id, "story_id": story_id, "cluster_id": doc.cluster_id, "seen_at": doc.seen_at,
            "language": article.language, "source": outlet(article)[:256],
            "affiliation": article.source_affiliation, "title": article.title, "url": article.url,
            "signals": doc.signals(), "assigned_at": now}


def _load_stored(conn: Connection, docs: list[StoryDoc]) -> _Stored:
    """Stored articles sharing a key with the batch within the window's days, and the copies of its clusters."""
    days = [_day(d.seen_at) for d in docs]
    reach = STORY_WINDOW.days + 1
    low, high = min(days) - reach, max(days) + reach
    keyed: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(sorted({k for d in docs for k in d.keys()})):
        rows = conn.execute(select(story_keys.c.key, story_keys.c.article_id)
                            .where(one_of(conn, story_keys.c.key, chunk), story_keys.c.day.between(low, high)))
        for row in rows:
            keyed[row.key].append(row.article_id)
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(sorted({d.cluster_id for d in docs})):
        for row in conn.execute(select(story_members.c.cluster_id, story_members.c.article_id)
                                .where(story_members.c.cluster_id.in_(chunk))):
            by_cluster[row.cluster_id].append(row.article_id)
    wanted = sorted({i for ids in keyed.values() for i in ids} | {i for ids in by_cluster.values() for i in ids})
    stored_docs, story_of = _load_docs(conn, wanted)
    return _Stored(stored_docs, story_of, story_summaries(conn, set(story_of.values())), keyed, by_cluster)


def _load_docs(conn: Connection, ids: list[str]) -> tuple[dict[str, StoryDoc], dict[str, str]]:
    docs: dict[str, StoryDoc] = {}
    story_of: dict[str, str] = {}
    columns = (story_members.c.article_id, story_members.c.story_id, story_members.c.cluster_id,
               story_members.c.seen_at, story_members.c.signals)
    for chunk in chunks(ids):
        for row in conn.execute(select(*columns).where(story_members.c.article_id.in_(chunk))):
            s = row.signals
            docs[row.article_id] = StoryDoc(row.article_id, row.cluster_id, utc(row.seen_at), frozenset(s["dates"]),
                                            frozenset(s["quantities"]), frozenset(s["names"]), frozenset(s["entities"]))
            story_of[row.article_id] = row.story_id
    return docs, story_of


def _stories_of(conn: Connection, article_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunks(list(article_ids)):
        for row in conn.execute(select(story_members.c.article_id, story_members.c.story_id)
                                .where(story_members.c.article_id.in_(chunk))):
            found[row.article_id] = row.story_id
    return found


def stories_of(conn: Connection, article_ids: Iterable[str]) -> dict[str, str]:
    """The current story of each article that has one (a merge since indexing may have renamed it)."""
    return _stories_of(conn, sorted(set(article_ids)))


def story_summaries(conn: Connection, story_ids: Iterable[str]) -> dict[str, StorySummary]:
    result: dict[str, StorySummary] = {}
    for chunk in chunks(sorted(set(story_ids))):
        for row in conn.execute(select(stories).where(stories.c.story_id.in_(chunk))):
            result[row.story_id] = StorySummary(row.story_id, utc(row.first_seen_at), utc(row.last_seen_at),
                                                row.first_article_id, row.size, tuple(row.languages), tuple(row.outlets))
    return result


def story_members_of(conn: Connection, story_ids: Iterable[str]) -> dict[str, list[StoryMember]]:
    """Every article of each story, oldest first."""
    result: dict[str, list[StoryMember]] = defaultdict(list)
    columns = [story_members.c[name] for name in ("article_id", "story_id", "cluster_id", "seen_at", "language",
                                                  "source", "affiliation", "title", "url")]
    for chunk in chunks(sorted(set(story_ids))):
        rows = conn.execute(select(*columns).where(story_members.c.story_id.in_(chunk))
                            .order_by(story_members.c.seen_at, story_members.c.article_id))
        for row in rows:
            result[row.story_id].append(StoryMember(row.article_id, row.story_id, row.cluster_id, utc(row.seen_at),
                                                    row.language, row.source, row.affiliation, row.title, row.url))
    return dict(result)


def recent_stories(conn: Connection, since: datetime | None, limit: int, min_languages: int = 1) -> list[StorySummary]:
    """The stories seen most recently (newest last article first), with at least min_languages languages."""
    stmt = select(stories).order_by(stories.c.last_seen_at.desc(), stories.c.story_id)
    if since is not None:
        stmt = stmt.where(stories.c.last_seen_at >= since)
    found: list[StorySummary] = []
    for row in conn.execute(stmt):
        if len(row.languages) >= min_languages:
            found.append(StorySummary(row.story_id, utc(row.first_seen_at), utc(row.last_seen_at), row.first_article_id,
                                      row.size, tuple(row.languages), tuple(row.outlets)))
            if len(found) >= limit:
                break
    return found


def prune_story_keys(conn: Connection, older_than: datetime) -> int:
    """Drop the blocking keys of days before `older_than` (for maintenance): new articles are only compared with
    articles of their own window, so the key table stays bounded; stories and members are kept."""
    return conn.execute(delete(story_keys).where(story_keys.c.day < day_number(older_than))).rowcount


def day_number(at: datetime) -> int:
    """The `story_keys.day` of a moment (days since 1970-01-01 UTC)."""
    return _day(utc(at))


@dataclass(frozen=True)
class StoryListing:
    """A story with its articles grouped by language, then by outlet affiliation group (for comparing framings)."""

    summary: StorySummary
    title: str
    by_language: dict[str, dict[str, list[StoryMember]]]


def list_stories(engine: Engine, *, since: datetime | None = None, limit: int = 20,
                 min_languages: int = 1) -> list[StoryListing]:
    """The most recent stories, each with its members grouped by language and affiliation group."""
    with engine.connect() as conn:
        summaries = recent_stories(conn, since, limit, min_languages)
        members = story_members_of(conn, [s.story_id for s in summaries])
    listings = []
    for summary in summaries:
        grouped: dict[str, dict[str, list[StoryMember]]] = defaultdict(lambda: defaultdict(list))
        story_members_list = members.get(summary.story_id, [])
        for member in story_members_list:
            grouped[member.language or "?"][affiliation_group(member.affiliation)].append(member)
        first = next((m for m in story_members_list if m.article_id == summary.first_article_id), None)
        listings.append(StoryListing(summary, (first.title if first else None) or "",
                                     {lang: dict(groups) for lang, groups in sorted(grouped.items())}))
    return listings


def story_member_ids(conn: Connection, story_id: str) -> list[str]:
    """The article ids of one story, oldest first."""
    return list(conn.execute(select(story_members.c.article_id).where(story_members.c.story_id == story_id)
                             .order_by(story_members.c.seen_at, story_members.c.article_id)).scalars())


@dataclass(frozen=True)
class StoryGroup:
    """Search hits of one story, in rank order, with what the whole story reached."""

    story_id: str | None
    hits: tuple[Any, ...]
    summary: StorySummary | None


def group_by_story(engine: Engine, hits: Sequence[Any]) -> list[StoryGroup]:
    """Search hits (anything with an `id`) grouped by their article's current story, groups ranked by best hit."""
    with engine.connect() as conn:
        story_of = stories_of(conn, [h.id for h in hits])
        summaries = story_summaries(conn, set(story_of.values()))
    groups: dict[str, list[Any]] = {}
    for hit in hits:
        groups.setdefault(story_of.get(hit.id) or f"article:{hit.id}", []).append(hit)
    return [StoryGroup(key if key in summaries else None, tuple(members), summaries.get(key))
            for key, members in groups.items()]
