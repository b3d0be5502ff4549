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


def _merge_labels():
    """bench/data/topic/merge_labels.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("topic_set_merge_labels", SET_DIR / "merge_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _write_set(tmp_path: Path, items: list[dict], labels: list[dict]) -> None:
    _write_jsonl(tmp_path / "items.jsonl", items)
    _write_jsonl(tmp_path / "labels-pass1.jsonl", labels)


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


@pytest.mark.parametrize(("stem", "reviewed"), [("labels", "REVIEWED"), ("labels-fresh", "REVIEWED_FRESH"),
                                                ("labels-fresh2", "REVIEWED_FRESH2")])
def test_final_labels_of_each_batch_are_its_two_passes_with_every_disagreement_reviewed(stem: str, reviewed: str) -> None:
    merge_labels = _merge_labels()
    first = merge_labels._read(f"{stem}-pass1.jsonl")
    second = merge_labels._read(f"{stem}-pass2.jsonl")
    final = build.read_jsonl(SET_DIR / f"{stem}.jsonl")
    assert len(final) == len(first) == len(second) > 0
    assert final == merge_labels.merge(first, second, getattr(merge_labels, reviewed))
    disagreeing = {i for i in first if first[i]["label"] != second[i]["label"]}
    assert disagreeing == {row["id"] for row in final if row["reviewed"]}


def _item(url: str, text: str, split: str) -> dict:
    return {"id": build.item_id(url), "title": None, "text": text, "source": "example.org", "url": url, "date": None,
            "language": "lt", "provenance": {"corpus": "search pages", "query": "q", "retrieved": "2026-12-03"},
            "split": split}


def _first_set(tmp_path: Path) -> list[dict]:
    """A valid five-item first set (its seeded split applied) with labels, as build.py expects beside a fresh batch."""
    items = [_item(f"https://example.org/story-{n}", f"Story {n} about the Šalčininkai checkpoint.", "dev") for n in range(5)]
    held = build.holdout_ids(items)
    for it in items:
        it["split"] = "holdout" if it["id"] in held else "dev"
    labels = [{"id": it["id"], "label": "on_topic", "subtopics": ["border_crossings"], "confidence": "high",
               "note": "", "kind": ""} for it in items]
    _write_set(tmp_path, items, labels)
    return items



def test_fresh_batch_may_not_repeat_a_first_set_item_or_leave_the_fresh_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _first_set(tmp_path)
    fresh = [_item("https://example.org/new-1", "A new story about Lavoriškės.", "fresh"),
             _item("https://example.org/new-2", "Another new story about Raigardas.", "fresh")]
    _write_jsonl(tmp_path / "items-fresh.jsonl", fresh)
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 0
    assert "2 fresh items" in capsys.readouterr().out

    reposted = _item("https://www.example.org/story-3/", "Story 3, reposted elsewhere.", "fresh")
    same_text = _item("https://example.org/new-3", first[0]["text"], "fresh")
    fresh[1]["split"] = "dev"
    _write_jsonl(tmp_path / "items-fresh.jsonl", [*fresh, reposted, same_text])
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"items-fresh.jsonl id={reposted['id']}: url is already in items.jsonl" in out
    assert f"items-fresh.jsonl id={same_text['id']}: same opening text as items.jsonl id={first[0]['id']}" in out
    assert f"items-fresh.jsonl id={fresh[1]['id']}: split must be fresh" in out


def test_fresh_labels_must_cover_every_fresh_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _first_set(tmp_path)
    fresh = [_item(f"https://example.org/new-{n}", f"New story {n} about Medininkai.", "fresh") for n in range(3)]
    _write_jsonl(tmp_path / "items-fresh.jsonl", fresh)
    labels = [{"id": it["id"], "label": "off_topic", "subtopics": [], "confidence": "medium", "note": "",
               "kind": "neg:lt-dom"} for it in fresh[:2]]
    _write_jsonl(tmp_path / "labels-fresh-pass1.jsonl", labels)
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"labels-fresh-pass1.jsonl: item {fresh[2]['id']} has no label" in out
    assert "| all | 0 | 2 | 3 | 2 |" in out


def test_blind_copy_of_the_fresh_batch_holds_only_fresh_items_without_provenance_or_split(tmp_path: Path) -> None:
    first = _first_set(tmp_path)
    fresh = [_item(f"https://example.org/new-{n}", f"New story {n} about Kotlovka.", "fresh") for n in range(3)]
    _write_jsonl(tmp_path / "items-fresh.jsonl", fresh)
    out = tmp_path / "blind.jsonl"
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none"), "--fresh", "--blind-copy", str(out)]) == 0
    rows = build.read_jsonl(out)
    assert {r["id"] for r in rows} == {it["id"] for it in fresh}
    assert not {r["id"] for r in rows} & {it["id"] for it in first}
    assert all("provenance" not in r and "split" not in r for r in rows)


def test_committed_fresh_batch_is_all_held_back_and_apart_from_the_first_set() -> None:
    fresh = build.read_jsonl(SET_DIR / "items-fresh.jsonl")
    first = build.read_jsonl(SET_DIR / "items.jsonl")
    assert len(fresh) >= 130 and {it["split"] for it in fresh} == {"fresh"}
    assert not {build.normalise_url(it["url"]) for it in fresh} & {build.normalise_url(it["url"]) for it in first}



def test_second_fresh_batch_may_not_repeat_an_item_of_either_earlier_batch_or_leave_the_fresh2_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _first_set(tmp_path)
    fresh = [_item("https://example.org/new-1", "A new story about Lavoriškės.", "fresh")]
    _write_jsonl(tmp_path / "items-fresh.jsonl", fresh)
    fresh2 = [_item("https://example.org/newer-1", "A newer story about Kena.", "fresh2"),
              _item("https://example.org/newer-2", "Another newer story about Šumskas.", "fresh2")]
    _write_jsonl(tmp_path / "items-fresh2.jsonl", fresh2)
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 0
    assert "2 fresh2 items" in capsys.readouterr().out

    from_first = _item("https://www.example.org/story-2/", "Story 2, reposted elsewhere.", "fresh2")
    from_fresh = _item("http://example.org/new-1", "The Lavoriškės story again.", "fresh2")
    same_text = _item("https://example.org/newer-3", fresh[0]["text"], "fresh2")
    fresh2[1]["split"] = "fresh"
    _write_jsonl(tmp_path / "items-fresh2.jsonl", [*fresh2, from_first, from_fresh, same_text])
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert f"items-fresh2.jsonl id={from_first['id']}: url is already in items.jsonl" in out
    assert f"items-fresh2.jsonl id={from_fresh['id']}: url is already in items-fresh.jsonl" in out
    assert f"items-fresh2.jsonl id={same_text['id']}: same opening text as items-fresh.jsonl id={fresh[0]['id']}" in out
    assert f"items-fresh2.jsonl id={fresh2[1]['id']}: split must be fresh2" in out
    assert first[2]["id"] not in out


def test_blind_copy_of_the_second_fresh_batch_holds_only_its_items_without_provenance_or_split(tmp_path: Path) -> None:
    _first_set(tmp_path)
    fresh = [_item(f"https://example.org/new-{n}", f"New story {n} about Kotlovka.", "fresh") for n in range(2)]
    _write_jsonl(tmp_path / "items-fresh.jsonl", fresh)
    fresh2 = [_item(f"https://example.org/newer-{n}", f"Newer story {n} about Tverečius.", "fresh2") for n in range(3)]
    _write_jsonl(tmp_path / "items-fresh2.jsonl", fresh2)
    out = tmp_path / "blind2.jsonl"
    assert build.main(["--dir", str(tmp_path), "--shared", str(tmp_path / "none"), "--fresh2", "--blind-copy", str(out)]) == 0
    rows = build.read_jsonl(out)
    assert {r["id"] for r in rows} == {it["id"] for it in fresh2}
    assert all("provenance" not in r and "split" not in r for r in rows)


def test_committed_second_fresh_batch_is_all_held_back_and_apart_from_both_earlier_batches() -> None:
    fresh2 = build.read_jsonl(SET_DIR / "items-fresh2.jsonl")
    earlier = build.read_jsonl(SET_DIR / "items.jsonl") + build.read_jsonl(SET_DIR / "items-fresh.jsonl")
    assert len(fresh2) >= 150 and {it["split"] for it in fresh2} == {"fresh2"}
    assert not {build.normalise_url(it["url"]) for it in fresh2} & {build.normalise_url(it["url"]) for it in earlier}
    languages = [it["language"] for it in fresh2]
    assert all(languages.count(lang) >= 30 for lang in ("lt", "ru", "pl", "en"))
    assert sum(lang in ("be", "uk", "lv", "de") for lang in languages) >= 20


def test_merging_a_batch_before_its_second_pass_exists_names_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merge_labels = _merge_labels()
    _write_jsonl(tmp_path / "labels-fresh2-pass1.jsonl", [{"id": "np-000000000000", "label": "off_topic",
                                                           "subtopics": [], "confidence": "high", "note": "", "kind": ""}])
    monkeypatch.setattr(merge_labels, "HERE", tmp_path)
    monkeypatch.setattr("sys.argv", ["merge_labels.py", "--fresh2"])
    with pytest.raises(SystemExit, match=r"labels-fresh2-pass2\.jsonl is missing"):
        merge_labels.main()
