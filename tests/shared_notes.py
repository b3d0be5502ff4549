"""The team's shared notes and corpora beside the repository, and what a test does when a file is missing.

With NEWSMON_SHARED_DIR set (CI, and `make test` on a machine that has the notes) a missing file fails
the test: a quality floor must not pass by being skipped. Without it the test is skipped, with a reason,
for people who have the code but not the notes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")


def require(path: Path, what: str) -> Path:
    """`path` if it exists; otherwise fail (NEWSMON_SHARED_DIR is set) or skip (it is not)."""
    if path.exists():
        return path
    if os.environ.get("NEWSMON_SHARED_DIR"):
        pytest.fail(f"{what} not found at {path}, although NEWSMON_SHARED_DIR={os.environ['NEWSMON_SHARED_DIR']} "
                    "says the shared notes are there: fix the path or the notes; unset it only where they are absent",
                    pytrace=False)
    pytest.skip(f"{what} not found at {path} (set NEWSMON_SHARED_DIR to the shared notes to run it)")
