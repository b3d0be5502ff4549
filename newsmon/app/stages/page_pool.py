"""Where fetched pages are processed: in the poll task's own process, or on every core in worker processes.

The poll task fetches pages and keeps the state DB; processing a page (extraction, enrichment) is pure
CPU work on a `PageJob`, so it can run in a process pool. `PagePools.for_pages(n, pack)` picks:

- `InlinePages` when NEWSMON_EXTRACT_WORKERS is 0 or the poll has fewer than NEWSMON_EXTRACT_POOL_MIN_PAGES
  pages: starting workers costs more than it saves on a few pages;
- `WorkerPages` otherwise: a ProcessPoolExecutor (forkserver, never fork: the task process has threads)
  whose workers are forked from a server that imported and warmed the libraries once.

A worker that dies (segfault, out of memory) or a page still running after PAGE_WALL_LIMIT_S (a C-level
hang that the CPU deadline cannot interrupt) ends the whole pool: its processes are killed and a fresh
pool takes over. The pages that were in it come back as `Finished(done=None)`, "stopped": the poll task
then gives each one more attempt alone (so a page that kills workers cannot take others down with it) and
counts it as a skip once it has used up its processing attempts. Pages merely caught in a timeout of
another page are resubmitted without losing an attempt.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import resource
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from newsmon.app.stages.page_work import PageDone, PageJob, process_page, warm_tagger, warm_up
from newsmon.core.settings import Settings
from newsmon.enrich.topic import TopicPack

log = logging.getLogger("newsmon.stages.poll")

# A page still in a worker after this much wall time is taken for a hang in C code (which the CPU
# deadline of page_work cannot interrupt): its worker is killed. The slowest corpus page needs 0.3 s.
PAGE_WALL_LIMIT_S = 60.0
# Each worker is replaced after this many pages, so memory a library never gives back stays bounded.
PAGES_PER_WORKER = 500
# Pages handed to the pool per worker: one running and one waiting keeps every worker busy while the
# poll task writes results, and keeps the pages whose attempt a kill would count to a few.
PAGES_IN_FLIGHT_PER_WORKER = 2
# How often a worker without PR_SET_PDEATHSIG checks that its poll task is still there.
WATCHDOG_S = 2.0
# What the forkserver imports once, so that every worker starts ready: page_warm, which imports and warms
# the extraction libraries.
FORKSERVER_PRELOAD = ("newsmon.app.stages.page_warm",)
# Workers never run the program that started the pool. multiprocessing has each new process re-run the
# parent's main script (as __mp_main__) so that what it defines can be unpickled; a worker is only ever sent
# newsmon's own functions and records, and under Airflow that script is the airflow command: its import in
# a task's environment fails (the task supervisor hands tasks a metadata-DB URL that refuses connections,
# so every worker died at start) and costs a second of imports besides. The pool tells its server the
# script's path here; page_warm puts a stand-in module with that path in the server's sys.modules, which
# multiprocessing takes as "already run" in every worker forked from it.
PARENT_MAIN_ENV = "NEWSMON_POOL_PARENT_MAIN"


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Finished:
    """A processed page: `done` is None when its worker died or was stopped before it finished."""

    key: Hashable
    done: PageDone | None


class InlinePages:
    """Pages processed in this process, one at a time, when they are submitted."""

    workers = 0

    def __init__(self, pack: TopicPack) -> None:
        self.pack = pack
        self._finished: list[Finished] = []

    def submit(self, key: Hashable, job: PageJob, *, alone: bool = False) -> None:
        self._finished.append(Finished(key, process_page(job, self.pack)))

    def pending(self) -> int:
        return len(self._finished)

    def futures(self) -> Iterable[Future]:
        return ()

    def wait_s(self) -> float | None:
        return None

    def collect(self) -> list[Finished]:
        finished, self._finished = self._finished, []
        return finished


@dataclass
class _Running:
    key: Hashable
    job: PageJob
    started_at: float
    alone: bool


@dataclass
class WorkerPages:
    """Pages processed in `workers` processes; collect() hands back what finished (never blocks)."""

    workers: int
    pack: TopicPack
    wall_limit_s: float
    # Peak resident memory (MB) of every worker process seen, by pid, as the workers report it.
    peak_rss_mb: dict[int, float] = field(default_factory=dict)
    _executor: ProcessPoolExecutor | None = None
    _running: dict[Future, _Running] = field(default_factory=dict)
    _alone: deque[tuple[Hashable, PageJob]] = field(default_factory=deque)
    _pack_bytes: bytes = b""

    def __post_init__(self) -> None:
        self._pack_bytes = pickle.dumps(self.pack)

    def start(self) -> None:
        """Start the worker processes now (they also start on the first page)."""
        self._pool()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_init_worker, initargs=(self._pack_bytes, os.getpid()),
                max_tasks_per_child=PAGES_PER_WORKER)
            # Every worker now, not one per submit: their start-up overlaps the page fetches.
            for future in [self._executor.submit(os.getpid) for _ in range(self.workers)]:
                future.add_done_callback(lambda f: f.exception())
        return self._executor

    def room(self) -> int:
        """How many more pages the pool takes now (none while a suspect page waits to run alone)."""
        if self._alone or any(r.alone for r in self._running.values()):
            return 0
        return max(0, self.workers * PAGES_IN_FLIGHT_PER_WORKER - len(self._running))

    def submit(self, key: Hashable, job: PageJob, *, alone: bool = False) -> None:
        """Hand a page to the pool; `alone` pages run with nothing else in the pool (a suspect of a crash)."""
        if alone:
            self._alone.append((key, job))
            self._start_alone()
        else:
            self._start(key, job, alone=False)

    def _start(self, key: Hashable, job: PageJob, *, alone: bool) -> None:
        try:
            future = self._pool().submit(_work, job)
        except BrokenProcessPool:  # a worker died while the pool was idle: start a fresh pool
            self._kill()
            future = self._pool().submit(_work, job)
        self._running[future] = _Running(key, job, time.monotonic(), alone)

    def _start_alone(self) -> None:
        if self._alone and not self._running:
            key, job = self._alone.popleft()
            self._start(key, job, alone=True)

    def pending(self) -> int:
        return len(self._running) + len(self._alone)

    def futures(self) -> Iterable[Future]:
        return self._running.keys()

    def wait_s(self) -> float | None:
        """How long the caller may wait for futures before collect() must check the wall limit again."""
        if not self._running:
            return None
        oldest = min(r.started_at for r in self._running.values())
        return max(0.05, oldest + self.wall_limit_s - time.monotonic())

    def collect(self) -> list[Finished]:
        finished: list[Finished] = []
        broken = False
        for future in [f for f in self._running if f.done()]:
            run = self._running.pop(future)
            try:
                done, pid, rss_mb = future.result()
            except BrokenProcessPool:
                broken = True
                finished.append(Finished(run.key, None))
                continue
            self.peak_rss_mb[pid] = max(self.peak_rss_mb.get(pid, 0.0), rss_mb)
            finished.append(Finished(run.key, done))
        now = time.monotonic()
        overdue = {f for f, r in self._running.items() if now - r.started_at > self.wall_limit_s}
        if broken or overdue:
            finished += self._restart(overdue, broken=broken)
        self._start_alone()
        return finished

    def _restart(self, overdue: set[Future], *, broken: bool) -> list[Finished]:
        """Kill the pool; the pages in it are stopped (a crash: any may be the cause) or resubmitted (a timeout)."""
        running, self._running = self._running, {}
        for run in (running[f] for f in overdue):
            log.warning("page %s of feed %s still in its extraction worker after %g s: the worker is stopped",
                        run.job.page.final_url, run.job.feed.id, self.wall_limit_s)
        if broken:
            log.warning("an extraction worker died (killed, out of memory or crashed); %d page(s) in the pool "
                        "get another attempt, one at a time", len(running))
        self._kill()
        stopped = [Finished(r.key, None) for f, r in running.items() if broken or f in overdue]
        for future, run in running.items():
            if not broken and future not in overdue:  # caught in another page's timeout: not its fault
                self._start(run.key, run.job, alone=run.alone)
        return stopped

    def _kill(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # ProcessPoolExecutor cannot stop a running call: its processes are killed, then it is shut down.
        for process in list((executor._processes or {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._running.clear()
        self._alone.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class PagePools:
    """The page pools of one poll task or one `newsmon run` pass: worker processes are started once, on
    the first poll with enough pages, and serve every later batch of the pass."""

    def __init__(self, settings: Settings) -> None:
        self.workers = available_cores() if settings.extract_workers is None else settings.extract_workers
        self.min_pages = settings.extract_pool_min_pages
        self._workers: WorkerPages | None = None

    @property
    def started(self) -> WorkerPages | None:
        """The worker processes, once a poll has started them."""
        return self._workers

    def warm(self) -> None:
        """Start the workers' server warming up now, if this pass may use workers at all: `newsmon run` calls it
        before planning, so the ≈0.5 s of imports overlap the plan and the feed fetches (the server stays for
        later passes of the process; unused, it costs that once)."""
        if self.workers:
            _start_forkserver()

    def expect(self, pages: int) -> None:
        """`pages` pages are queued so far: once that is enough for workers, their server starts warming up
        (in its own process, while the remaining feeds of the batch are read)."""
        if self.workers and pages >= self.min_pages and self._workers is None:
            _start_forkserver()

    def for_pages(self, pages: int, pack: TopicPack) -> InlinePages | WorkerPages:
        """Where to process `pages` pages tagged with `pack`."""
        if self._workers is not None and self._workers.pack is pack:
            return self._workers
        if self.workers == 0 or pages < self.min_pages:
            return InlinePages(pack)
        if self._workers is not None:  # the topic pack changed between batches: workers need the new one
            self._workers.close()
        self._workers = WorkerPages(self.workers, pack, PAGE_WALL_LIMIT_S)
        self._workers.start()
        return self._workers

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def __enter__(self) -> PagePools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():  # not on Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
    os.environ[PARENT_MAIN_ENV] = _parent_main_path()  # read by page_warm in the server (see PARENT_MAIN_ENV)
    return context


def _parent_main_path() -> str:
    """The script multiprocessing would have each worker re-run: what multiprocessing.spawn takes, the main
    module's file when it was not started with -m ("" when there is none, as under `python -c`)."""
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None) is not None:
        return ""  # started with -m: multiprocessing re-imports only a module not named __main__, never ours
    path = getattr(main, "__file__", None)
    if not path:
        return ""
    origin = multiprocessing.process.ORIGINAL_DIR
    return os.path.normpath(path if os.path.isabs(path) or origin is None else os.path.join(origin, path))


