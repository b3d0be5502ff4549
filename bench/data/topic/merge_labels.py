"""Final topic labels: the two independent passes, agreement figures, and the reviewed disagreements.

Run `python bench/data/topic/merge_labels.py` to print the agreement between labels-pass1.jsonl and
labels-pass2.jsonl and (with --write) to rewrite labels.jsonl, the labels the evaluation uses.
`--fresh` does the same for the fresh held-back batch: labels-fresh-pass1/2.jsonl into labels-fresh.jsonl,
and `--fresh2` for the second one: labels-fresh2-pass1/2.jsonl into labels-fresh2.jsonl.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Label disagreements between the passes, reviewed one by one against the guideline (README.md).
REVIEWED = {
    "np-dc109506ddfe": ("off_topic", [], "Ryanair/Protasevich: Lithuania's reaction is one line among many countries'"),
    "np-247d00204dae": ("off_topic", [], "Kaliningrad transit: the Medininkai queue is incidental, the LT–BY border is not covered"),
    "np-018da3000cc6": ("off_topic", [], "Kaliningrad transit: the Medininkai queue is incidental, the LT–BY border is not covered"),
    "np-e76d72d08b78": ("on_topic", ["security_military"],
                        "Wagner in Belarus as a threat to Lithuania: a paragraph of Nausėda on it and the border guards"),
    "np-e4c65da1aa15": ("on_topic", ["freight_transit", "sanctions"],
                        "a full paragraph on Lithuania halting Belarusian potash transit"),
    "np-0451afd3ad7e": ("off_topic", [], "BRELL exit of all three Baltic states: region-wide, no Lithuania–Belarus part"),
    "np-ed4727e834a9": ("off_topic", [], "conditions in a Lithuanian migrant camp: domestic; Belarus only as the origin"),
    "np-15dfaf8b78a5": ("off_topic", [], "residents' protest at a Lithuanian migrant camp: domestic; Belarus not named"),
    "np-4d771b8688a5": ("off_topic", [], "escape from a Lithuanian migrant camp: domestic; Belarus only as the route"),
}


# The same for the fresh held-back batch (items-fresh.jsonl), reviewed before the tagger was run on it.
REVIEWED_FRESH: dict[str, tuple[str, list[str], str]] = {
    "np-90fe590d3da9": ("on_topic", ["border_crossings"],
                        "the headline is the Bieniakonie–Šalčininkai crossing joining the visa-free regime: the main news"),
    "np-131def6e46c8": ("off_topic", [], "Poland–Belarus truck queues; the Lithuanian checkpoints get one sentence of figures"),
    "np-14a38ce3951b": ("off_topic", [], "multi-country migration round-up led by Poland; Lithuania is one sentence"),
}

# The same for the second fresh batch (items-fresh2.jsonl); empty until its second pass is in and reviewed.
REVIEWED_FRESH2: dict[str, tuple[str, list[str], str]] = {}


def _read(name: str) -> dict[str, dict]:
    path = HERE / name
    if not path.exists():
        # A batch is merged only once both passes are in; say which file is missing rather than fail with a traceback.
        raise SystemExit(f"{path} is missing: both labelling passes must be in bench/data/topic before they are merged")
    with path.open(encoding="utf-8") as fh:
        return {row["id"]: row for row in map(json.loads, fh)}


def merge(first: dict[str, dict], second: dict[str, dict],
          reviewed: dict[str, tuple[str, list[str], str]] = REVIEWED) -> list[dict]:
    """Agreed labels stand; reviewed disagreements take the review. Subtopics of agreed on-topic items
    are the union of both passes (a subtopic one careful labeller saw is usually present)."""
    if set(first) != set(second):
        raise SystemExit("the two passes label different items")
    merged = []
    for item_id, a in first.items():
        b = second[item_id]
        if a["label"] == b["label"]:
            label = a["label"]
            subtopics = sorted(set(a["subtopics"]) | set(b["subtopics"])) if label == "on_topic" else []
            medium = "medium" in (a["confidence"], b["confidence"])
            merged.append({"id": item_id, "label": label, "subtopics": subtopics,
                           "confidence": "medium" if medium else "high", "reviewed": False})
        else:
            if item_id not in reviewed:
                raise SystemExit(f"{item_id}: the passes disagree and no review is recorded")
            label, subtopics, note = reviewed[item_id]
            merged.append({"id": item_id, "label": label, "subtopics": subtopics, "confidence": "medium",
                           "reviewed": True, "note": note})
    return merged


def agreement(first: dict[str, dict], second: dict[str, dict]) -> dict[str, float]:
    n = len(first)
    same = sum(first[i]["label"] == second[i]["label"] for i in first)
    on_a = sum(r["label"] == "on_topic" for r in first.values()) / n
    on_b = sum(r["label"] == "on_topic" for r in second.values()) / n
    expected = on_a * on_b + (1 - on_a) * (1 - on_b)
    both_on = [i for i in first if first[i]["label"] == second[i]["label"] == "on_topic"]
    tp = sum(len(set(first[i]["subtopics"]) & set(second[i]["subtopics"])) for i in both_on)
    diff = sum(len(set(first[i]["subtopics"]) ^ set(second[i]["subtopics"])) for i in both_on)
    return {"items": n, "label_disagreements": n - same, "agreement": same / n,
            "kappa": (same / n - expected) / (1 - expected), "subtopic_micro_f1": 2 * tp / (2 * tp + diff)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="rewrite labels.jsonl (labels-fresh.jsonl with --fresh, labels-fresh2.jsonl with --fresh2)")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--fresh", action="store_true", help="the fresh held-back batch instead of the first set")
    batch.add_argument("--fresh2", action="store_true", help="the second fresh held-back batch instead of the first set")
    args = parser.parse_args()
    stem, reviewed = ("labels-fresh2", REVIEWED_FRESH2) if args.fresh2 else \
        ("labels-fresh", REVIEWED_FRESH) if args.fresh else ("labels", REVIEWED)
    first, second = _read(f"{stem}-pass1.jsonl"), _read(f"{stem}-pass2.jsonl")
    for key, value in agreement(first, second).items():
        print(f"{key:20} {value:.3f}" if isinstance(value, float) else f"{key:20} {value}")
    merged = merge(first, second, reviewed)
    if args.write:
        with (HERE / f"{stem}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in merged)
    on = sum(r["label"] == "on_topic" for r in merged)
    print(f"final labels: {on} on_topic, {len(merged) - on} off_topic, {sum(r['reviewed'] for r in merged)} reviewed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
