"""Cross-lingual event pairs: build the JSONL files from sources/ and check them against the sealed exclusion list.

Usage:
    .venv/bin/python bench/data/crosslingual/build.py           # validate docs/pairs/mentions, print the tables
    .venv/bin/python bench/data/crosslingual/build.py --write   # rebuild them from sources/ first

sources/pages.txt holds the page excerpts as retrieved, sources/events.tsv the event clusters, sources/negatives.tsv
the hard negatives per pair of events and sources/mentions.tsv the entity mentions. The exclusion list is read from
$NEWSMON_SHARED_DIR/sealed/crosslingual-exclude.sha256 (default ../shared next to the checkout).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
REPO = HERE.parents[2]
RETRIEVED = "2026-12-03"
MAX_POSITIVES_PER_EVENT = 10
KINDS = ("cross_language", "same_entities_other_event", "same_type_other_day", "same_day_other_event")
TARGETS = {"positives": 150, "negatives": 150, "same_day_negatives": 40, "mentions": 120, "mention_languages": 4}
SLUG = re.compile(r"^(person|place|org)/[a-z0-9]+(-[a-z0-9]+)*$")
FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@dataclass(frozen=True)
class Page:
    url: str
    source: str
    language: str
    date: str | None
    date_basis: str | None
    title: str | None
    text: str
    event_id: str
    query_no: int
    query: str


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")


def url_key(url: str) -> str:
    """The sealed README's URL form: no scheme, no leading www., no trailing slash, lower-cased."""
    bare = re.sub(r"^https?://", "", url.strip())
    bare = re.sub(r"^www\.", "", bare)
    return bare.rstrip("/").lower()


