"""Check the cross-language topic set and its two fresh held-back batches (items, first-pass labels, split, exclusions) and print their counts."""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
SEED = "newsmon-topic-2026-12-03"
HOLDOUT_FRACTION = 0.2
LANGUAGES = {"lt", "ru", "pl", "en", "be", "uk", "lv", "de"}
MAIN_LANGUAGES = ("lt", "ru", "pl", "en")
LABELS = {"on_topic", "off_topic"}
SUBTOPICS = {
    "border_crossings", "migration", "smuggling", "airspace", "freight_transit",
    "diplomacy", "security_military", "energy_nuclear", "sanctions", "exiles_opposition",
}
ITEM_FIELDS = {"id", "title", "text", "source", "url", "date", "language", "provenance", "split"}
LABEL_FIELDS = {"id", "label", "subtopics", "confidence", "note", "kind"}
MAX_TEXT = 2400  # excerpts are trimmed to whole sentences near 2,000 characters
FRESH_ITEMS = "items-fresh.jsonl"
FRESH_LABELS = "labels-fresh-pass1.jsonl"
FRESH2_ITEMS = "items-fresh2.jsonl"
FRESH2_LABELS = "labels-fresh2-pass1.jsonl"


def normalise_url(url: str) -> str:
    """The URL key of ../shared/sealed/README.md: no scheme, no leading www., no trailing /, lower case."""
    u = re.sub(r"^https?://", "", url.strip(), flags=re.IGNORECASE)
    u = re.sub(r"^www\.", "", u, flags=re.IGNORECASE)
    if u.endswith("/"):
        u = u[:-1]
    return u.lower()


def url_hashes(url: str) -> set[str]:
    # The README's rule plus the all-trailing-slashes reading of it, so an exclusion is never missed.
    keys = {normalise_url(url), normalise_url(url).rstrip("/")}
    return {hashlib.sha256(k.encode("utf-8")).hexdigest() for k in keys}


def text_hashes(text: str) -> set[str]:
    """First 200 characters after collapsing whitespace, stripping and lower-casing (both orders of cut and case)."""
    collapsed = re.sub(r"\s+", " ", text).strip()
    keys = {collapsed.lower()[:200], collapsed[:200].lower()}
    return {hashlib.sha256(k.encode("utf-8")).hexdigest() for k in keys}


def item_id(url: str) -> str:
    return "np-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def holdout_ids(items: list[dict], seed: str = SEED) -> set[str]:
    """A fifth of each language, the items whose sha256(seed:id) sorts first."""
    by_lang: dict[str, list[str]] = collections.defaultdict(list)
    for it in items:
        by_lang[it["language"]].append(it["id"])
    chosen: set[str] = set()
    for ids in by_lang.values():
        ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
        chosen.update(ranked[: round(len(ranked) * HOLDOUT_FRACTION)])
    return chosen


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{n}: not JSON ({exc}); fix that line") from exc
    return rows


def load_sealed(shared: Path) -> dict[str, set[str]] | None:
    path = shared / "sealed" / "topic-exclude.sha256"
    if not path.exists():
        return None
    keys: dict[str, set[str]] = {"url": set(), "text": set()}
    for line in path.read_text().split("\n"):
        if line.strip():
            kind, digest = line.split()
            keys[kind].add(digest)
    return keys


def load_dev(shared: Path) -> tuple[set[str], set[str]] | None:
    """Normalised URLs and opening-text hashes of the shared dev items, none of which may be collected again."""
    path = shared / "corpus" / "topic" / "dev.jsonl"
    if not path.exists():
        return None
    rows = read_jsonl(path)
    return {normalise_url(r["url"]) for r in rows if r.get("url")}, set().union(*(text_hashes(r["text"]) for r in rows))


def check_fields(items: list[dict], problems: list[str], name: str, splits: set[str]) -> None:
    """Per-item checks shared by both files: fields, id rule, language, split value, text length, provenance, duplicates."""
    seen_ids, seen_urls, seen_text = set(), set(), {}
    for it in items:
        where = f"{name} id={it.get('id')}"
        if set(it) != ITEM_FIELDS:
            problems.append(f"{where}: fields {sorted(set(it) ^ ITEM_FIELDS)} missing or extra")
            continue
        if it["id"] != item_id(it["url"]):
            problems.append(f"{where}: id is not np- + 12 hex of sha256(url)")
        if it["language"] not in LANGUAGES:
            problems.append(f"{where}: language {it['language']!r} not in {sorted(LANGUAGES)}")
        if it["split"] not in splits:
            problems.append(f"{where}: split must be {' or '.join(sorted(splits))}")
        if not it["text"].strip() or len(it["text"]) > MAX_TEXT:
            problems.append(f"{where}: text empty or longer than {MAX_TEXT} characters")
        prov = it["provenance"]
        if set(prov) != {"corpus", "query", "retrieved"} or not prov["query"]:
            problems.append(f"{where}: provenance needs corpus, query and retrieved")
        if it["id"] in seen_ids:
            problems.append(f"{where}: duplicate id")
        if normalise_url(it["url"]) in seen_urls:
            problems.append(f"{where}: duplicate url")
        for h in text_hashes(it["text"]):
            if h in seen_text:
                problems.append(f"{where}: same opening text as {seen_text[h]}")
            seen_text[h] = it["id"]
        seen_ids.add(it["id"])
        seen_urls.add(normalise_url(it["url"]))


