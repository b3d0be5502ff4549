"""A CPU-time deadline for parsing one untrusted document in-process (the backstop behind the markup scan)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# After the deadline the signal repeats at this interval, in case library code swallowed the first one.
_REPEAT_S = 0.25


class CpuDeadlineExceeded(BaseException):
    """Parsing one document used more CPU time than allowed.

    A BaseException, like KeyboardInterrupt: libraries that wrap their internals in `except Exception`
    (feedparser's date and sanitiser helpers do) must not swallow it and carry on.
    """

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"more than {limit_s:g} s of CPU time")
        self.limit_s = limit_s


@contextmanager
def cpu_deadline(limit_s: float) -> Iterator[None]:
    """Raise CpuDeadlineExceeded in this block once the process has used `limit_s` more CPU seconds.

    A virtual (user CPU time) interval timer delivers SIGVTALRM, so Airflow's own SIGALRM-based task
    timeout keeps working, and time the process spends waiting (I/O, a loaded machine) does not count.
    Python runs signal handlers between bytecodes, so this interrupts Python parsers (feedparser, the
    JSON Feed loop, trafilatura's Python passes) but not a single long C call: lxml's parse is bounded by
    the markup scan instead. Signals can only be handled in the main thread; elsewhere this is a no-op.
    """
    if limit_s <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    armed = [True]

    def _expired(_signum: int, _frame: object) -> None:
        if armed[0]:  # a signal that lands while the block is being left must not escape it
            raise CpuDeadlineExceeded(limit_s)

    previous_handler = signal.signal(signal.SIGVTALRM, _expired)
    previous_timer = signal.setitimer(signal.ITIMER_VIRTUAL, limit_s, _REPEAT_S)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous_handler)
        if previous_timer[0] > 0:
            signal.setitimer(signal.ITIMER_VIRTUAL, *previous_timer)


__all__ = ["CpuDeadlineExceeded", "cpu_deadline"]
