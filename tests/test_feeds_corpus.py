"""Floors on the shared feed corpus: every file through parse_feed, no crash, no hang, ≥ 99 % agreement."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from shared_notes import require

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_feeds import evaluate, shared_dir


@pytest.mark.slow
def test_every_corpus_feed_parses_without_crash_or_hang_and_agrees_with_expected_output():
    corpus = require(shared_dir() / "corpus" / "feeds", "feed corpus")
    summary = evaluate(corpus, out=lambda *a, **k: None)
    assert summary["crashes"] == 0 and summary["hangs"] == 0
    assert summary["untyped_skips"] == 0  # every unusable file says why
    assert summary["equivalent_pct"] >= 99.0
    assert summary["usable"] >= 1800  # 1828 measured; a parser change that loses feeds shows up here
