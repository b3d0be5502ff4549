"""Evaluate the topic tagger on the labelled development set: precision/recall/F1, subtopics, errors.

Usage: .venv/bin/python bench/eval_topic.py [--data ../shared/corpus/topic/dev.jsonl] [--pack config/topics/lt-by.yaml]
       [--json] [--no-language]   (--no-language: ignore the labelled language and detect it instead)
Reads the corpus from ../shared (or NEWSMON_SHARED_DIR) beside the repository; never copies it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsmon.enrich.lang import detect_language  # noqa: E402
from newsmon.enrich.topic import load_topic_pack, tag  # noqa: E402


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")


def default_data() -> Path:
    return shared_dir() / "corpus" / "topic" / "dev.jsonl"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, gold: bool) -> None:
        if predicted and gold:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(data: Path, pack_path: Path, use_labelled_language: bool = True) -> dict:
    """Run the tagger over every item and collect the figures and the list of errors."""
    pack = load_topic_pack(pack_path)
    overall = Counts()
    by_language: dict[str, Counts] = defaultdict(Counts)
    sub = Counts()
    errors: list[dict] = []
    subtopic_errors: list[dict] = []
    with data.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for row in rows:
        gold = row["label"] == "on_topic"
        if use_labelled_language:
            language = row.get("language")
        else:
            language = detect_language(row["text"])
        result = tag(pack, row.get("title"), row["text"], language)
        overall.add(result.on_topic, gold)
        by_language[row.get("language") or "?"].add(result.on_topic, gold)
        if result.on_topic != gold:
            errors.append({
                "id": row["id"], "language": row.get("language"), "gold": row["label"],
                "predicted": "on_topic" if result.on_topic else "off_topic", "relevance": result.relevance,
                "why": result.explanation,
            })
        gold_subtopics = set(row.get("subtopics") or [])
        predicted_subtopics = set(result.subtopics)
        for subtopic in gold_subtopics | predicted_subtopics:
            sub.add(subtopic in predicted_subtopics, subtopic in gold_subtopics)
        if gold and gold_subtopics != predicted_subtopics:
            subtopic_errors.append({"id": row["id"], "missing": sorted(gold_subtopics - predicted_subtopics),
                                    "extra": sorted(predicted_subtopics - gold_subtopics)})
    return {"items": len(rows), "overall": overall, "by_language": dict(sorted(by_language.items())),
            "subtopics": sub, "errors": errors, "subtopic_errors": subtopic_errors}


def _row(name: str, c: Counts) -> str:
    return (f"| {name} | {c.tp + c.fn} | {c.fp + c.tn} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} "
            f"| {c.tp} | {c.fp} | {c.fn} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--pack", type=Path, default=REPO / "config" / "topics" / "lt-by.yaml")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--no-language", action="store_true", help="detect the language instead of using the label")
    args = parser.parse_args(argv)
    data = args.data or default_data()
    if not data.is_file():
        print(f"skipped: evaluation data {data} not found (set NEWSMON_SHARED_DIR to the shared folder)",
              file=sys.stderr)
        return 0
    report = evaluate(data, args.pack, use_labelled_language=not args.no_language)
    overall, sub = report["overall"], report["subtopics"]
    if args.json:
        print(json.dumps({
            "items": report["items"],
            "precision": overall.precision, "recall": overall.recall, "f1": overall.f1,
            "by_language": {k: {"precision": v.precision, "recall": v.recall, "f1": v.f1}
                            for k, v in report["by_language"].items()},
            "subtopic_micro_f1": sub.f1, "errors": report["errors"],
        }, ensure_ascii=False, indent=1))
        return 0
    print(f"# topic tagger on {data.name} ({report['items']} items, pack {args.pack.name})\n")
    print("| language | on | off | precision | recall | F1 | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for language, counts in report["by_language"].items():
        print(_row(language, counts))
    print(_row("**all**", overall))
    print(f"\nsubtopic micro: precision {sub.precision:.3f} recall {sub.recall:.3f} F1 {sub.f1:.3f} "
          f"(TP {sub.tp}, FP {sub.fp}, FN {sub.fn})\n")
    print(f"## errors ({len(report['errors'])})")
    for error in report["errors"]:
        print(f"- {error['id']} [{error['language']}] gold {error['gold']}, predicted {error['predicted']} "
              f"(relevance {error['relevance']}): {error['why']}")
    print(f"\n## subtopic differences on on-topic items ({len(report['subtopic_errors'])})")
    for error in report["subtopic_errors"]:
        print(f"- {error['id']}: missing {error['missing']} extra {error['extra']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