def check_items(items: list[dict], problems: list[str]) -> None:
    check_fields(items, problems, "items.jsonl", {"dev", "holdout"})
    expected = holdout_ids(items)
    wrong = [it["id"] for it in items if (it["id"] in expected) != (it.get("split") == "holdout")]
    if wrong:
        problems.append(f"split differs from the seeded choice (seed {SEED!r}) for {len(wrong)} items, e.g. {wrong[:3]}")


def check_apart(batch: list[dict], name: str, earlier: list[tuple[str, list[dict]]], problems: list[str]) -> None:
    """No id, normalised URL or opening text of `batch` may occur in an earlier batch (a held-back item must be unseen)."""
    for old_name, old in earlier:
        old_ids = {it.get("id") for it in old}
        old_urls = {normalise_url(it["url"]) for it in old if it.get("url")}
        old_text = {h: it.get("id") for it in old if it.get("text") for h in text_hashes(it["text"])}
        for it in batch:
            if set(it) != ITEM_FIELDS:
                continue  # already reported by check_fields
            where = f"{name} id={it['id']}"
            if it["id"] in old_ids or normalise_url(it["url"]) in old_urls:
                problems.append(f"{where}: url is already in {old_name}; remove it from {name}")
            for h in text_hashes(it["text"]) & old_text.keys():
                problems.append(f"{where}: same opening text as {old_name} id={old_text[h]}; remove it from {name}")
                break


def check_exclusions(items: list[dict], shared: Path, problems: list[str], name: str = "items.jsonl") -> None:
    sealed, dev = load_sealed(shared), load_dev(shared)
    if sealed is None or dev is None:
        print(f"note: {shared} has no sealed list or dev.jsonl; exclusion checks of {name} skipped (set NEWSMON_SHARED_DIR)")
        return
    for it in items:
        if url_hashes(it["url"]) & sealed["url"] or text_hashes(it["text"]) & sealed["text"]:
            problems.append(f"{name} id={it['id']}: listed in sealed/topic-exclude.sha256; remove it")
        if normalise_url(it["url"]) in dev[0] or text_hashes(it["text"]) & dev[1]:
            problems.append(f"{name} id={it['id']}: url or opening text is in corpus/topic/dev.jsonl; remove it")


def check_labels(items: list[dict], labels: list[dict], problems: list[str], name: str = "labels-pass1.jsonl") -> None:
    ids = {it["id"] for it in items}
    seen = set()
    for lab in labels:
        where = f"{name} id={lab.get('id')}"
        if set(lab) != LABEL_FIELDS:
            problems.append(f"{where}: fields {sorted(set(lab) ^ LABEL_FIELDS)} missing or extra")
            continue
        if lab["id"] not in ids:
            problems.append(f"{where}: no such item")
        if lab["id"] in seen:
            problems.append(f"{where}: labelled twice")
        seen.add(lab["id"])
        if lab["label"] not in LABELS or lab["confidence"] not in {"high", "medium"}:
            problems.append(f"{where}: label or confidence value not allowed")
        bad = set(lab["subtopics"]) - SUBTOPICS
        if bad or (lab["label"] == "off_topic" and lab["subtopics"]) or (lab["label"] == "on_topic" and not lab["subtopics"]):
            problems.append(f"{where}: subtopics {lab['subtopics']} do not fit label {lab['label']}")
    for missing in sorted(ids - seen):
        problems.append(f"{name}: item {missing} has no label")


