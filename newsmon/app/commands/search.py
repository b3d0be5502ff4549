"""`newsmon search QUERY`: Lucene-syntax search over the configured index (embedded SQLite or Elasticsearch)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from rich.console import Console

from newsmon.core.entity_ids import ENTITY_ID_HELP, is_entity_id
from newsmon.core.query import with_keyword_filters
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps, markup
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchHit, SearchQuery
from newsmon.store.stories import StoryGroup, group_by_story


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`2025-06-01`, an ISO datetime, or a relative age such as `6h`, `3d`, `2w` (before `now`, default: the clock)."""
    units = {"h": "hours", "d": "days", "w": "weeks", "min": "minutes"}
    hint = "use a date (2025-06-01), an ISO datetime (UTC unless it says otherwise), or an age like 30min, 6h, 3d, 2w"
    for suffix, unit in units.items():
        if value.endswith(suffix) and value[: -len(suffix)].isdigit():
            try:
                return (now or datetime.now(UTC)) - timedelta(**{unit: int(value[: -len(suffix)])})
            except OverflowError as exc:
                raise argparse.ArgumentTypeError(f"{value!r} reaches before year 1; {hint}") from exc
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {hint}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if number < 1:
        raise argparse.ArgumentTypeError("give 1 or more")
    return number


def entity_id(value: str) -> str:
    """An entity id as the index holds it (`person/lukashenko`)."""
    if not is_entity_id(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an entity id: write {ENTITY_ID_HELP}")
    return value


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("QUERY uses Lucene syntax: words (all must match), \"phrases\", OR, NOT, "
                     "field:value (title, text, source, language, subtopics, entity, on_topic, ...), prefix*.")
    p.add_argument("query", nargs="*", help="e.g. salcininkai  or  'title:balloons AND NOT source:belta'  or "
                                            "'entity:person/lukashenko' (a query starting with - goes after --: "
                                            "newsmon search -- -balloons); may be left out with --entity")
    p.add_argument("--since", type=parse_since, help="published (or, if undated, fetched) at or after: 2025-06-01, ISO datetime (UTC), or 30min/6h/3d/2w")
    p.add_argument("--lang", action="append", default=[], help="language code (repeatable)")
    p.add_argument("--source", action="append", default=[], help="source (feed id, repeatable)")
    p.add_argument("--subtopic", action="append", default=[], help="subtopic (repeatable)")
    p.add_argument("--entity", action="append", default=[], type=entity_id, metavar="ID",
                   help="articles naming this entity, e.g. person/lukashenko, place/medininkai, org/vsat "
                        "(repeatable: all of them)")
    p.add_argument("--on-topic", action="store_true", help="only articles tagged Lithuania–Belarus")
    p.add_argument("--sort", choices=("relevance", "date"), default="relevance",
                   help="best matches first (default), or newest first")
    p.add_argument("-n", "--limit", type=_positive, default=20, help="how many results (default 20)")
    p.add_argument("--each", action="store_true",
                   help="one row per article instead of one per story (a story joins copies and translations)")
    p.add_argument("--json", action="store_true", help="JSON lines (one per article, with its story) instead of a listing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    query = SearchQuery(
        q=with_keyword_filters(" ".join(args.query), "entities", tuple(args.entity)), since=args.since, languages=tuple(args.lang), sources=tuple(args.source),
        subtopics=tuple(args.subtopic), on_topic=True if args.on_topic else None, limit=args.limit, sort=args.sort,
    )
    engine = open_engine(settings.database_url)
    index = open_index(settings, engine)
    try:
        hits = index.search(query)
    finally:
        index.close()
    groups = group_by_story(engine, hits)
    if args.json:
        for group in groups:
            story = group.summary
            for h in group.hits:
                print(json_dumps({**h.__dict__, "published_at": h.published_at.isoformat() if h.published_at else None,
                                  "story_id": group.story_id, "story_languages": list(story.languages) if story else [],
                                  "story_outlets": list(story.outlets) if story else []}))
        return 0
    console = Console(highlight=False)
    if not hits:
        console.print(f"no articles match {markup(repr(query.q))}")
        return 0
    if not args.each:
        for group in groups:
            _print_story(console, group)
        console.print(f"{len(hits)} result(s) in {len(groups)} stories")
        return 0
    for h in hits:
        when = h.published_at.strftime("%Y-%m-%d %H:%M UTC") if h.published_at else "date unknown"
        tag = "[green]LT–BY[/]" if h.on_topic else "[dim]other[/]"
        copies = f" · {h.cluster_size} copies" if h.cluster_size > 1 else ""
        console.print(f"[bold]{markup(h.title)}[/]  {tag}")
        console.print(f"  {markup(h.source)} · {when} · {markup(h.language or '?')}{copies} · {markup(h.url)}")
        console.print(f"  [dim]{markup(h.snippet)}[/]")
    console.print(f"{len(hits)} result(s)")
    return 0


def _print_hit(console: Console, h: SearchHit, indent: str = "") -> None:
    when = h.published_at.strftime("%Y-%m-%d %H:%M UTC") if h.published_at else "date unknown"
    tag = "[green]LT–BY[/]" if h.on_topic else "[dim]other[/]"
    console.print(f"{indent}[bold]{markup(h.title)}[/]  {tag}")
    console.print(f"{indent}  {markup(h.source)} · {when} · {markup(h.language or '?')} · {markup(h.url)}")


def _print_story(console: Console, group: StoryGroup) -> None:
    """One row per story: its best hit, then the languages and outlets the whole story reached, then its other hits."""
    best = group.hits[0]
    _print_hit(console, best)
    story = group.summary
    if story is not None and story.size > 1:
        console.print(f"  [cyan]story[/]: {story.size} articles · {len(story.outlets)} outlet(s) in "
                      f"{', '.join(markup(lang) for lang in story.languages) or '?'}: "
                      f"{', '.join(markup(o) for o in story.outlets)}")
    console.print(f"  [dim]{markup(best.snippet)}[/]")
    for other in group.hits[1:]:
        console.print(f"  also: {markup(other.source)} · {markup(other.language or '?')} · {markup(other.title)}")
