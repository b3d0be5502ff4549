"""Evaluate the topic tagger on a labelled set: precision/recall/F1 overall and per language, subtopics, errors.

Usage: .venv/bin/python bench/eval_topic.py [--set shared-dev|dev|holdout|fresh|fresh2|all] [--data FILE]
       [--pack config/topics/lt-by.yaml] [--json] [--no-language] [--show-holdout-errors]

Sets:
  shared-dev  ../shared/corpus/topic/dev.jsonl (88 items; labels inline), read from NEWSMON_SHARED_DIR
              or ../shared beside the repository, never copied (the default)
  dev         the dev split of bench/data/topic (items.jsonl joined with labels.jsonl): tune on this
  holdout     the seeded held-back fifth of bench/data/topic: report on it, never tune on it
  fresh       the fresh held-back batch (items-fresh.jsonl joined with labels-fresh.jsonl), collected after
              the holdout had been looked at and measured once the rules were frozen again
  fresh2      the second fresh held-back batch (items-fresh2.jsonl joined with labels-fresh2.jsonl), collected
              after the fresh batch had been measured and looked at, for the next frozen-rules measurement
  all         dev + holdout of bench/data/topic (figures include tuning data)
--data FILE reads one JSON-lines file with the labels inline instead (the shared dev set's format).
On the holdout and the fresh batches the error list is withheld unless --show-holdout-errors is given: the rules are tuned
without ever seeing a holdout item, its text or its errors (docs/topic-tagger.md, "Protocol").
--no-language ignores the labelled language and detects it instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # for scoring, also when a test imports this file by path

import scoring  # noqa: E402  (bench/ is on sys.path)

from newsmon.enrich.lang import detect_language  # noqa: E402
from newsmon.enrich.topic import load_topic_pack, tag  # noqa: E402

TOPIC_SET = REPO / "bench" / "data" / "topic"
SETS = ("shared-dev", "dev", "holdout", "fresh", "fresh2", "all")
# The acceptance rule counts a language's recall once the set holds this many on-topic items of it.
MIN_ON_TOPIC_FOR_LANGUAGE_RECALL = 10


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")


def default_data() -> Path:
    return shared_dir() / "corpus" / "topic" / "dev.jsonl"


class Counts(scoring.Counts):
    @property
    def on_topic(self) -> int:
        return self.tp + self.fn


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# Each held-back batch lives in its own pair of files and is one split as a whole.
BATCH_FILES = {"fresh": ("items-fresh.jsonl", "labels-fresh.jsonl"), "fresh2": ("items-fresh2.jsonl", "labels-fresh2.jsonl")}


def topic_set_rows(split: str, directory: Path = TOPIC_SET) -> list[dict]:
    """Items of bench/data/topic in one split ("dev", "holdout", "fresh", "fresh2" or "all"), each with its final label."""
    if split not in ("dev", "holdout", "all", *BATCH_FILES):
        raise ValueError(f"unknown split {split!r}: use dev, holdout, fresh, fresh2 or all")
    items_name, labels_name = BATCH_FILES.get(split, ("items.jsonl", "labels.jsonl"))
    labels = {row["id"]: row for row in _read_jsonl(directory / labels_name)}
    rows = []
    for item in _read_jsonl(directory / items_name):
        if split != "all" and item["split"] != split:
            continue
        label = labels[item["id"]]
        rows.append({**item, "label": label["label"], "subtopics": label["subtopics"]})
    return rows


def load_rows(set_name: str, data: Path | None = None) -> tuple[list[dict], str]:
    """The labelled rows of a set and a name for it; the shared set (or --data) may be absent (FileNotFoundError)."""
    if data is not None:
        return _read_jsonl(data), data.name
    if set_name == "shared-dev":
        path = default_data()
        if not path.is_file():
            raise FileNotFoundError(path)
        return _read_jsonl(path), f"shared dev set ({path.name})"
    return topic_set_rows(set_name), f"bench/data/topic {set_name}"


def evaluate_rows(rows: list[dict], pack_path: Path, use_labelled_language: bool = True) -> dict:
    """Run the tagger over every row and collect the figures and the list of errors."""
    pack = load_topic_pack(pack_path)
    overall = Counts()
    by_language: dict[str, Counts] = defaultdict(Counts)
    sub = Counts()
    errors: list[dict] = []
    subtopic_errors: list[dict] = []
    for row in rows:
        gold = row["label"] == "on_topic"
        language = row.get("language") if use_labelled_language else detect_language(row["text"])
        result = tag(pack, row.get("title"), row["text"], language)
        overall.add(truth=gold, predicted=result.on_topic)
        by_language[row.get("language") or "?"].add(truth=gold, predicted=result.on_topic)
        if result.on_topic != gold:
            errors.append({
                "id": row["id"], "language": row.get("language"), "gold": row["label"],
                "predicted": "on_topic" if result.on_topic else "off_topic", "relevance": result.relevance,
                "why": result.explanation,
            })
        gold_subtopics = set(row.get("subtopics") or [])
        predicted_subtopics = set(result.subtopics)
        for subtopic in gold_subtopics | predicted_subtopics:
            sub.add(truth=subtopic in gold_subtopics, predicted=subtopic in predicted_subtopics)
        if gold and gold_subtopics != predicted_subtopics:
            subtopic_errors.append({"id": row["id"], "missing": sorted(gold_subtopics - predicted_subtopics),
                                    "extra": sorted(predicted_subtopics - gold_subtopics)})
    return {"items": len(rows), "overall": overall, "by_language": dict(sorted(by_language.items())),
            "subtopics": sub, "errors": errors, "subtopic_errors": subtopic_errors}


def evaluate(data: Path, pack_path: Path, use_labelled_language: bool = True) -> dict:
    """evaluate_rows over one JSON-lines file with the labels inline (the shared dev set)."""
    return evaluate_rows(_read_jsonl(data), pack_path, use_labelled_language)


def evaluate_set(set_name: str, pack_path: Path, use_labelled_language: bool = True) -> dict:
    """evaluate_rows over a named set (see SETS)."""
    rows, _ = load_rows(set_name)
    return evaluate_rows(rows, pack_path, use_labelled_language)


def _row(name: str, c: Counts) -> str:
    counted = "yes" if c.on_topic >= MIN_ON_TOPIC_FOR_LANGUAGE_RECALL else "no"
    return (f"| {name} | {c.on_topic} | {c.fp + c.tn} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} "
            f"| {c.tp} | {c.fp} | {c.fn} | {counted} |")


def _as_json(report: dict, name: str, errors_shown: bool) -> str:
    overall, sub = report["overall"], report["subtopics"]
    return json.dumps({
        "set": name, "items": report["items"],
        "precision": overall.precision, "recall": overall.recall, "f1": overall.f1,
        "by_language": {k: {"on_topic": v.on_topic, "off_topic": v.fp + v.tn, "precision": v.precision,
                            "recall": v.recall, "f1": v.f1} for k, v in report["by_language"].items()},
        "subtopic_micro_f1": sub.f1,
        "errors": report["errors"] if errors_shown else f"{len(report['errors'])} withheld",
    }, ensure_ascii=False, indent=1)


def _print_report(report: dict, name: str, pack: Path, errors_shown: bool) -> None:
    overall, sub = report["overall"], report["subtopics"]
    print(f"# topic tagger on {name} ({report['items']} items, pack {pack.name})\n")
    print(f"| language | on | off | precision | recall | F1 | TP | FP | FN "
          f"| ≥ {MIN_ON_TOPIC_FOR_LANGUAGE_RECALL} on |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for language, counts in report["by_language"].items():
        print(_row(language, counts))
    print(_row("**all**", overall))
    print(f"\nsubtopic micro: precision {sub.precision:.3f} recall {sub.recall:.3f} F1 {sub.f1:.3f} "
          f"(TP {sub.tp}, FP {sub.fp}, FN {sub.fn})\n")
    if not errors_shown:
        print(f"## errors ({len(report['errors'])}): withheld on the holdout (--show-holdout-errors, "
              "only once the rules are frozen)")
        return
    print(f"## errors ({len(report['errors'])})")
    for error in report["errors"]:
        print(f"- {error['id']} [{error['language']}] gold {error['gold']}, predicted {error['predicted']} "
              f"(relevance {error['relevance']}): {error['why']}")
    print(f"\n## subtopic differences on on-topic items ({len(report['subtopic_errors'])})")
    for error in report["subtopic_errors"]:
        print(f"- {error['id']}: missing {error['missing']} extra {error['extra']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_name", choices=SETS, default="shared-dev",
                        help="which labelled set to evaluate (default: shared-dev)")
    parser.add_argument("--data", type=Path, default=None, help="a JSON-lines file with labels inline instead")
    parser.add_argument("--pack", type=Path, default=REPO / "config" / "topics" / "lt-by.yaml")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--no-language", action="store_true", help="detect the language instead of using the label")
    parser.add_argument("--show-holdout-errors", action="store_true",
                        help="list the holdout's errors too (only once the rules are frozen)")
    args = parser.parse_args(argv)
    try:
        rows, name = load_rows(args.set_name, args.data)
    except FileNotFoundError as exc:
        print(f"skipped: evaluation data {exc.args[0] if exc.args else exc} not found "
              "(set NEWSMON_SHARED_DIR to the shared folder)", file=sys.stderr)
        return 0
    report = evaluate_rows(rows, args.pack, use_labelled_language=not args.no_language)
    held_back = ("holdout", "fresh", "fresh2", "all")
    errors_shown = args.data is not None or args.set_name not in held_back or args.show_holdout_errors
    if args.json:
        print(_as_json(report, name, errors_shown))
    else:
        _print_report(report, name, args.pack, errors_shown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
