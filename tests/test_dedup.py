"""Text identity (normalisation, hash, MinHash fingerprints) and the `newsmon dedup` command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_dedup_fixtures import ASTRAVETS, BALLOONS, BALLOONS_OTHER_ARTICLE, BALLOONS_UPDATE_EXTRA, FENCE, wire_copy

from newsmon.enrich.dedup import (
    MIN_WORDS_FOR_MATCH,
    NUM_PERM,
    content_hash,
    estimated_containment,
    estimated_jaccard,
    fingerprint,
    normalise_text,
    shingle_count,
)

REPO = Path(__file__).resolve().parents[1]


def test_normalised_text_ignores_case_punctuation_spacing_and_diacritics() -> None:
    assert normalise_text("Šalčininkai  checkpoint — CLOSED!\n\n(BNS)") == "salcininkai checkpoint closed bns"
    assert normalise_text("Лукашэнка, «Вільня»") == normalise_text("лукашэнка вильня".replace("и", "і"))


def test_copies_differing_only_in_formatting_have_one_content_hash() -> None:
    reformatted = BALLOONS.upper().replace("\n\n", "\n").replace(",", " ,")
    assert content_hash(reformatted) == content_hash(BALLOONS)
    assert content_hash(FENCE) != content_hash(BALLOONS)


def test_fingerprint_is_deterministic_and_has_one_value_per_permutation() -> None:
    first = fingerprint(BALLOONS)
    assert len(first) == NUM_PERM
    assert first == fingerprint(BALLOONS)
    # A fresh interpreter gives the same values: fingerprints are stored and compared across runs.
    code = "from newsmon.enrich.dedup import fingerprint; from tests.test_dedup_fixtures import BALLOONS; print(list(fingerprint(BALLOONS)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == list(first)


def test_too_short_text_gets_no_fingerprint_so_it_never_matches_by_text() -> None:
    teaser = " ".join(["word"] * (MIN_WORDS_FOR_MATCH - 1))
    assert fingerprint(teaser) == ()
    assert len(fingerprint(BALLOONS)) == NUM_PERM


def test_republished_copy_looks_alike_and_a_different_article_on_the_same_event_does_not() -> None:
    copy = wire_copy(BALLOONS, "VILNIUS, Oct 28 (BNS) –", "Follow our coverage of the region on Telegram.")
    similar = estimated_jaccard(fingerprint(BALLOONS), fingerprint(copy))
    different = estimated_jaccard(fingerprint(BALLOONS), fingerprint(BALLOONS_OTHER_ARTICLE))
    assert similar > 0.8
    assert different < 0.1


def test_an_updated_version_is_nearly_contained_in_the_longer_one() -> None:
    updated = BALLOONS + "\n\n" + BALLOONS_UPDATE_EXTRA
    jaccard = estimated_jaccard(fingerprint(BALLOONS), fingerprint(updated))
    containment = estimated_containment(jaccard, shingle_count(BALLOONS), shingle_count(updated))
    assert containment > 0.85
    assert containment > jaccard


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def _run_cli(lines: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliResult:
    from newsmon.app.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code = main(["dedup"])
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def test_dedup_command_reports_url_exact_and_near_duplicates_and_separate_stories(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"url": "https://www.lrt.lt/naujienos/1/2700001/balionai", "title": "Balloons", "text": BALLOONS,
                    "published_at": "2025-10-28T06:00:00Z"}),
        json.dumps({"url": "https://m.lrt.lt/naujienos/1/2700001/balionai?utm_source=fb", "title": "Balloons", "text": BALLOONS}),
        json.dumps({"url": "https://www.delfi.lt/news/a.d?id=1", "title": "Copy", "text": BALLOONS.upper()}),
        json.dumps({"url": "https://www.15min.lt/naujiena/b-56-2", "title": "Update", "text": BALLOONS + "\n\n" + BALLOONS_UPDATE_EXTRA}),
        json.dumps({"url": "https://www.lrt.lt/naujienos/1/2700002/tvora", "title": "Fence", "text": FENCE}),
        json.dumps({"url": "https://www.lrt.lt/naujienos/1/2700003/astravas", "title": "Astravets", "text": ASTRAVETS}),
    ]
    result = _run_cli(lines, monkeypatch, capsys)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["dup_reason"] for r in rows] == [None, "url", "exact", "near", None, None]
    first = rows[0]["id"]
    assert {r["cluster_id"] for r in rows[:4]} == {first}
    assert rows[1]["id"] == first and rows[2]["duplicate_of"] == first
    assert len({rows[0]["cluster_id"], rows[4]["cluster_id"], rows[5]["cluster_id"]}) == 3


def test_dedup_command_answers_bad_lines_in_their_place_and_clusters_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"url": "https://www.lrt.lt/naujienos/1/2700001/balionai", "title": "Balloons", "text": BALLOONS}),
        json.dumps({"url": "https://www.lrt.lt/a/2", "title": "Empty", "text": ""}),
        "{not json",
        json.dumps({"url": "https://www.delfi.lt/news/a.d?id=1", "title": "Copy", "text": BALLOONS.upper()}),
        json.dumps({"url": "https://www.lrt.lt/a/1", "text": FENCE, "published_at": "yesterday"}),
        json.dumps({"url": "mailto:desk@example.org", "text": FENCE}),
    ]
    result = _run_cli(lines, monkeypatch, capsys)
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    assert [(r.get("line"), "error" in r) for r in rows] == [
        (None, False), (2, True), (3, True), (None, False), (5, True), (6, True)]
    assert "'text'" in rows[1]["error"] and "not JSON" in rows[2]["error"]
    assert "published_at" in rows[4]["error"] and "http(s) URL" in rows[5]["error"]
    assert rows[3]["dup_reason"] == "exact" and rows[3]["duplicate_of"] == rows[0]["id"]
    assert "4 line(s) of stdin could not be clustered" in result.stderr and "Traceback" not in result.stderr


def test_fingerprints_are_the_datasketch_affine32_minhash_values_stored_fingerprints_were_made_with() -> None:
    from datasketch import MinHash

    from newsmon.enrich.dedup import MINHASH_SEED, NUM_PERM, shingle_hashes, words

    # The last text repeats itself (a page that printed its body twice): its repeated shingles count once.
    texts = [BALLOONS, FENCE, ASTRAVETS, BALLOONS_OTHER_ARTICLE, wire_copy(BALLOONS, "VILNIUS (BNS) –", ""),
             " ".join(BALLOONS.split()[:16]), f"{FENCE}\n{FENCE}"]
    for text in texts:
        reference = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme="affine32", hashfunc=lambda value: value)
        reference.update_batch(shingle_hashes(words(text)).tolist())
        assert fingerprint(text) == tuple(reference.hashvalues.tolist())
