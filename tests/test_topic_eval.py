"""bench/eval_topic.py on the cross-language topic set: any split, per-language figures, and floors that hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "config" / "topics" / "lt-by.yaml"
sys.path.insert(0, str(REPO / "bench"))
try:
    import eval_topic
finally:
    sys.path.remove(str(REPO / "bench"))


def test_the_dev_and_holdout_splits_are_disjoint_and_make_up_the_whole_labelled_set() -> None:
    dev = {row["id"] for row in eval_topic.topic_set_rows("dev")}
    holdout = {row["id"] for row in eval_topic.topic_set_rows("holdout")}
    every = eval_topic.topic_set_rows("all")
    assert not dev & holdout
    assert dev | holdout == {row["id"] for row in every}
    assert len(every) >= 400
    assert all(row["label"] in ("on_topic", "off_topic") for row in every)


def test_the_holdout_errors_are_withheld_unless_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_topic.main(["--set", "holdout", "--json"]) == 0
    withheld = json.loads(capsys.readouterr().out)
    assert isinstance(withheld["errors"], str) and withheld["errors"].endswith("withheld")
    assert eval_topic.main(["--set", "dev", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert isinstance(shown["errors"], list)
    assert all(error["id"].startswith("np-") for error in shown["errors"])
    assert set(shown["by_language"]) >= {"en", "lt", "pl", "ru"}
    assert all("on_topic" in figures and "recall" in figures for figures in shown["by_language"].values())


def test_the_dev_split_stays_above_its_floors() -> None:
    report = eval_topic.evaluate_set("dev", PACK)
    overall = report["overall"]
    assert overall.precision >= 0.98, report["errors"]
    assert overall.recall >= 0.90, report["errors"]  # 0.88 before the recall round
    for language, counts in report["by_language"].items():
        if counts.on_topic >= eval_topic.MIN_ON_TOPIC_FOR_LANGUAGE_RECALL:
            assert counts.recall >= 0.75, (language, report["errors"])
    assert report["subtopics"].f1 >= 0.68


def test_the_fresh_batch_keeps_the_recall_of_the_recall_round() -> None:
    # Tuned on since the recall round (docs/topic-tagger.md): a floor against regressions on its error classes.
    report = eval_topic.evaluate_set("fresh", PACK)
    assert report["overall"].precision >= 0.95
    assert report["overall"].recall >= 0.92


def test_the_held_back_fifth_does_not_fall_below_the_figures_reported_for_it() -> None:
    # The reported result (docs/topic-tagger.md): a regression must be seen. It is not a target to tune
    # to: a rule changed because of a holdout item makes the holdout figure meaningless.
    report = eval_topic.evaluate_set("holdout", PACK)
    assert report["overall"].precision >= 0.92
    assert report["overall"].recall >= 0.92


def test_the_second_fresh_batch_is_read_from_its_own_files_with_its_merged_labels(tmp_path: Path) -> None:
    item = {"id": "np-0123456789ab", "title": None, "text": "Kena rail post.", "source": "example.org",
            "url": "https://example.org/a", "date": None, "language": "lt", "provenance": {}, "split": "fresh2"}
    (tmp_path / "items-fresh2.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    label = {"id": item["id"], "label": "on_topic", "subtopics": ["smuggling"], "confidence": "high", "reviewed": False}
    (tmp_path / "labels-fresh2.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    rows = eval_topic.topic_set_rows("fresh2", tmp_path)
    assert [(r["id"], r["label"], r["subtopics"]) for r in rows] == [(item["id"], "on_topic", ["smuggling"])]
    assert "fresh2" in eval_topic.SETS
