"""`newsmon feeds parse|add|verify|report|status`: inspect one feed, add a site's feeds, poll them all once, report and see their health."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from newsmon.app.feed_report import report_feed_health
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import ConfigError, load_feeds
from newsmon.core.errors import UserError
from newsmon.core.settings import Settings
from newsmon.core.text import MAX_SITE_NAME_CHARS, clean_name, json_dumps, printable
from newsmon.ingest.discover import DiscoveryError, discover_feeds
from newsmon.ingest.feeds import FeedParseError, parse_feed
from newsmon.ingest.http import FetchError, SafeClient
from newsmon.ingest.verify import verify_feed
from newsmon.store.db import open_engine
from newsmon.store.health import PROBLEMS, feed_health

AFFILIATIONS = ("public_broadcaster", "independent", "state_controlled", "international", "wire", "government")


def register(p: argparse.ArgumentParser) -> None:
    p.description = ("Inspect one feed (parse), discover and add a site's feeds (add), poll every feed once "
                     "and say what to fix (verify), send the feed-health report (report), or see every configured feed's health "
                     "(status).")
    feeds_sub = p.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)

    parse = feeds_sub.add_parser("parse", help="what newsmon's parser makes of one feed file or URL",
                                 description="Parse one feed file or URL exactly as the poller would: feed title, "
                                             "entries (id, title, link, published_at) and problems. Exit 0 when the "
                                             "feed is usable, 2 with a one-line reason when it is not.")
    parse.add_argument("source", metavar="PATH_OR_URL")
    parse.add_argument("--json", action="store_true", help="one JSON object instead of a listing")
    parse.add_argument("--base-url", help="URL to resolve relative links against when parsing a local file")
    parse.set_defaults(func=run_parse)

    add = feeds_sub.add_parser("add", help="find the feeds a site advertises and add them to feeds.yaml",
                               description="Fetch SITE_URL, find its advertised feeds (<link rel=alternate>) or a "
                                           "well-known feed path, check that each parses, and append it to "
                                           "feeds.yaml (comments are kept).")
    add.add_argument("site_url", metavar="SITE_URL")
    add.add_argument("--id", dest="feed_id", help="feed id (default: from the host name)")
    add.add_argument("--name", help="display name (default: the feed's title)")
    add.add_argument("--language", help="ISO 639-1 code (default: the feed's or page's language)")
    add.add_argument("--country", help="ISO 3166 alpha-2 code of the outlet, e.g. LT")
    add.add_argument("--affiliation", choices=AFFILIATIONS)
    add.add_argument("--all", action="store_true", help="add every advertised feed, not only the first")
    add.add_argument("--dry-run", action="store_true", help="show what would be added, change nothing")
    add.add_argument("--file", type=Path, help="feeds file to append to (default: the configured feeds.yaml)")
    add.set_defaults(func=run_add)

    verify = feeds_sub.add_parser("verify", help="poll every feed once now and say what to fix",
                                  description="Poll each enabled feed of feeds.yaml once, as the pipeline does but "
                                              "with a throw-away state (the state DB is not touched), and print its "
                                              "status, items, the age of its newest item and a suggested fix: the "
                                              "new URL of a moved feed, the feeds an HTML page points to, removing a "
                                              "gone one. Exit 0 when every feed is usable, 1 when some are not.")
    verify.add_argument("--feed", dest="feed_ids", action="append", metavar="ID", help="only this feed (repeatable)")
    verify.add_argument("--all", action="store_true", help="also poll the feeds disabled in feeds.yaml")
    verify.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    verify.set_defaults(func=run_verify)

    report = feeds_sub.add_parser("report", help="send the feed-health changes to NEWSMON_OPERATOR_CHANNELS now",
                                  description="What the maintenance DAG's report_feed_health task does, for machines "
                                              "without Airflow (run it daily from cron): send the feeds whose verdict "
                                              "changed since the last report (silent, failing, moved, gone, or back "
                                              "to ok) to every NEWSMON_OPERATOR_CHANNELS URL.")
    report.set_defaults(func=run_report)

    status = feeds_sub.add_parser("status", help="per feed: last success, last error, items/day, next poll")
    status.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    status.set_defaults(func=run_status)


# ---------------------------------------------------------------- parse


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def run_parse(args: argparse.Namespace, settings: Settings) -> int:
    source: str = args.source
    try:
        if source.startswith(("http://", "https://")):
            with SafeClient(settings) as client:
                page = client.fetch(source, kind="feed")
            body, headers, url = page.body, dict(page.headers), page.final_url
        else:
            path = Path(source)
            if not path.is_file():
                raise UserError(f"{source}: no such file (give a feed file path or an http(s) URL)")
            body, headers, url = path.read_bytes(), {}, args.base_url or path.resolve().as_uri()
        parsed = parse_feed(body, url=url, headers=headers)
    except FetchError as exc:
        raise UserError(f"cannot fetch {exc.url}: {exc.reason}") from exc
    except FeedParseError as exc:
        raise UserError(f"{source}: unusable feed: {exc.reason}") from exc
    except OSError as exc:
        raise UserError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    entries = [{"id": e.entry_id, "title": e.title, "link": e.link, "published_at": _iso(e.published_at)}
               for e in parsed.entries]
    if args.json:
        print(json_dumps({"source": source, "title": parsed.title, "link": parsed.link, "language": parsed.language,
                          "entries": entries, "problems": list(parsed.problems)}, indent=2))
        return 0
    # Everything below comes from the feed: printable() keeps its escape sequences off the terminal.
    print(f"feed:     {printable(parsed.title or '(no title)')}")
    print(f"link:     {printable(parsed.link or '-')}")
    print(f"language: {printable(parsed.language or '-')}")
    print(f"entries:  {len(entries)}")
    for e in entries:
        print(f"  - {printable(e['title'] or '(no title)')}")
        print(f"    id: {printable(e['id'])}")
        print(f"    link: {printable(e['link'] or '-')}")
        print(f"    published_at: {e['published_at'] or 'unknown'}")
    print(f"problems: {len(parsed.problems)}")
    for problem in parsed.problems:
        print(f"  - {printable(problem)}")
    return 0


# ---------------------------------------------------------------- add


def slug_for(url: str) -> str:
    host = (urlsplit(url).hostname or "feed").lower().removeprefix("www.")
    return re.sub(r"[^a-z0-9]+", "-", host.rsplit(".", 1)[0] if host.count(".") >= 1 else host).strip("-") or "feed"


def _existing(path: Path) -> tuple[set[str], set[str], str]:
    """Ids and URLs already in the feeds file, and the indentation its list items use."""
    if not path.exists():
        return set(), set(), "  "
    feeds = load_feeds(path)
    match = re.search(r"^([ \t]*)- +id:", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {f.id for f in feeds}, {f.url for f in feeds}, match.group(1) if match else "  "


def append_feed_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    """Append entries to the feeds file as text (comments stay), then check the whole file still loads."""
    _ids, _urls, indent = _existing(path)
    original = path.read_text(encoding="utf-8") if path.exists() else "feeds:\n"
    block = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=1000)
    text = original if original.endswith("\n") else original + "\n"
    text += "".join(indent + line + "\n" for line in block.splitlines())
    candidate = path.with_name(path.name + ".new")
    candidate.write_text(text, encoding="utf-8")
    try:
        load_feeds(candidate)
    except ConfigError:
        candidate.unlink()
        raise
    candidate.replace(path)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    if not args.site_url.startswith(("http://", "https://")):
        raise UserError(f"{args.site_url}: give the site's http(s) URL, e.g. https://www.lrt.lt/")
    if args.language and not re.fullmatch(r"[a-zA-Z]{2}", args.language):
        raise UserError(f"--language {args.language!r}: use an ISO 639-1 code such as lt, be, ru, en")
    if args.country and not re.fullmatch(r"[a-zA-Z]{2}", args.country):
        raise UserError(f"--country {args.country!r}: use an ISO 3166 alpha-2 code such as LT, BY, PL")
    # In the case feeds.yaml stores them: `--country lt` gives LT, as `country: lt` in the file does.
    country = args.country.upper() if args.country else None
    chosen_language = args.language.lower() if args.language else None
    path: Path = args.file or settings.feeds_file
    ids, urls, _indent = _existing(path)
    if args.feed_id and args.feed_id in ids:
        raise UserError(f"feed id {args.feed_id!r} is already in {path}; choose another with --id")
    try:
        with SafeClient(settings) as client:
            found, page_language = discover_feeds(client, args.site_url)
    except DiscoveryError as exc:
        raise UserError(exc.reason if exc.reason.startswith(exc.url) else f"{exc.url}: {exc.reason}") from exc
    chosen = found if args.all else found[:1]
    new_entries: list[dict[str, Any]] = []
    found: list[str] = []
    for index, feed in enumerate(chosen):
        if feed.url in urls:
            print(f"already configured: {printable(feed.url)}", file=sys.stderr)
            continue
        base_id = args.feed_id or slug_for(feed.url)
        feed_id = base_id if index == 0 else f"{base_id}-{index + 1}"
        suffix = 2
        while feed_id in ids:
            feed_id = f"{base_id}-{suffix}"
            suffix += 1
        ids.add(feed_id)
        language = chosen_language or (feed.language or page_language or "")[:2].lower() or None
        name = args.name or clean_name(feed.title, MAX_SITE_NAME_CHARS) or feed_id
        entry: dict[str, Any] = {"id": feed_id, "name": name, "url": feed.url}
        if language and re.fullmatch(r"[a-z]{2}", language):
            entry["language"] = language
        if country:
            entry["country"] = country
        if args.affiliation:
            entry["affiliation"] = args.affiliation
        entry["enabled"] = True
        # What `feeds add` itself saw is the evidence: the site pointed at this URL and it parsed.
        entry["evidence"] = (f"newsmon feeds add: {feed.how} of {args.site_url}, parsed with {feed.entries} entries "
                             f"on {datetime.now(UTC):%Y-%m-%d}")
        new_entries.append(entry)
        found.append(printable(f"{feed_id}: {feed.url} ({name if feed.title else 'untitled'}, {feed.entries} entries, "
                               f"{feed.how})"))
    if not new_entries:
        return 0
    if not args.dry_run:
        append_feed_entries(path, new_entries)  # raises before anything is reported as added
    for line in found:
        print(f"{'would add' if args.dry_run else 'added'} {line}")
    if not args.dry_run:
        if not (country and args.affiliation):
            print(f"note: set country and affiliation for the new feed(s) in {path}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- verify


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    feeds = load_feeds(settings.feeds_file)
    if args.feed_ids:
        unknown = sorted(set(args.feed_ids) - {f.id for f in feeds})
        if unknown:
            raise UserError(f"no feed {', '.join(map(repr, unknown))} in {settings.feeds_file}")
        feeds = [f for f in feeds if f.id in args.feed_ids]
    elif not args.all:
        feeds = [f for f in feeds if f.enabled]
    now = datetime.now(UTC)
    checks = []
    with SafeClient(settings) as client:
        for feed in feeds:
            check = verify_feed(client, replace(feed, enabled=True), now)
            checks.append(check)
            if args.json:
                print(json_dumps({"id": check.feed_id, "url": check.url, "usable": check.usable, "status": check.status,
                                  "outcome": check.outcome, "items": check.items,
                                  "newest_item_at": _iso(check.newest_item_at), "suggestion": check.suggestion,
                                  "new_url": check.new_url, "discovered": list(check.discovered)}))
            else:
                if len(checks) == 1:
                    print(f"{'feed':24} {'status':14} {'items':>5} {'newest item':13} suggestion")
                items = "-" if check.items is None else str(check.items)
                newest = _age(check.newest_item_at, now) if check.newest_item_at else "-"
                print(printable(f"{check.feed_id[:24]:24} {check.status[:14]:14} {items:>5} {newest:13} "
                                f"{check.suggestion}"))
    unusable = [c for c in checks if not c.usable]
    if not args.json:
        print(f"{len(checks)} feeds polled: {len(checks) - len(unusable)} usable, {len(unusable)} to fix")
    return 1 if unusable else 0


# ---------------------------------------------------------------- report


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    counts = report_feed_health(settings)
    sent = counts.get("operator_reports_sent", 0)
    changed = counts.get("feed_verdicts_changed", 0)
    print(f"{counts.get('feeds_needing_attention', 0)} feeds need attention, {changed} changed since the last report")
    if changed and not settings.operator_channels:
        print("not sent: set NEWSMON_OPERATOR_CHANNELS (channel URLs as in alerts.yaml)", file=sys.stderr)
    elif changed:
        print(f"sent to {sent} operator channel(s): "
              + ", ".join(describe_channel(url) for url in settings.operator_channels))
    return 0


# ---------------------------------------------------------------- status


def _age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f}s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f}m"
    elif seconds < 2 * 86400:
        text = f"{seconds / 3600:.1f}h"
    else:
        text = f"{seconds / 86400:.1f}d"
    return f"in {text}" if future else f"{text} ago"


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    feeds = load_feeds(settings.feeds_file)
    now = datetime.now(UTC)
    rows = feed_health(open_engine(settings.database_url), feeds, now)
    if args.json:
        for row in rows:
            print(json_dumps({"id": row.id, "health": row.health, "verdict": str(row.verdict), "why": row.why,
                              "url": row.url, "moved_to": row.moved_to,
                              "last_success_at": _iso(row.last_success_at), "last_error": row.last_error,
                              "last_new_item_at": _iso(row.last_new_item_at), "usual_gap_s": row.usual_gap_s,
                              "items_per_day": row.items_per_day, "interval_s": row.interval_s,
                              "next_poll_at": _iso(row.next_poll_at)}))
        return 0
    header = (f"{'feed':24} {'health':12} {'verdict':8} {'last success':13} {'last new':13} {'items/day':>9} "
              f"{'interval':>8} {'next poll':12} why / last error")
    print(header)
    for row in rows:
        nxt = row.next_poll_at
        next_text = "due" if row.health in ("ok", "new") and (nxt is None or nxt <= now) else (
            "-" if row.health in ("off", "disabled") else _age(nxt, now))
        interval = f"{row.interval_s // 60}m" if row.interval_s else "-"
        rate = "-" if row.items_per_day is None else f"{row.items_per_day:.1f}"
        error = printable(row.why if row.verdict in PROBLEMS else (row.last_error or ""))[:110]
        print(f"{row.id[:24]:24} {row.health:12} {row.verdict:8} {_age(row.last_success_at, now):13} "
              f"{_age(row.last_new_item_at, now):13} {rate:>9} {interval:>8} {next_text:12} {error}")
    counts = {h: sum(1 for r in rows if r.health.split()[0] == h) for h in ("ok", "new", "failing", "disabled", "off")}
    print(f"{len(rows)} feeds: " + ", ".join(f"{n} {h}" for h, n in counts.items() if n))
    attention = {v: sum(1 for r in rows if r.verdict == v) for v in sorted(PROBLEMS)}
    if any(attention.values()):
        print("need attention: " + ", ".join(f"{n} {v}" for v, n in attention.items() if n))
    return 0
