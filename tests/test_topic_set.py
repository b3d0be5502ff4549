"""The cross-language topic set in bench/data/topic passes its own checks, and the checks catch what they claim to."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from shared_notes import require, shared_dir

REPO = Path(__file__).resolve().parents[1]
SET_DIR = REPO / "bench" / "data" / "topic"
SHARED = shared_dir()

spec = importlib.util.spec_from_file_location("topic_set_build", SET_DIR / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def test_committed_set_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["--dir", str(SET_DIR), "--shared", str(SHARED)]) == 0
    assert "0 problems" in capsys.readouterr().out


def test_split_is_a_fifth_of_each_language_and_ignores_labels() -> None:
    items = build.read_jsonl(SET_DIR / "items.jsonl")
    held = build.holdout_ids(items)
    for lang in {it["language"] for it in items}:
        ids = [it["id"] for it in items if it["language"] == lang]
        assert sum(i in held for i in ids) == round(len(ids) * 0.2)
    assert build.holdout_ids(list(reversed(items))) == held


def _write_set(tmp_path: Path, items: list[dict], labels: list[dict]) -> None:
    for name, rows in (("items.jsonl", items), ("labels-pass1.jsonl", labels)):
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_checks_report_a_duplicate_text_an_unlabelled_item_and_a_wrong_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = []
    for n in range(5):
        url = f"https://example.org/story-{n}"
        items.append({"id": build.item_id(url), "title": None, "text": f"Story {n} about the Medininkai checkpoint.",
                      "source": "example.org", "url": url, "date": None, "language": "lt",
                      "provenance": {"corpus": "search pages", "query": "q", "retrieved": "2026-12-03"}, "split": "dev"})
    held = build.holdout_ids(items)
    for it in items:
        it["split"] = "holdout" if it["id"] in held else "dev"
    labels = [{"id": it["id"], "label": "on_topic", "subtopics": ["border_crossings"], "confidence": "high",
               "note": "", "kind": ""} for it in items]
    _write_set(tmp_path, items, labels)
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 0

    items[1]["text"] = items[0]["text"]
    items[2]["split"] = "holdout" if items[2]["split"] == "dev" else "dev"
    _write_set(tmp_path, items, labels[:-1])
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert "same opening text" in out
    assert "split differs" in out
    assert f"item {items[-1]['id']} has no label" in out


def test_a_dev_set_url_is_refused_however_it_is_written() -> None:
    require(SHARED / "corpus" / "topic" / "dev.jsonl", "the shared topic dev set")
    dev_url = next(r["url"] for r in build.read_jsonl(SHARED / "corpus" / "topic" / "dev.jsonl") if r.get("url"))
    bare = dev_url.split("://", 1)[1].removeprefix("www.")
    problems: list[str] = []
    build.check_exclusions([{"id": "x", "url": f"HTTP://www.{bare.upper()}/", "text": "unrelated"}], SHARED, problems)
    assert problems and "dev.jsonl" in problems[0]


def test_final_labels_are_the_two_passes_with_every_disagreement_reviewed() -> None:
    spec = importlib.util.spec_from_file_location("topic_set_merge", SET_DIR / "merge_labels.py")
    merge_labels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(merge_labels)
    first = merge_labels._read("labels-pass1.jsonl")
    second = merge_labels._read("labels-pass2.jsonl")
    final = build.read_jsonl(SET_DIR / "labels.jsonl")
    assert final == merge_labels.merge(first, second)
    disagreeing = {i for i in first if first[i]["label"] != second[i]["label"]}
    assert disagreeing and disagreeing == {row["id"] for row in final if row["reviewed"]}