def print_counts(items: list[dict], labels: list[dict]) -> None:
    label_of = {lab["id"]: lab["label"] for lab in labels}
    langs = sorted({it["language"] for it in items}, key=lambda lang: (lang not in MAIN_LANGUAGES, lang))
    print("| language | on_topic | off_topic | total | holdout |")
    print("|---|---:|---:|---:|---:|")
    for lang in [*langs, "all"]:
        rows = [it for it in items if lang in (it["language"], "all")]
        on = sum(label_of.get(it["id"]) == "on_topic" for it in rows)
        off = sum(label_of.get(it["id"]) == "off_topic" for it in rows)
        hold = sum(it["split"] == "holdout" for it in rows)
        print(f"| {lang} | {on} | {off} | {len(rows)} | {hold} |")
    kinds = collections.Counter(lab["kind"] for lab in labels if lab["kind"])
    print("kinds:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print("confidence:", dict(collections.Counter(lab["confidence"] for lab in labels)))


def print_fresh_counts(fresh: list[dict], labels: list[dict], name: str = FRESH_ITEMS, heading: str = "fresh held-back batch",
                       prefix: str = "fresh") -> None:
    """A fresh batch's own table: it is all held back, so no split column, but how many labels are medium."""
    label_of = {lab["id"]: lab for lab in labels}
    langs = sorted({it["language"] for it in fresh}, key=lambda lang: (lang not in MAIN_LANGUAGES, lang))
    print(f"{heading} ({name}):")
    print("| language | on_topic | off_topic | total | of which medium |")
    print("|---|---:|---:|---:|---:|")
    for lang in [*langs, "all"]:
        rows = [label_of.get(it["id"], {}) for it in fresh if lang in (it["language"], "all")]
        on = sum(lab.get("label") == "on_topic" for lab in rows)
        off = sum(lab.get("label") == "off_topic" for lab in rows)
        medium = sum(lab.get("confidence") == "medium" for lab in rows)
        print(f"| {lang} | {on} | {off} | {len(rows)} | {medium} |")
    kinds = collections.Counter(lab["kind"] for lab in labels if lab.get("kind"))
    print(f"{prefix} kinds:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def write_blind_copy(items: list[dict], out: Path) -> None:
    """The queries in provenance name the themes searched for (hard negatives included), so a blind pass gets none."""
    keep = ("id", "title", "text", "source", "url", "date", "language")
    with out.open("w", encoding="utf-8") as fh:
        for it in sorted(items, key=lambda it: it["id"]):
            fh.write(json.dumps({k: it[k] for k in keep}, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} items without provenance or split to {out}")


class Batch(NamedTuple):
    """A batch held back whole: every item in its own split, labelled after it was collected."""

    items: str
    labels: str
    split: str
    heading: str


FRESH = Batch(FRESH_ITEMS, FRESH_LABELS, "fresh", "fresh held-back batch")
FRESH2 = Batch(FRESH2_ITEMS, FRESH2_LABELS, "fresh2", "second fresh held-back batch")


def check_batch(directory: Path, batch: Batch, earlier: list[tuple[str, list[dict]]], shared: Path,
                problems: list[str]) -> list[dict]:
    """Check a held-back batch, if there is one: its split, no item of an earlier batch again, the exclusions, its
    labels once they exist; then print its counts."""
    path = directory / batch.items
    if not path.exists():
        return []
    rows = read_jsonl(path)
    check_fields(rows, problems, batch.items, {batch.split})
    check_apart(rows, batch.items, earlier, problems)
    check_exclusions(rows, shared, problems, name=batch.items)
    labels_path = directory / batch.labels
    labels = read_jsonl(labels_path) if labels_path.exists() else []
    if labels:
        check_labels(rows, labels, problems, name=batch.labels)
    print_fresh_counts(rows, labels, name=batch.items, heading=batch.heading, prefix=batch.split)
    print(f"{len(rows)} {batch.split} items, {len(labels)} {batch.split} labels")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=HERE, help="folder with items.jsonl and labels-pass1.jsonl")
    default_shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or HERE.parents[2].parent / "shared")
    parser.add_argument("--shared", type=Path, default=default_shared)
    parser.add_argument("--blind-copy", type=Path, metavar="OUT",
                        help="also write the items without provenance and split, for a second labeller")
    parser.add_argument("--fresh", action="store_true",
                        help=f"with --blind-copy: copy the fresh held-back batch ({FRESH_ITEMS}) instead of items.jsonl")
    parser.add_argument("--fresh2", action="store_true",
                        help=f"with --blind-copy: copy the second fresh held-back batch ({FRESH2_ITEMS}) instead of items.jsonl")
    args = parser.parse_args(argv)
    for flag in ("fresh", "fresh2"):
        if getattr(args, flag) and not args.blind_copy:
            parser.error(f"--{flag} only chooses what --blind-copy writes; give --blind-copy OUT too")
    if args.fresh and args.fresh2:
        parser.error("--fresh and --fresh2 each choose one batch for --blind-copy; give only one of them")
    items = read_jsonl(args.dir / "items.jsonl")
    labels_path = args.dir / "labels-pass1.jsonl"
    labels = read_jsonl(labels_path) if labels_path.exists() else []
    problems: list[str] = []
    check_items(items, problems)
    check_exclusions(items, args.shared, problems)
    if labels:
        check_labels(items, labels, problems)
    print_counts(items, labels)
    fresh = check_batch(args.dir, FRESH, [("items.jsonl", items)], args.shared, problems)
    fresh2 = check_batch(args.dir, FRESH2, [("items.jsonl", items), (FRESH_ITEMS, fresh)], args.shared, problems)
    if args.blind_copy:
        if args.fresh and not fresh:
            parser.error(f"--fresh: {args.dir / FRESH_ITEMS} is missing or empty, so there is no fresh batch to copy")
        if args.fresh2 and not fresh2:
            parser.error(f"--fresh2: {args.dir / FRESH2_ITEMS} is missing or empty, so there is no second fresh batch to copy")
        write_blind_copy(fresh2 if args.fresh2 else fresh if args.fresh else items, args.blind_copy)
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(items)} items, {len(labels)} labels, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
