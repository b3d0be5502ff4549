"""The process the crash harness kills: `newsmon run --once --force`, with a later clock and optional kill points.

    python bench/crash_child.py OFFSET_S

OFFSET_S moves the pass's clock forward (the harness's reruns come "11 minutes later" each, as the next
scheduled run would: an alert whose delivery was cut off is released after the outbox's lease). With
CRASH_AT=<point>:<n> the process SIGKILLs itself at the n-th pass of a named point (KILL_POINTS); with
CRASH_COUNTS=<file> it writes how often each point was passed when it ends. Nothing here changes what
newsmon does: the points are wrappers around its own functions, and the kill is a real SIGKILL.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_passes: Counter[str] = Counter()
_lock = threading.Lock()
_target: tuple[str, int] | None = None


def _passed(point: str) -> None:
    with _lock:
        _passes[point] += 1
        hit = _target is not None and _target == (point, _passes[point])
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


def _before(owner: object, name: str, point: str) -> None:
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        _passed(point)
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def _after(owner: object, name: str, point: str) -> None:
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        _passed(point)
        return result

    setattr(owner, name, wrapped)


def install_points() -> None:
    """Wrap the functions named by KILL_POINTS (what each point means is in bench/crash.py)."""
    import newsmon.alerts.outbox as outbox
    import newsmon.app.stages.index as index
    import newsmon.app.stages.poll_pages as poll_pages
    import newsmon.store.sqlite_index as sqlite_index
    from newsmon.ingest.http import SafeClient

    _after(SafeClient, "fetch", "fetched")  # a page or feed was fetched, nothing done with it yet
    _before(poll_pages.BatchPages, "_finish", "extracted")  # results back from the workers, not yet written
    _before(poll_pages.BatchPages, "_stage", "staging")  # inside the transaction writing results and marks
    _before(index, "article_to_document", "clustering")  # inside the clustering transaction, article by article
    _after(sqlite_index.SqliteIndex, "put_articles", "indexed")  # FTS rows committed, statuses not yet updated
    _before(outbox, "deliver", "delivering")  # an alert claimed (status sending), not yet sent
    _after(outbox, "deliver", "delivered")  # a channel took the alert, the outbox does not know yet


def shift_clock(offset_s: float) -> None:
    import newsmon.app.stages.run as run

    real = run.utcnow
    run.utcnow = lambda: real() + timedelta(seconds=offset_s)


def main() -> int:
    global _target
    shift_clock(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    install_points()
    if spec := os.environ.get("CRASH_AT"):
        point, n = spec.rsplit(":", 1)
        _target = (point, int(n))
    if counts := os.environ.get("CRASH_COUNTS"):
        atexit.register(lambda: Path(counts).write_text(json.dumps(dict(_passes))))
    from newsmon.app.cli import main as newsmon

    return newsmon(["run", "--once", "--force"])


if __name__ == "__main__":
    sys.exit(main())