def url_hash(url: str) -> str:
    return hashlib.sha256(url_key(url).encode()).hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 of the first 200 characters after collapsing whitespace, stripping and lower-casing."""
    return hashlib.sha256(" ".join(text.split()).strip().lower()[:200].encode()).hexdigest()


def doc_id(url: str) -> str:
    return "xl-" + hashlib.sha256(url.encode()).hexdigest()[:12]


def read_pages(path: Path) -> list[Page]:
    """Parse the '### Q n' / '### DOC' blocks; the text after '---' is kept exactly, minus the final newline."""
    pages: list[Page] = []
    query_no, query = 0, ""
    blocks = re.split(r"(?m)^### (Q \d+|DOC)\n", path.read_text(encoding="utf-8"))
    for marker, body in zip(blocks[1::2], blocks[2::2], strict=True):
        if marker.startswith("Q "):
            query_no = int(marker.split()[1])
            query = re.search(r"^query: (.*)$", body, re.M).group(1).strip()
            continue
        head, _, text = body.partition("\n---\n")
        fields = dict(re.findall(r"^(\w+): ?(.*)$", head, re.M))
        date = fields.get("date", "").strip() or None
        pages.append(
            Page(
                url=fields["url"].strip(),
                source=fields["source"].strip(),
                language=fields["lang"].strip(),
                date=date,
                date_basis=(fields.get("datebasis", "").strip() or "page") if date else None,
                title=fields.get("title", "").strip() or None,
                text=text.rstrip("\n"),
                event_id=fields["event"].strip(),
                query_no=query_no,
                query=query,
            )
        )
    return pages


def read_tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def read_events() -> dict[str, dict[str, str]]:
    rows = read_tsv(SOURCES / "events.tsv")
    return {r[0]: {"type": r[1], "summary": r[2]} for r in rows[1:]}


def make_docs(pages: list[Page], events: dict[str, dict[str, str]]) -> list[dict]:
    return [
        {
            "id": doc_id(p.url),
            "url": p.url,
            "source": p.source,
            "language": p.language,
            "date": p.date,
            "date_basis": p.date_basis,
            "title": p.title,
            "text": p.text,
            "event_id": p.event_id,
            "event_summary": events[p.event_id]["summary"],
            "provenance": {"query": p.query, "query_no": p.query_no, "method": "full-text search over a stored copy of public web pages", "retrieved": RETRIEVED},
        }
        for p in pages
    ]


def same_day(a: dict, b: dict) -> bool:
    return bool(a["date"] and b["date"] and FULL_DATE.match(a["date"]) and a["date"] == b["date"])


def pick_pairs(candidates: list[tuple[dict, dict]], limit: int, cross_language_first: bool) -> list[tuple[dict, dict]]:
    """Greedy, deterministic: spread over language pairs and documents, independent outlets before language editions."""
    chosen: list[tuple[dict, dict]] = []
    lang_use: Counter[tuple[str, str]] = Counter()
    doc_use: Counter[str] = Counter()
    pool = sorted(candidates, key=lambda ab: (ab[0]["id"], ab[1]["id"]))
    while pool and len(chosen) < limit:

        def cost(ab: tuple[dict, dict]) -> tuple:
            a, b = ab
            langs = tuple(sorted((a["language"], b["language"])))
            return (
                cross_language_first and a["language"] == b["language"],
                lang_use[langs],
                max(doc_use[a["id"]], doc_use[b["id"]]),
                a["source"] == b["source"],
                a["id"],
                b["id"],
            )

        best = min(pool, key=cost)
        pool.remove(best)
        chosen.append(best)
        lang_use[tuple(sorted((best[0]["language"], best[1]["language"])))] += 1
        doc_use[best[0]["id"]] += 1
        doc_use[best[1]["id"]] += 1
    return chosen


def pair_record(a: dict, b: dict, label: str, kind: str, related: bool | None, note: str) -> dict:
    a, b = sorted((a, b), key=lambda d: d["id"])
    return {
        "a": a["id"],
        "b": b["id"],
        "label": label,
        "kind": kind,
        "same_day": same_day(a, b),
        "related": related,
        "languages": "-".join(sorted((a["language"], b["language"]))),
        "note": note,
    }


def make_positives(docs: list[dict]) -> list[dict]:
    by_event: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by_event[d["event_id"]].append(d)
    pairs = []
    for event_id in sorted(by_event):
        members = by_event[event_id]
        candidates = [(a, b) for a, b in itertools.combinations(members, 2) if a["language"] != b["language"]]
        for a, b in pick_pairs(candidates, MAX_POSITIVES_PER_EVENT, cross_language_first=True):
            edition = " (same outlet, two language editions)" if a["source"] == b["source"] else ""
            note = f"both report {event_id}{edition}"
            pairs.append(pair_record(a, b, "same_event", "cross_language", None, note))
    return pairs


def make_negatives(docs: list[dict], events: dict[str, dict[str, str]]) -> tuple[list[dict], list[str]]:
    by_event: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        by_event[d["event_id"]].append(d)
    pairs, problems = [], []
    for row in read_tsv(SOURCES / "negatives.tsv"):
        event_a, event_b, kind, related, limit, why = row[:6]
        # a 7th column lists url fragments of pages kept out of this negative (they mix in details of the other event)
        avoid = [f for f in row[6].split(",") if f] if len(row) > 6 else []
        if event_a not in by_event or event_b not in by_event:
            problems.append(f"negatives.tsv: no kept document for {event_a if event_a not in by_event else event_b}")
            continue
        candidates = [
            (a, b)
            for a in by_event[event_a]
            for b in by_event[event_b]
            if same_day(a, b) == (kind == "same_day_other_event")
            and not any(f in a["url"] or f in b["url"] for f in avoid)
        ]
        chosen = pick_pairs(candidates, int(limit), cross_language_first=True)
        if not chosen:
            problems.append(f"negatives.tsv: no document pair fits {kind} for {event_a} / {event_b}")
        for a, b in (sorted(ab, key=lambda d: d["id"]) for ab in chosen):
            note = f"{why}. a: {events[a['event_id']]['summary']} b: {events[b['event_id']]['summary']}"
            pairs.append(pair_record(a, b, "different_event", kind, related == "1", note))
    return pairs, problems


def make_mentions(docs: list[dict]) -> tuple[list[dict], list[str]]:
    """sources/mentions.tsv: url fragment, surface, type, canonical id, which occurrence (1 = first)."""
    mentions, problems = [], []
    for row in read_tsv(SOURCES / "mentions.tsv"):
        fragment, surface, kind, canonical = row[:4]
        occurrence = int(row[4]) if len(row) > 4 and row[4] else 1
        hits = [d for d in docs if fragment in d["url"]]
        if len(hits) != 1:
            problems.append(f"mentions.tsv: {fragment!r} matches {len(hits)} documents, not one")
            continue
        doc = hits[0]
        starts = [m.start() for m in re.finditer(re.escape(surface), doc["text"])]
        if len(starts) < occurrence:
            problems.append(
                f"mentions.tsv: {surface!r} occurs {len(starts)} times in {doc['id']}, wanted #{occurrence}"
            )
            continue
        mentions.append(
            {"doc": doc["id"], "surface": surface, "start": starts[occurrence - 1], "type": kind, "id": canonical}
        )
    return mentions, problems


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_exclusions() -> set[str] | None:
    path = shared_dir() / "sealed" / "crosslingual-exclude.sha256"
    if not path.exists():
        return None
    return {line.split()[1] for line in path.read_text().splitlines() if line.strip()}


def check_docs(docs: list[dict], excluded: set[str] | None) -> list[str]:
    problems = []
    ids = Counter(d["id"] for d in docs)
    problems += [f"duplicate doc id {i}" for i, n in ids.items() if n > 1]
    urls = Counter(url_key(d["url"]) for d in docs)
    problems += [f"duplicate url {u}" for u, n in urls.items() if n > 1]
    for d in docs:
        if d["id"] != doc_id(d["url"]):
            problems.append(f"{d['id']}: id is not xl- + sha256(url)[:12]")
        if excluded is not None and (url_hash(d["url"]) in excluded or text_hash(d["text"]) in excluded):
            problems.append(f"{d['id']}: listed in the sealed cross-lingual exclusion list")
        if d["date"] is not None and not DATE.match(d["date"]):
            problems.append(f"{d['id']}: date {d['date']!r} is not YYYY-MM or YYYY-MM-DD")
        if not d["text"].strip() or len(d["text"]) > 2500:
            problems.append(f"{d['id']}: text is empty or longer than 2,500 characters")
        if not re.match(r"^[a-z]{2}$", d["language"]):
            problems.append(f"{d['id']}: language {d['language']!r} is not a two-letter code")
    return problems


def check_pairs(pairs: list[dict], docs: dict[str, dict]) -> list[str]:
    problems = []
    seen: dict[tuple[str, str], str] = {}
    positives_per_event: Counter[str] = Counter()
    for p in pairs:
        key = (p["a"], p["b"])
        if p["a"] not in docs or p["b"] not in docs:
            problems.append(f"pair {key}: a document is missing from docs.jsonl")
            continue
        a, b = docs[p["a"]], docs[p["b"]]
        if key in seen or (p["b"], p["a"]) in seen:
            problems.append(f"pair {key}: listed twice")
        seen[key] = p["label"]
        if p["kind"] not in KINDS:
            problems.append(f"pair {key}: unknown kind {p['kind']}")
        if p["same_day"] != same_day(a, b):
            problems.append(f"pair {key}: same_day flag disagrees with the dates")
        if p["label"] == "same_event":
            positives_per_event[a["event_id"]] += 1
            if a["event_id"] != b["event_id"] or a["language"] == b["language"] or p["kind"] != "cross_language":
                problems.append(f"pair {key}: a positive must join one event across two languages")
        elif p["label"] == "different_event":
            if a["event_id"] == b["event_id"] or p["kind"] == "cross_language":
                problems.append(f"pair {key}: a negative must join two events and name its kind")
            if (p["kind"] == "same_day_other_event") != p["same_day"]:
                problems.append(f"pair {key}: same_day_other_event exactly when both were published the same day")
        else:
            problems.append(f"pair {key}: unknown label {p['label']}")
    problems += [
        f"event {e}: {n} positive pairs, more than {MAX_POSITIVES_PER_EVENT}"
        for e, n in positives_per_event.items()
        if n > MAX_POSITIVES_PER_EVENT
    ]
    return problems


def check_mentions(mentions: list[dict], docs: dict[str, dict]) -> list[str]:
    problems = []
    for m in mentions:
        doc = docs.get(m["doc"])
        where = f"mention {m['surface']!r} in {m['doc']}"
        if doc is None:
            problems.append(f"{where}: no such document")
            continue
        if doc["text"][m["start"] : m["start"] + len(m["surface"])] != m["surface"]:
            problems.append(f"{where}: the text at {m['start']} is not the surface")
        if m["type"] not in ("person", "place", "org") or not SLUG.match(m["id"]) or not m["id"].startswith(m["type"]):
            problems.append(f"{where}: type/id {m['type']} {m['id']} do not fit the scheme")
    return problems


def print_table(title: str, counts: Counter, total_label: str = "total") -> None:
    print(f"\n{title}")
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        print(f"  {key!s:42} {n:5}")
    print(f"  {total_label:42} {sum(counts.values()):5}")


def report(docs: list[dict], pairs: list[dict], mentions: list[dict], excluded: set[str] | None) -> list[str]:
    positives = [p for p in pairs if p["label"] == "same_event"]
    negatives = [p for p in pairs if p["label"] == "different_event"]
    events = Counter(d["event_id"] for d in docs)
    print(f"docs {len(docs)} in {len(events)} events; pairs {len(pairs)}; mentions {len(mentions)}")
    print("sealed exclusion list: " + ("checked" if excluded is not None else "NOT FOUND, exclusion not checked"))
    print_table("documents per language", Counter(d["language"] for d in docs))
    print_table("pairs per label/kind", Counter(f"{p['label']}/{p['kind']}" for p in pairs))
    print_table("negatives published the same day", Counter(f"same_day={p['same_day']}" for p in negatives))
    print_table("negatives whose events are causally related", Counter(f"related={p['related']}" for p in negatives))
    print_table("positive pairs per language pair", Counter(p["languages"] for p in positives))
    print_table("negative pairs per language pair", Counter(p["languages"] for p in negatives))
    print_table("positive pairs per event", Counter(docs_by_id(docs)[p["a"]]["event_id"] for p in positives))
    print_table("mentions per language", Counter(docs_by_id(docs)[m["doc"]]["language"] for m in mentions))
    print_table("mentions per type", Counter(m["type"] for m in mentions))
    print(f"\ndistinct entity ids: {len({m['id'] for m in mentions})}")
    shortfalls = []
    actual = {
        "positives": len(positives),
        "negatives": len(negatives),
        "same_day_negatives": sum(p["same_day"] for p in negatives),
        "mentions": len(mentions),
        "mention_languages": len({docs_by_id(docs)[m["doc"]]["language"] for m in mentions}),
    }
    for name, target in TARGETS.items():
        flag = "ok" if actual[name] >= target else "SHORT"
        print(f"target {name:22} {actual[name]:5} >= {target:4}  {flag}")
        if actual[name] < target:
            shortfalls.append(f"{name}: {actual[name]} < {target}")
    return shortfalls


def docs_by_id(docs: list[dict]) -> dict[str, dict]:
    return {d["id"]: d for d in docs}


def build(out: Path = HERE) -> list[str]:
    """Write docs/pairs/mentions.jsonl into `out`; returns the problems met on the way."""
    events = read_events()
    pages = read_pages(SOURCES / "pages.txt")
    unknown = sorted({p.event_id for p in pages} - set(events))
    if unknown:
        return [f"events.tsv has no summary for {e}" for e in unknown]
    docs = make_docs(pages, events)
    negatives, problems = make_negatives(docs, events)
    mentions, mention_problems = make_mentions(docs)
    write_jsonl(out / "docs.jsonl", docs)
    write_jsonl(out / "pairs.jsonl", make_positives(docs) + negatives)
    write_jsonl(out / "mentions.jsonl", mentions)
    return problems + mention_problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rebuild docs/pairs/mentions.jsonl from sources/")
    args = parser.parse_args()
    problems = build() if args.write else []
    docs = read_jsonl(HERE / "docs.jsonl")
    pairs = read_jsonl(HERE / "pairs.jsonl")
    mentions = read_jsonl(HERE / "mentions.jsonl")
    excluded = read_exclusions()
    by_id = docs_by_id(docs)
    problems += check_docs(docs, excluded) + check_pairs(pairs, by_id) + check_mentions(mentions, by_id)
    shortfalls = report(docs, pairs, mentions, excluded)
    for problem in problems + shortfalls:
        print("PROBLEM:", problem, file=sys.stderr)
    return 1 if problems or shortfalls else 0


if __name__ == "__main__":
    sys.exit(main())