def _start_forkserver() -> None:
    # Returns at once: the server imports and warms the libraries in its own process. A poll task keeps it
    # until it ends; later pools of the same process fork from it without that cost.
    if _context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


_pack: TopicPack | None = None


def _init_worker(pack_bytes: bytes, task_pid: int) -> None:
    """A new worker: the topic pack of this poll, and gone with its poll task (a killed task leaves none)."""
    global _pack
    _die_with_task(task_pid)
    # The poll task handles Ctrl-C and Airflow's SIGTERM; a worker only stops when it is told to.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pack = pickle.loads(pack_bytes)  # noqa: S301 - our own pack, pickled by the poll task that started us
    if "newsmon.app.stages.page_warm" in sys.modules:
        warm_tagger(_pack)  # forked from the warm server (page_warm): only the tagger's stemmers are left
    else:
        warm_up(_pack)


def _die_with_task(task_pid: int) -> None:
    """Make sure this worker ends when the poll task does, even when the task is SIGKILLed.

    A worker is a child of the forkserver, which exits once nobody holds its liveness pipe, but every
    forked worker inherits a copy of it: the worker closes its copy, so the server exits with the task, and
    PR_SET_PDEATHSIG has the kernel kill the worker then. Where that is not possible, a watchdog thread
    checks the task every WATCHDOG_S.
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if sys.platform.startswith("linux") and isinstance(alive_fd, int):
        os.close(alive_fd)
        server._forkserver_alive_fd = None  # type: ignore[union-attr]
        import ctypes

        pr_set_pdeathsig = 1
        if ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL) == 0:
            return
    threading.Thread(target=_watch_task, args=(task_pid,), name="newsmon-watchdog", daemon=True).start()


def _watch_task(task_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_S)
        try:
            os.kill(task_pid, 0)
        except ProcessLookupError:
            os._exit(70)
        except PermissionError:  # the pid now belongs to another user's process: ours is gone
            os._exit(70)


def _work(job: PageJob) -> tuple[PageDone, int, float]:
    """Runs in a worker: the page's outcome, and this worker's pid and peak resident memory in MB."""
    if _pack is None:
        raise RuntimeError("extraction worker started without its topic pack")
    done = process_page(job, _pack)
    return done, os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
