"""What a stage counted, named only from the vocabulary of newsmon.core.outcomes, and its record in `runs`."""

from __future__ import annotations

import gc
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from newsmon.core.outcomes import EXAMPLES, SKIPPED_REASONS, Count, SkipReason, Stage, skip_key
from newsmon.core.settings import Settings
from newsmon.store.db import open_engine
from newsmon.store.runs import record_run

log = logging.getLogger("newsmon.stages")

# The examples a stage keeps for the run summary and the runs table: a few per key, a bounded list in all,
# so a run with thousands of failures records a readable sample, not all of them.
EXAMPLES_PER_KEY = 3
MAX_EXAMPLES = 20
MAX_DETAIL_CHARS = 300


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Counts:
    """Outcome counters of one stage. Each item is counted once; a skip under its skip key only."""

    values: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: Count, n: int = 1) -> None:
        self.values[str(name)] += n

    def skip(self, reason: SkipReason, category: StrEnum | None = None, *, detail: str | None = None) -> None:
        """Count one skipped item under its key; `detail` (URL, feed, message) is logged and may become an example."""
        key = skip_key(reason, category)
        self.values[str(Count.SKIPPED)] += 1
        self.skipped[key] += 1
        if detail:
            log.info("skipped (%s): %s", key, detail)
            self.example(key, detail)

    def example(self, key: str, detail: str) -> None:
        """Keep `detail` as an example of `key` unless the bounds are reached."""
        if len(self.examples) >= MAX_EXAMPLES or sum(e["key"] == key for e in self.examples) >= EXAMPLES_PER_KEY:
            return
        self.examples.append({"key": key, "detail": detail[:MAX_DETAIL_CHARS]})

    def merge(self, other: dict[str, Any]) -> None:
        """Add another stage's counts (as returned by `as_dict`) to these."""
        for key, value in other.items():
            if key == SKIPPED_REASONS:
                self.skipped.update(value)
            elif key == EXAMPLES:
                for example in value:
                    self.example(example["key"], example["detail"])
            else:
                self.values[key] += value

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.values), SKIPPED_REASONS: dict(self.skipped), EXAMPLES: list(self.examples)}


@contextmanager
def recorded(settings: Settings, stage: Stage) -> Iterator[Counts]:
    """The Counts of one stage run, stored in `runs` with its start and finish when the stage ends without error."""
    started_at = utcnow()
    counts = Counts()
    with older_objects_frozen():
        yield counts
    record_run(open_engine(settings.database_url), str(stage), started_at, utcnow(), counts.as_dict())


_frozen_lock = threading.Lock()
_frozen_depth = 0
_ours = False  # whether the freeze of the stages running now is the only one, so theirs to undo


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """While a stage runs, the objects that existed before it (modules, libraries, Airflow's task runner) are
    left out of the cycle collector's full passes, which otherwise walked all of them again and again as the
    stage's articles piled up (about 0.5 ms of the task process's CPU per page); afterwards they are
    collectable as before. Nested or concurrent stages share one freeze, and a process that had frozen objects
    itself (a forking server does, for copy-on-write) keeps them frozen."""
    global _frozen_depth, _ours
    with _frozen_lock:
        if _frozen_depth == 0:
            _ours = gc.get_freeze_count() == 0
            gc.freeze()
        _frozen_depth += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen_depth -= 1
            if _frozen_depth == 0 and _ours:
                gc.unfreeze()
