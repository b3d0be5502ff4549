"""`newsmon dedup`: JSON lines of articles in, their ids and story clusters out (the same layers as ingestion)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from newsmon.app.stages.poll import load_pack
from newsmon.core.errors import UserError
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.enrich.topic import TopicPack, tag
from newsmon.ingest.urls import UrlError, article_id, canonical_url
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import open_engine
from newsmon.store.scratch import scratch_engine
from newsmon.store.stories import assign_stories


def register(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Reads one JSON object per line (url, title, text, optional ISO 8601 published_at, optional language and "
        "entities) and writes one per input line: id, canonical_url, cluster_id, duplicate_of, dup_reason "
        "(url | exact | near | null) and story_id (the event-level story: copies and translations of one event; "
        "entities come from the topic tagger unless the line gives them). "
        "A line that cannot be clustered (not JSON, no url or text, a bad URL or date) is answered in its place "
        "with {\"line\", \"error\"}, and the others are clustered. "
        "By default the clusters live only for this run; --state-db also matches against, and records in, "
        "the state DB that ingestion uses."
    )
    p.add_argument("input", nargs="?", default="-", help="JSON lines file (default: standard input)")
    p.add_argument("-o", "--output", default="-", help="where to write JSON lines (default: standard output)")
    p.add_argument("--state-db", action="store_true", help="match against and record in the configured state DB")
    p.set_defaults(func=run)


class BadLine(UserError):
    """One input line newsmon cannot cluster; it is answered with an error object in its place."""


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadLine(f"published_at must be an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadLine(f"published_at {value!r} is not ISO 8601 (e.g. 2025-10-28T06:00:00Z)") from None
    # A timestamp without an offset is taken as UTC, the convention of the feeds we read.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _item(line: str) -> dict[str, Any]:
    """The validated object of one line, with its canonical URL and publish time; BadLine says what is wrong."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg}); expected one object per line") from None
    if not isinstance(item, dict):
        raise BadLine("expected a JSON object with url, title, text")
    for name in ("url", "text"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise BadLine(f"missing or empty string field {name!r}")
    for name in ("title", "language"):
        if item.get(name) is not None and not isinstance(item[name], str):
            raise BadLine(f"{name} must be a string")
    if not isinstance(item.get("entities") or [], list) or not all(isinstance(e, str) for e in item.get("entities") or []):
        raise BadLine("entities must be a list of strings")
    try:
        item["_canonical"] = canonical_url(item["url"])
    except UrlError as exc:
        raise BadLine(str(exc)) from None
    item["_published_at"] = _parse_time(item.get("published_at"))
    return item


def read_items(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, the line's object or what is wrong with it) for every line that is not blank."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, _item(line)
        except BadLine as bad:
            yield number, bad


def dedup_items(items: list[dict[str, Any]], conn: Any, now: datetime, pack: TopicPack | None = None) -> list[dict[str, Any]]:
    """The ingestion layers on plain objects: canonical URL → id, newsmon.store.clusters for text identity, then
    newsmon.store.stories for the event (entities from `pack`'s tagger unless the line gives them)."""
    articles: list[Article] = []
    ids: list[str] = []
    first_by_id: dict[str, int] = {}
    for position, item in enumerate(items):
        canonical = item["_canonical"]
        identifier = article_id(canonical)
        ids.append(identifier)
        if identifier in first_by_id:
            continue
        first_by_id[identifier] = position
        text = item["text"]
        host = canonical.split("/")[2]
        title = item.get("title") or ""
        language = (item.get("language") or "").lower() or None
        entities = tuple(item.get("entities") or (tag(pack, title, text, language).entities if pack else ()))
        articles.append(
            Article(
                id=identifier,
                url=item["url"],
                canonical_url=canonical,
                source=host,
                title=title,
                text=text,
                language=language,
                entities=entities,
                # Undated items keep their input order after every dated one.
                fetched_at=now + timedelta(microseconds=position),
                published_at=item["_published_at"],
                content_hash=content_hash(text),
                fingerprint=fingerprint(text),
            )
        )
    assigned = {a.id: a for a in assign_stories(conn, assign_clusters(conn, articles, now), now)}
    out = []
    for position, identifier in enumerate(ids):
        article = assigned[identifier]
        if first_by_id[identifier] != position:
            # Same canonical URL as an earlier line: one document, reported as a URL duplicate of it.
            out.append({"id": article.id, "canonical_url": article.canonical_url, "cluster_id": article.cluster_id,
                        "duplicate_of": article.id, "dup_reason": "url", "story_id": article.story_id})
            continue
        out.append({"id": article.id, "canonical_url": article.canonical_url, "cluster_id": article.cluster_id,
                    "duplicate_of": article.duplicate_of, "dup_reason": article.dup_reason, "story_id": article.story_id})
    return out


def answer_lines(lines: Iterable[str], conn: Any, now: datetime, pack: TopicPack | None = None) -> tuple[list[dict[str, Any]], int]:
    """One output object per input line, in order (an error object for a bad line), and how many were bad."""
    read = list(read_items(lines))
    good = [item for _, item in read if not isinstance(item, BadLine)]
    results = iter(dedup_items(good, conn, now, pack))
    out = [{"line": number, "error": str(item)} if isinstance(item, BadLine) else next(results)
           for number, item in read]
    return out, len(read) - len(good)


def _open(path: str, mode: str) -> IO[str]:
    if path == "-":
        return sys.stdin if "r" in mode else sys.stdout
    try:
        return open(path, mode, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot open {path}: {exc.strerror}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    source = "stdin" if args.input == "-" else args.input
    handle = _open(args.input, "r")
    engine = open_engine(settings.database_url) if args.state_db else scratch_engine()
    try:
        with engine.begin() as conn:
            results, bad = answer_lines(handle, conn, datetime.now(UTC), load_pack(settings))
    finally:
        if handle is not sys.stdin:
            handle.close()
        if not args.state_db:
            engine.dispose()
    out = _open(args.output, "w")
    try:
        for result in results:
            out.write(json_dumps(result) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if bad:
        print(f"newsmon dedup: {bad} line(s) of {source} could not be clustered; their output lines say why "
              '({"line", "error"})', file=sys.stderr)
    return 0
