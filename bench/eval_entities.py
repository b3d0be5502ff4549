"""Evaluate entity extraction (typed canonical ids from the topic pack's gazetteer) on labelled mentions.

Usage: .venv/bin/python bench/eval_entities.py [--pack config/topics/lt-by.yaml] [--json] [--errors]

Reads bench/data/crosslingual/docs.jsonl and mentions.jsonl (every person, place and organisation
mention of 24 pages, with its canonical id; the README there gives the id scheme and what is not
annotated). Only annotated pages are scored. Two views:
  document level  the set of ids found in a page against the set of ids labelled in it
  mention level   a found mention counts when it overlaps a labelled mention of the same id
                  (offsets are characters of the page's text); each labelled mention counts once
Precision, recall and F1 are micro-averaged, overall, per language and per entity type.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # for scoring, also when a test imports this file by path

import scoring  # noqa: E402  (bench/ is on sys.path)

from newsmon.enrich.topic import load_topic_pack  # noqa: E402
from newsmon.enrich.topic.entities import EntityMention, find_entities  # noqa: E402

DATA = REPO / "bench" / "data" / "crosslingual"


class Counts(scoring.Counts):
    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 3),
                "recall": round(self.recall, 3), "f1": round(self.f1, 3)}


@dataclass
class Report:
    docs: int = 0
    gold_mentions: int = 0
    doc_level: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    mention_level: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    missed: list[dict] = field(default_factory=list)  # labelled ids of a page that were not found
    spurious: list[dict] = field(default_factory=list)  # ids found in a page that are not labelled in it


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _type(entity: str) -> str:
    return "type:" + entity.split("/", 1)[0]


def _score_doc(report: Report, doc: dict, gold: list[dict], found: list[EntityMention]) -> None:
    language = doc["language"]
    gold_ids = {m["id"] for m in gold}
    found_ids = {m.entity for m in found}
    for entity in gold_ids | found_ids:
        for key in ("all", language, _type(entity)):
            counts = report.doc_level[key]
            if entity in gold_ids and entity in found_ids:
                counts.tp += 1
            elif entity in found_ids:
                counts.fp += 1
            else:
                counts.fn += 1
    for entity in sorted(gold_ids - found_ids):
        surfaces = sorted({m["surface"] for m in gold if m["id"] == entity})
        report.missed.append({"doc": doc["id"], "language": language, "id": entity, "surfaces": surfaces})
    for entity in sorted(found_ids - gold_ids):
        surfaces = sorted({m.surface for m in found if m.entity == entity})
        report.spurious.append({"doc": doc["id"], "language": language, "id": entity, "surfaces": surfaces})
    _score_mentions(report, language, gold, found)


def _score_mentions(report: Report, language: str, gold: list[dict], found: list[EntityMention]) -> None:
    unmatched = list(gold)
    for mention in found:
        keys = ("all", language, _type(mention.entity))
        match = next((g for g in unmatched if g["id"] == mention.entity and g["start"] < mention.end
                      and mention.start < g["start"] + len(g["surface"])), None)
        for key in keys:
            if match is not None:
                report.mention_level[key].tp += 1
            else:
                report.mention_level[key].fp += 1
        if match is not None:
            unmatched.remove(match)
    for g in unmatched:
        for key in ("all", language, _type(g["id"])):
            report.mention_level[key].fn += 1


def evaluate(pack_path: Path, data: Path = DATA) -> Report:
    """Find the entities of every annotated page and compare them with its labelled mentions."""
    pack = load_topic_pack(pack_path)
    docs = {d["id"]: d for d in _read_jsonl(data / "docs.jsonl")}
    gold_by_doc: dict[str, list[dict]] = defaultdict(list)
    for mention in _read_jsonl(data / "mentions.jsonl"):
        gold_by_doc[mention["doc"]].append(mention)
    report = Report()
    for doc_id in sorted(gold_by_doc):
        doc = docs[doc_id]
        # Offsets index the page's text; a headline is the text's first line, so the text alone is read.
        found = find_entities(pack, None, doc["text"])
        report.docs += 1
        report.gold_mentions += len(gold_by_doc[doc_id])
        _score_doc(report, doc, gold_by_doc[doc_id], found)
    return report


def _table(title: str, counts: dict[str, Counts]) -> None:
    print(f"\n## {title}\n")
    print("| | precision | recall | F1 | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    order = sorted(counts, key=lambda k: (k == "all", k.startswith("type:"), k))
    for key in order:
        c = counts[key]
        name = "**all**" if key == "all" else key
        print(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.tp} | {c.fp} | {c.fn} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=REPO / "config" / "topics" / "lt-by.yaml")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with docs.jsonl and mentions.jsonl")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--errors", action="store_true", help="list missed and spurious ids per page")
    args = parser.parse_args(argv)
    report = evaluate(args.pack, args.data)
    if args.json:
        print(json.dumps({
            "docs": report.docs, "labelled_mentions": report.gold_mentions,
            "document_level": {k: v.as_dict() for k, v in sorted(report.doc_level.items())},
            "mention_level": {k: v.as_dict() for k, v in sorted(report.mention_level.items())},
            "missed": report.missed, "spurious": report.spurious,
        }, ensure_ascii=False, indent=1))
        return 0
    print(f"# entities on {report.docs} annotated pages, {report.gold_mentions} labelled mentions "
          f"(pack {args.pack.name})")
    _table("document level: ids found in a page vs ids labelled in it", report.doc_level)
    _table("mention level: found mentions overlapping a labelled mention of the same id", report.mention_level)
    if args.errors:
        print(f"\n## missed ids ({len(report.missed)})")
        for row in report.missed:
            print(f"- {row['doc']} [{row['language']}] {row['id']}: {', '.join(row['surfaces'])}")
        print(f"\n## spurious ids ({len(report.spurious)})")
        for row in report.spurious:
            print(f"- {row['doc']} [{row['language']}] {row['id']}: {', '.join(row['surfaces'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
