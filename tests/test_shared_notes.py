"""A quality floor over the shared corpus fails when NEWSMON_SHARED_DIR points at notes without it; it is
skipped only for someone who has no shared notes at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from shared_notes import require

REPO = Path(__file__).resolve().parents[1]
FLOORS = [
    "tests/test_topic_cli.py::test_dev_set_quality_stays_above_the_acceptance_floors",
    "tests/test_clusters.py::test_shared_real_pairs_keep_f1_above_the_floor",
    "tests/test_extract_quality.py",
]


@pytest.mark.parametrize("floor", FLOORS)
def test_a_floor_whose_corpus_is_missing_from_the_named_shared_dir_fails_instead_of_skipping(floor, tmp_path):
    env = {**os.environ, "NEWSMON_SHARED_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs", floor],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-2000:]
    assert re.search(r"\d+ (failed|errors?)\b", done.stdout) and " skipped" not in done.stdout
    assert f"not found at {tmp_path}" in done.stdout


def test_without_shared_notes_a_floor_is_skipped_with_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSMON_SHARED_DIR", raising=False)
    with pytest.raises(pytest.skip.Exception, match="set NEWSMON_SHARED_DIR"):
        require(tmp_path / "corpus" / "topic" / "dev.jsonl", "the topic dev set")
