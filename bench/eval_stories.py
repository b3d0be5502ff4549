"""Cross-lingual story quality: pair precision/recall/F1 through the real story assignment, on bench/data/crosslingual.

Usage:
    .venv/bin/python bench/eval_stories.py                 # tuning part, held-back part, all; per kind and language pair
    .venv/bin/python bench/eval_stories.py --json out.json

Every page becomes an Article (entities from the shipped topic pack's tagger, as the poll stage makes them) and
all of them go through newsmon.store.clusters.assign_clusters and newsmon.store.stories.assign_stories on an
in-memory SQLite state DB, in shuffled batches, as parallel polls would stage them; a pair is predicted
"same event" when both pages end in one story.

Held-back part: a seeded fraction of the events (SEED, HELD_BACK_FRACTION; drawn separately among events with
pages in several languages and events in one language) was set aside before any threshold was chosen; the
thresholds were tuned on the pairs whose two events are both in the tuning part, and every pair that touches
a held-back event is reported as held back.

Publication times: a page dated to the day is published at noon UTC of that date. A page with no date (41) or
only a month (8) has `published_at` None and is "fetched" at noon of its event's date plus a seeded 0–24 h, as
the poller would fetch it when it appears; the README's rule puts every page of an event within a few days of
it. Because that placement uses the event's date, the table "both pages dated" repeats the figures on the pairs
whose two pages carry their own date.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # for scoring, also when a test imports this file by path

from scoring import HEADER, Counts  # noqa: E402  (bench/ is on sys.path)
from sqlalchemy import create_engine  # noqa: E402

from newsmon.core.records import Article  # noqa: E402
from newsmon.enrich.dedup import content_hash, fingerprint  # noqa: E402
from newsmon.enrich.topic import load_topic_pack, tag  # noqa: E402
from newsmon.store.clusters import assign_clusters  # noqa: E402
from newsmon.store.schema import metadata  # noqa: E402
from newsmon.store.stories import assign_stories, stories_of  # noqa: E402

DATA = REPO / "bench" / "data" / "crosslingual"
PACK = REPO / "config" / "topics" / "lt-by.yaml"
SEED = 15
HELD_BACK_FRACTION = 0.3
BATCHES = 8
UNDATED_FETCH_DELAY_H = 24
NOW = datetime(2026, 12, 3, tzinfo=UTC)


@dataclass
class Report:
    parts: dict[str, dict[str, Counts]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counts)))
    same_day_false_merges: dict[str, int] = field(default_factory=Counter)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def held_back_events(docs: list[dict], seed: int = SEED, fraction: float = HELD_BACK_FRACTION) -> set[str]:
    """A seeded fraction of the events, drawn separately among multi-language and one-language events."""
    languages: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        languages[doc["event_id"]].add(doc["language"])
    multi = sorted(e for e, langs in languages.items() if len(langs) > 1)
    single = sorted(e for e, langs in languages.items() if len(langs) == 1)
    rng = random.Random(seed)
    return set(rng.sample(multi, round(len(multi) * fraction))) | set(rng.sample(single, round(len(single) * fraction)))


def _event_day(event_id: str) -> datetime:
    day = event_id[:10] if event_id[7] == "-" and event_id[8:10].isdigit() else event_id[:7] + "-01"
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def to_articles(docs: list[dict], seed: int = SEED) -> list[Article]:
    pack = load_topic_pack(PACK)
    rng = random.Random(seed)
    result = []
    for doc in sorted(docs, key=lambda d: d["id"]):
        dated = doc["date"] is not None and len(doc["date"]) == 10
        published_at = datetime.fromisoformat(doc["date"]).replace(hour=12, tzinfo=UTC) if dated else None
        delay = timedelta(hours=rng.uniform(0, UNDATED_FETCH_DELAY_H))
        fetched_at = published_at or _event_day(doc["event_id"]) + delay
        title = doc["title"] or ""
        topic = tag(pack, title, doc["text"], doc["language"])
        result.append(Article(
            id=doc["id"], url=doc["url"], canonical_url=doc["url"], source=doc["source"], title=title, text=doc["text"],
            fetched_at=fetched_at, published_at=published_at, language=doc["language"],
            content_hash=content_hash(doc["text"]), fingerprint=fingerprint(doc["text"]), topic=topic,
            entities=topic.entities))
    return result


def assign(articles: list[Article], seed: int, batches: int = BATCHES) -> dict[str, str]:
    """Story id per article, the articles staged in `batches` shuffled batches on a fresh in-memory state DB."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    shuffled = list(articles)
    random.Random(seed).shuffle(shuffled)
    size = -(-len(shuffled) // batches)
    story_of: dict[str, str] = {}
    with engine.begin() as conn:
        for start in range(0, len(shuffled), size):
            batch = assign_clusters(conn, shuffled[start : start + size], NOW)
            assign_stories(conn, batch, NOW)

        story_of = stories_of(conn, [a.id for a in articles])  # the final story of each, after later merges
    engine.dispose()
    return story_of


def evaluate(docs: list[dict], pairs: list[dict], story_of: dict[str, str], held: set[str]) -> Report:
    by_id = {d["id"]: d for d in docs}
    report = Report()
    for pair in pairs:
        a, b = by_id[pair["a"]], by_id[pair["b"]]
        part = "held-back" if a["event_id"] in held or b["event_id"] in held else "tuning"
        truth = pair["label"] == "same_event"
        predicted = story_of[a["id"]] == story_of[b["id"]]
        dated = all(d["date"] is not None and len(d["date"]) == 10 for d in (a, b))
        for name in (part, "all"):
            groups = report.parts[name]
            groups["ALL"].add(truth=truth, predicted=predicted)
            groups[f"kind {pair['kind']}"].add(truth=truth, predicted=predicted)
            groups[f"lang {pair['languages']}"].add(truth=truth, predicted=predicted)
            if dated:
                groups["both pages dated"].add(truth=truth, predicted=predicted)
            if pair["kind"] == "same_day_other_event" and predicted:
                report.same_day_false_merges[name] += 1
    return report




def print_report(report: Report, *, languages: bool) -> None:
    for part in ("tuning", "held-back", "all"):
        groups = report.parts[part]
        if not groups:
            continue
        print(f"\n### {part} pairs (same-day different-event merges: {report.same_day_false_merges[part]})\n")
        print(HEADER)
        keys = ["ALL", "both pages dated", *sorted(k for k in groups if k.startswith("kind "))]
        if languages:
            keys += sorted(k for k in groups if k.startswith("lang "))
        for key in keys:
            if key in groups:
                print(groups[key].row(key))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-languages", action="store_true", help="leave out the per-language-pair rows")
    parser.add_argument("--tuning-only", action="store_true",
                        help="cluster and report only the tuning part's pages (what the thresholds were chosen on)")
    args = parser.parse_args(argv)
    docs, pairs = read_jsonl(DATA / "docs.jsonl"), read_jsonl(DATA / "pairs.jsonl")
    held = held_back_events(docs)
    events = len({d["event_id"] for d in docs})
    if args.tuning_only:
        docs = [d for d in docs if d["event_id"] not in held]
        kept = {d["id"] for d in docs}
        pairs = [p for p in pairs if p["a"] in kept and p["b"] in kept]
    articles = to_articles(docs)
    story_of = assign(articles, SEED)
    other_order = assign(articles, SEED + 1, batches=BATCHES * 2)
    same_partition = _partition(story_of) == _partition(other_order)
    report = evaluate(docs, pairs, story_of, held)
    print(f"held-back events: {len(held)} of {events} (seed {SEED}, fraction {HELD_BACK_FRACTION})")
    print(f"stories: {len(set(story_of.values()))} for {len(docs)} pages; another arrival order gives the same stories "
          f"and ids: {same_partition and story_of == other_order}")
    print_report(report, languages=not args.no_languages)
    if args.json:
        figures = {part: {k: dict(zip(("precision", "recall", "f1"), s.prf(), strict=True)) | {"n": s.n}
                          for k, s in groups.items()} for part, groups in report.parts.items()}
        figures["same_day_false_merges"] = dict(report.same_day_false_merges)
        args.json.write_text(json.dumps(figures, indent=1, sort_keys=True))
    return 0


def _partition(story_of: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for article_id, story_id in story_of.items():
        members[story_id].add(article_id)
    return {frozenset(m) for m in members.values()}


if __name__ == "__main__":
    raise SystemExit(main())
