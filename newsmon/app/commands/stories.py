"""`newsmon stories`: recent event-level stories, their articles grouped by language and outlet affiliation."""

from __future__ import annotations

import argparse

from rich.console import Console

from newsmon.app.commands.search import parse_since
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps, markup
from newsmon.store.db import open_engine
from newsmon.store.stories import StoryListing, list_stories


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("A story joins the copies and translations of one event (docs/stories.md). Each story is "
                     "listed with its languages and outlets, and its articles grouped by language and by outlet "
                     "affiliation (state-controlled, independent, public broadcaster, international), so the "
                     "framings of one event can be read side by side.")
    p.add_argument("--since", type=parse_since, help="stories with an article seen at or after: 2025-06-01, ISO datetime, or 6h/3d/2w")
    p.add_argument("--min-languages", type=int, default=1, metavar="N", help="only stories in at least N languages")
    p.add_argument("-n", "--limit", type=int, default=20, help="how many stories (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per story instead of a listing")
    p.set_defaults(func=run)


def _as_json(listing: StoryListing) -> dict:
    s = listing.summary
    return {"story_id": s.story_id, "title": listing.title, "first_seen_at": s.first_seen_at.isoformat(),
            "last_seen_at": s.last_seen_at.isoformat(), "size": s.size, "languages": list(s.languages),
            "outlets": list(s.outlets),
            "by_language": {lang: {group: [{"article_id": m.article_id, "source": m.source, "title": m.title,
                                            "url": m.url, "seen_at": m.seen_at.isoformat()} for m in members]
                                   for group, members in groups.items()}
                            for lang, groups in listing.by_language.items()}}


def run(args: argparse.Namespace, settings: Settings) -> int:
    listings = list_stories(open_engine(settings.database_url), since=args.since, limit=max(args.limit, 1),
                            min_languages=args.min_languages)
    if args.json:
        for listing in listings:
            print(json_dumps(_as_json(listing)))
        return 0
    console = Console(highlight=False)
    if not listings:
        console.print("no stories yet: `newsmon run --once` clusters what was fetched into stories")
        return 0
    for listing in listings:
        s = listing.summary
        console.print(f"[bold]{markup(listing.title or s.first_article_id)}[/]")
        console.print(f"  {s.size} article(s) · {len(s.outlets)} outlet(s) · {', '.join(s.languages) or '?'} · "
                      f"{s.first_seen_at:%Y-%m-%d %H:%M} – {s.last_seen_at:%Y-%m-%d %H:%M} UTC · story {s.story_id}")
        for language, groups in listing.by_language.items():
            for group, members in groups.items():
                console.print(f"  [cyan]{markup(language)}[/] · {group}:")
                for m in members:
                    console.print(f"    {markup(m.source or '?')} · {m.seen_at:%Y-%m-%d %H:%M} · {markup(m.title or '')}")
    console.print(f"{len(listings)} stories")
    return 0
