"""`newsmon tag`: JSON lines in, tags out, bad lines reported and skipped; and the dev-set quality floors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from shared_notes import require, shared_dir

from newsmon.app.cli import main

REPO = Path(__file__).resolve().parents[1]
DEV = shared_dir() / "corpus" / "topic" / "dev.jsonl"

ARTICLES = [
    {"id": "a1", "title": "Lithuania shuts Šalčininkai crossing",
     "text": "Lithuania closed the Šalčininkai checkpoint on its border with Belarus after balloons from Belarus "
             "shut Vilnius airport again."},
    {"id": "a2", "title": None, "text": "Литва закрыла границу с Беларусью через пункт пропуска «Мядининкай».",
     "language": "ru"},
    {"id": "a3", "text": "The Latvian parliament approved the budget on Thursday."},
]


def run_tag(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: list[str],
            *args: str) -> tuple[int, list[dict], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code = main(["tag", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_tag_reads_json_lines_and_writes_one_result_per_article(monkeypatch, capsys) -> None:
    code, out, err = run_tag(monkeypatch, capsys, [json.dumps(a, ensure_ascii=False) for a in ARTICLES])
    assert code == 0, err
    assert [o["id"] for o in out] == ["a1", "a2", "a3"]
    assert [o["on_topic"] for o in out] == [True, True, False]
    first = out[0]
    assert set(first) >= {"topic", "language", "on_topic", "relevance", "subtopics", "entities", "matched"}
    assert first["topic"] == "lt-by"
    assert first["language"] == "en"
    assert "place/salcininkai" in first["entities"]
    assert "airspace" in first["subtopics"]
    assert out[1]["language"] == "ru"
    assert "explanation" not in first


def test_explain_adds_the_reasoning_and_the_text_around_each_match(monkeypatch, capsys) -> None:
    code, out, _ = run_tag(monkeypatch, capsys, [json.dumps(ARTICLES[0], ensure_ascii=False)], "--explain")
    assert code == 0
    result = out[0]
    assert "both sides" in result["explanation"]
    for match in result["matched"]:
        source = ARTICLES[0]["title"] if match["field"] == "title" else ARTICLES[0]["text"]
        assert source[match["start"]:match["end"]] == match["surface"]
        assert f"[{match['surface']}]" in match["context"]


def test_bad_lines_are_answered_in_their_place_and_the_others_are_tagged(monkeypatch, capsys) -> None:
    lines = ["{not json", json.dumps({"id": "x", "title": "no text"}), json.dumps(ARTICLES[1], ensure_ascii=False),
             "[1, 2]"]
    code, out, err = run_tag(monkeypatch, capsys, lines)
    assert code == 0
    assert [(o.get("line"), o.get("id")) for o in out] == [(1, None), (2, "x"), (None, "a2"), (4, None)]
    assert "not JSON" in out[0]["error"]
    assert "`text` is missing" in out[1]["error"]
    assert "expected a JSON object" in out[3]["error"]
    assert "on_topic" in out[2] and "error" not in out[2]
    assert "3 line(s) of stdin could not be tagged" in err and "Traceback" not in err


def test_broken_pack_is_one_line_on_stderr_and_exit_code_2(monkeypatch, capsys, tmp_path: Path) -> None:
    pack = tmp_path / "broken.yaml"
    pack.write_text("id: x\nlanguages: [en]\n", encoding="utf-8")
    code, out, err = run_tag(monkeypatch, capsys, [json.dumps(ARTICLES[0])], "--pack", str(pack))
    assert code == 2
    assert out == []
    assert err.count("\n") == 1 and "broken.yaml" in err and "sides" in err


def test_unknown_topic_lists_the_installed_ones(monkeypatch, capsys) -> None:
    code, _, err = run_tag(monkeypatch, capsys, [json.dumps(ARTICLES[0])], "--topic", "xx-yy")
    assert code == 2
    assert "installed: lt-by" in err


def test_dev_set_quality_stays_above_the_acceptance_floors() -> None:
    require(DEV, "the topic dev set")
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from eval_topic import evaluate
    finally:
        sys.path.remove(str(REPO / "bench"))
    report = evaluate(DEV, REPO / "config" / "topics" / "lt-by.yaml")
    overall = report["overall"]
    # Where the shared dev set stood before the cross-language set was built (35 of 36, 35 of 37):
    # tuning on the new set may not cost it anything.
    assert overall.precision >= 0.972, report["errors"]
    assert overall.recall >= 0.945, report["errors"]
    for language, counts in report["by_language"].items():
        assert counts.recall >= 0.85, (language, report["errors"])
    assert report["subtopics"].f1 >= 0.80


def test_tag_reads_a_file_argument_and_refuses_a_missing_one(monkeypatch, capsys, tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in ARTICLES) + "\n", encoding="utf-8")
    assert main(["tag", str(path)]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["a1", "a2", "a3"]
    assert main(["tag", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl" in err and "Traceback" not in err
