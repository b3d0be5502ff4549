"""Throughput of newsmon_ingest on a real Airflow standalone (LocalExecutor) against bare trafilatura, in one run.

The site, the pages, the state layout and the baseline are bench_replay.py's: N real pages of the shared
extraction corpus behind 8 feeds on 4 loopback hosts, and bare `trafilatura.extract` over the same bytes in
a pool of --workers processes, measured before Airflow starts and after it has stopped (the mean of the two
is the yardstick). Airflow is started the way `make run` and `make smoke` start it (scripts/run_airflow.sh,
driven by scripts/smoke.py's Airflow class) with a fresh AIRFLOW_HOME and store in a temporary directory,
the DAGs paused. Once it is healthy, one newsmon_ingest run is triggered through the REST API and the DAG
unpaused; the script waits for that run's success, and stops at once when a task attempt fails.

Printed: pages/s from the run's start to its end as Airflow records them, and from the trigger to every
page searchable (the indexed count of the store read every 0.25 s); their ratios to bare; the CPU of each
Airflow component during the run; each task's wait, duration and the newsmon stage inside it (the state
DB's `runs` table), and how much of the run is our stages, the rest of the tasks' time (task process
start, DAG parse, imports, XCom) and time with no task running (scheduling, queueing). Everything it
starts is stopped at the end, also on failure and Ctrl-C; a process left behind is an error.

    python bench/bench_replay_airflow.py [--pages 200] [--workers 2] [--task-workers 2] [--parallelism 4]

The plan puts every feed of one host name in one batch, and the site's hosts are all 127.0.0.1: one poll
task. --task-workers is that task's NEWSMON_EXTRACT_WORKERS: as many as bare's processes by default (0 is
the task's own process only). Politeness spacing is off, as in bench_replay.py: this measures CPU
throughput, not the 1 s per host.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "bench", REPO / "scripts"):
    sys.path.insert(0, str(folder))

from airflow_stack import become_subreaper, descendants  # noqa: E402
from bench_replay import (  # noqa: E402
    BarePool,
    _at,
    build_site,
    load_pages,
    pipeline_env,
    stage_runs,
    task_breakdown,
)
from loopback_site import LoopbackSite, process_table  # noqa: E402
from smoke import START_TIMEOUT_S, Airflow, SmokeFailure, stack_env  # noqa: E402

DAG_ID = "newsmon_ingest"
SAMPLE_S = 0.25  # how often the store's indexed count is read (the REST API: every fourth time)
COMPONENTS = ("scheduler", "api-server", "dag-processor", "triggerer")


def searchable(db: Path) -> int:
    """Indexed articles in the store, read-only (the DAG's tasks write it meanwhile); 0 before it exists."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM articles WHERE status = 'indexed'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # no file or no table yet


class CpuSampler:
    """Own CPU (utime + stime, not the children's) of every process below this one except `exclude` (the site,
    the bare pool), sampled while the run goes; each process counts with its last sample.

    Summing samples instead of reading each component's tree once at the end keeps the CPU of processes
    that exit unreaped: the extraction workers and their forkserver are orphaned when their poll task ends,
    so their CPU never reaches the scheduler's cutime. A process that lives less than one sample interval is
    missed, and each process loses what it used after its last sample (at most SAMPLE_S)."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.last: dict[int, float] = {}
        self.component: dict[int, str] = {}
        self.before: dict[int, float] = {}

    def start(self) -> None:
        self.sample()
        self.before = dict(self.last)

    def sample(self) -> None:
        table = process_table()
        parents = {pid: parent for pid, (parent, _own, _children) in table.items()}
        own = {pid: own for pid, (_parent, own, _children) in table.items()}
        titles: dict[int, str] = {}
        below = {os.getpid()}
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in below and pid not in below and pid not in self.exclude:
                    below.add(pid)
                    grew = True
        below.discard(os.getpid())
        for pid in below:
            self.last[pid] = own[pid]
            if pid not in self.component:
                titles[pid] = self._title(pid)
        for pid in titles:
            self.component[pid] = self._component_of(pid, parents, titles)

    @staticmethod
    def _title(pid: int) -> str:
        try:  # Airflow retitles its processes ("airflow api_server -- host:..."): match either spelling
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    def _component_of(self, pid: int, parents: dict[int, int], titles: dict[int, str]) -> str:
        seen = set()
        while pid and pid not in seen:
            seen.add(pid)
            if pid in self.component:
                return self.component[pid]
            title = titles.get(pid) or self._title(pid)
            name = next((c for c in COMPONENTS if c in title or c.replace("-", "_") in title), None)
            if name:
                return name
            pid = parents.get(pid, 0)
        return "other"

    def cpu_s(self) -> dict[str, float]:
        cpu: dict[str, float] = {}
        for pid, last in self.last.items():
            name = self.component.get(pid, "other")
            cpu[name] = cpu.get(name, 0.0) + last - self.before.get(pid, 0.0)
        return cpu


def run_dag(airflow: Airflow, db: Path, timeout_s: float, cpu: CpuSampler) -> dict:
    """Trigger newsmon_ingest, unpause it, and follow the run to its end; what Airflow and the store recorded."""
    airflow.wait("/api/v2/monitor/health to report every component healthy", airflow.healthy, START_TIMEOUT_S)
    airflow.log_in()
    airflow.wait(f"the DAG {DAG_ID} to be parsed", lambda: airflow.dag_parsed(DAG_ID), START_TIMEOUT_S)
    cpu.start()
    triggered = time.monotonic()
    # Triggered while paused, then unpaused. Unpausing makes the scheduler create a scheduled run at once
    # (catchup off); an earlier run_after puts ours first in the one max_active_runs slot. The scheduled run
    # then finds no feed due.
    run_id = airflow.trigger(DAG_ID, prefix="bench", run_after=datetime.now(UTC) - timedelta(hours=1))
    airflow.unpause(DAG_ID)
    samples: list[tuple[float, int]] = []
    deadline, state, tick = triggered + timeout_s, "queued", 0
    while state not in ("success", "failed"):
        if time.monotonic() > deadline:
            raise SmokeFailure(f"run {run_id} still {state} after {timeout_s:.0f} s")
        airflow.check_running()
        cpu.sample()
        samples.append((time.monotonic() - triggered, searchable(db)))
        if tick % 4 == 0:
            state = airflow.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
            refuse_a_failed_try(airflow, run_id)
        tick += 1
        time.sleep(SAMPLE_S)
    cpu.sample()
    if state != "success":
        raise SmokeFailure(f"run {run_id} failed")
    run = airflow.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")
    tis = airflow.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]
    others = [r for r in airflow.runs() if r["dag_run_id"] != run_id]
    final = searchable(db)
    samples.append((time.monotonic() - triggered, final))
    return {"run": run, "tasks": [{"task_id": t["task_id"], "map_index": t["map_index"], "start": t["start_date"],
                                   "end": t["end_date"], "try": t["try_number"]} for t in tis],
            "others": others, "indexed": final, "stages": stage_runs(db),
            "searchable_s": next(t for t, count in samples if count >= final),
            "cpu": cpu.cpu_s()}


def refuse_a_failed_try(airflow: Airflow, run_id: str) -> None:
    """A task attempt that failed makes the figure meaningless (its retry waits a minute): stop at once."""
    tis = airflow.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]
    for ti in tis:
        if ti["state"] in ("up_for_retry", "failed", "upstream_failed"):
            log = next(iter(sorted(airflow.home.glob(f"logs/dag_id={DAG_ID}/run_id={run_id}/task_id={ti['task_id']}/"
                                                     f"**/attempt=1.log"))), None)
            raise SmokeFailure(f"{ti['task_id']}[{ti['map_index']}] is {ti['state']} (try {ti['try_number']}): "
                               f"{last_error(log) if log else 'no log'} (log: {log})")


def last_error(log: Path) -> str:
    """The exception a task log ends with, and the last error its child processes wrote, in one line."""
    raised, stderr = "no exception in the log", ""
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        for detail in event.get("error_detail") or []:
            raised = f"{detail.get('exc_type')}: {detail.get('exc_value')}"
        if event.get("logger") == "task.stderr" and "Error:" in str(event.get("event")):
            stderr = str(event["event"]).strip()
    return raised + (f"; on stderr: {stderr}" if stderr else "")


def leftovers(home: Path) -> list[int]:
    """Processes anywhere on the machine that run with this benchmark's AIRFLOW_HOME."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # exited, or not ours to read
    return found


def report(n: int, args: argparse.Namespace, bare: list[tuple[float, float]], got: dict) -> None:
    bare_wall = statistics.mean(w for w, _ in bare)
    run = got["run"]
    run_s = (_at(run["end_date"]) - _at(run["start_date"])).total_seconds()
    print(f"bare trafilatura.extract, {args.workers} processes: " + ", ".join(f"{n / w:.1f}" for w, _ in bare)
          + f" pages/s (before Airflow started, after it stopped); "
          f"{1000 * statistics.mean(c for _, c in bare) / n:.1f} ms CPU/page")
    print(f"newsmon_ingest {run['dag_run_id']}: {run['state']}, {got['indexed']} indexed of {n} pages, "
          f"{len(got['tasks'])} task instances (tries: {sorted({t['try'] for t in got['tasks']})})")
    print(f"  Airflow's run start to end: {n / run_s:.1f} pages/s ({run_s:.2f} s); ratio to bare {bare_wall / run_s:.2f}")
    print(f"  trigger to every page searchable: {n / got['searchable_s']:.1f} pages/s ({got['searchable_s']:.2f} s); "
          f"ratio to bare {bare_wall / got['searchable_s']:.2f}")
    cpu = got["cpu"]
    bare_cpu = statistics.mean(c for _, c in bare)
    print(f"  CPU from trigger to success: {1000 * sum(cpu.values()) / n:.1f} ms/page (ratio of bare's to it "
          f"{bare_cpu / sum(cpu.values()):.2f}): "
          + ", ".join(f"{c} {1000 * cpu.get(c, 0.0) / n:.1f}" for c in (*COMPONENTS, "other"))
          + " (the scheduler's figure holds its task processes and their extraction workers; each process's own"
          " CPU, sampled every 0.25 s)")
    print("per task (Airflow's start and end of each task instance, newsmon's stage inside it):")
    print("\n".join(task_breakdown(got["tasks"], got["stages"], run["start_date"], run["end_date"])))
    print("other newsmon runs meanwhile: " + (", ".join(f"{r['dag_id']} {r['run_type']} {r['state']}"
                                                       for r in got["others"]) or "none"))


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="bare processes")
    parser.add_argument("--task-workers", type=int, default=None,
                        help="NEWSMON_EXTRACT_WORKERS of the poll task (default: --workers; 0 extracts in the task's "
                             "own process)")
    parser.add_argument("--parallelism", type=int, default=4, help="Airflow's [core] parallelism")
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--feeds-per-host", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the run after the trigger")
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    parser.add_argument("--corpus", type=Path, default=shared / "corpus" / "extraction")
    args = parser.parse_args()
    if args.task_workers is None:
        args.task_workers = args.workers
    pages = load_pages(args.corpus, args.pages)  # refuses, before anything starts, when the corpus is absent
    n = len(pages)
    become_subreaper()
    signal.signal(signal.SIGTERM, interrupt)
    bare_pool = BarePool(max(1, args.workers))
    bare_pool.run(pages[: 4 * max(1, args.workers)])  # start and warm the processes
    status = 1
    work = Path(tempfile.mkdtemp(prefix="newsmon-replay-airflow-"))
    with LoopbackSite(args.hosts) as site:
        feeds_yaml = build_site(site, pages, args.feeds_per_host, now=datetime.now(UTC))
        print(f"pages: {n} on {args.hosts} hosts; load average {os.getloadavg()[0]:.2f}", flush=True)
        bare = [bare_pool.run(pages)]
        settings = pipeline_env(work, feeds_yaml, args.task_workers, n)
        env = stack_env(work / "var", {**settings, "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
                                       "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"})
        ours = set(descendants(os.getpid()))  # the site and the bare pool: not Airflow's
        started = time.monotonic()
        airflow = Airflow(env, work / "airflow.log")
        got = None
        try:
            got = run_dag(airflow, work / "var" / "newsmon.db", timeout_s=args.timeout, cpu=CpuSampler(ours))
            status = 0
        except SmokeFailure as exc:
            print(f"bench: FAILED: {exc}; the Airflow log: {airflow.log_path}")
        except KeyboardInterrupt:
            print("bench: interrupted", flush=True)
            status = 130
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_IGN)  # let the stop finish
            left = airflow.stop(keep=ours)
        print(f"Airflow standalone (LocalExecutor, parallelism {args.parallelism}, NEWSMON_EXTRACT_WORKERS="
              f"{args.task_workers} in the poll task): started, ran and stopped in {time.monotonic() - started:.0f} s", flush=True)
        stray = leftovers(airflow.home)
        if left or stray:
            print(f"bench: FAILED: processes left after Airflow's stop (killed by its stop: {left}; "
                  f"still running with its AIRFLOW_HOME: {stray})")
            status = status or 1
        else:
            print(f"stopped: no process left below this one or with AIRFLOW_HOME={airflow.home}")
        if got:
            bare.append(bare_pool.run(pages))
            report(n, args, bare, got)
    bare_pool.close()
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"bench: state, config and logs kept in {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
