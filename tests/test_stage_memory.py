"""A stage keeps what existed before it out of the cycle collector's way while it runs, and gives it back afterwards."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from newsmon.app.stages.counts import recorded
from newsmon.core.outcomes import Stage
from newsmon.core.settings import load_settings


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref:
    """A reference cycle only the cycle collector can free; the weak reference tells when it is gone."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_garbage_from_before_a_stage_is_collected_once_the_stage_is_over(tmp_path: Path) -> None:
    # `newsmon run --every` runs stages for months in one process: nothing may stay uncollectable.
    settings = load_settings(state_dir=tmp_path)
    gone = cycle()
    with recorded(settings, Stage.POLL):
        gc.collect()
        assert gone() is not None, "objects from before the stage are left out of its collections"
    gc.collect()
    assert gone() is None
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_its_objects_itself_keeps_them_frozen(tmp_path: Path) -> None:
    # Frozen objects are never collected: an unreachable cycle frozen by the process outlives the stages and
    # a collection after them only if the stages left the process's freeze alone.
    settings = load_settings(state_dir=tmp_path)
    gc.disable()  # no automatic collection between making the cycle and freezing it
    try:
        gone = cycle()
        gc.freeze()
    finally:
        gc.enable()
    try:
        with recorded(settings, Stage.INDEX), recorded(settings, Stage.ALERT):
            pass
        gc.collect()
        assert gone() is not None, "a stage unfroze what the process had frozen itself"
    finally:
        gc.unfreeze()
    gc.collect()
    assert gone() is None
