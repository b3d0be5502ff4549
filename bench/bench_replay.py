"""Throughput: real pages through the whole pipeline on every core vs bare trafilatura.extract on as many processes.

A loopback site (its own process, see loopback_site.py) serves N real pages of the shared extraction
corpus behind several RSS feeds on several hosts; half of the feeds link their pages on another host
than their own. `run_once` (what `newsmon run --once` calls) then does everything it does in production:
plan, feed fetch and parse, page fetch under the host limits, extraction with metadata, language, topic
tagging, dedup, FTS5 indexing into the embedded store and alert matching, with NEWSMON_EXTRACT_WORKERS
worker processes. The baseline, in the same run, is `trafilatura.extract(html, url=url)` over the same page
bytes in a pool of the same number of processes, measured before and after the pipeline (the machine is
shared: the mean of the two is the yardstick).

Printed: pages/s of each, the ratio, CPU ms/page over all processes of each (steadier than wall time on a
shared machine), peak RSS of each worker, and where the pipeline's time goes (stages, processes, idle
cores). `--airflow` also runs the newsmon_ingest DAG with `dag.test()` over the same site and state layout, with
the time of each task; bench_replay_airflow.py runs it on a real Airflow standalone.

    python bench/bench_replay.py [--pages 200] [--workers 2] [--hosts 4] [--feeds-per-host 2] [--airflow]

Politeness spacing is off here (NEWSMON_PER_HOST_MIN_INTERVAL_S=0): this measures CPU throughput. With
the default 1 s per host, a poll is bound by politeness, not by CPU (docs/operations.md).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from loopback_site import LoopbackSite, process_tree_cpu_s  # noqa: E402

# The shipped rules (text queries behind on_topic: true), plus a title rule that some pages of this general
# news corpus match, so that alerts are delivered in the run too.
EVERY_STORY_RULE = ("  - name: officials\n    query: 'title:(police OR government OR minister OR president)'\n"
                    "    channels: [file:alerts.jsonl]\n")


def load_pages(corpus: Path, n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """N pages of the shared corpus (url, html bytes), in a fixed shuffled order."""
    manifest = corpus / "manifest.jsonl"
    if not manifest.exists():
        raise SystemExit(f"{manifest} not found: set NEWSMON_SHARED_DIR to the shared notes (../shared)")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    pages = []
    for row in rows[:n]:
        raw = (corpus / row["html"]).read_bytes()
        pages.append((row["url"], gzip.decompress(raw) if row["html"].endswith(".gz") else raw))
    return pages


# ----------------------------------------------------------------------------------------- the site

def build_site(site: LoopbackSite, pages: list[tuple[str, bytes]], feeds_per_host: int,
               *, now: datetime) -> str:
    """Serve the pages behind feeds_per_host feeds on every host; returns the feeds.yaml text."""
    n_feeds = site.hosts * feeds_per_host
    routes = [(h, "/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain", 200, {}) for h in range(site.hosts)]
    items: list[list[str]] = [[] for _ in range(n_feeds)]
    for i, (_url, body) in enumerate(pages):
        feed = i % n_feeds
        # Odd feeds link their pages on the next host: article hosts differ from feed hosts.
        page_host = (feed // feeds_per_host + feed % 2) % site.hosts
        path = f"/news/{feed}/{i}.html"
        routes.append((page_host, path, body, "text/html; charset=utf-8", 200, {}))
        # Real feeds date their items, so the page's own date search runs only where pages state none.
        published = format_datetime(now - timedelta(minutes=i), usegmt=True)
        items[feed].append(f"<item><title>page {i}</title><link>{site.base(page_host)}{path}</link>"
                           f"<guid>replay-{i}</guid><pubDate>{published}</pubDate></item>")
    lines = ["feeds:"]
    for feed in range(n_feeds):
        host = feed // feeds_per_host
        body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>replay</title>'
                + "".join(items[feed]) + "</channel></rss>").encode()
        routes.append((host, f"/feed{feed}.xml", body, "application/rss+xml", 200, {}))
        lines.append(f"  - id: replay-{feed}\n    name: Replay {feed}\n    url: {html.escape(site.base(host))}/feed{feed}.xml\n"
                     "    language: en\n    evidence: served by this benchmark's loopback site")
    site.set_many(routes)
    return "\n".join(lines) + "\n"


def pipeline_env(tmp: Path, feeds_yaml: str, workers: int, pages: int) -> dict[str, str]:
    """NEWSMON_* for a fresh home in tmp: config (feeds, alert rules, the shipped topic pack) and state."""
    config = tmp / "config"
    (config / "topics").mkdir(parents=True)
    for pack in (REPO / "config" / "topics").glob("*.yaml"):
        (config / "topics" / pack.name).write_bytes(pack.read_bytes())
    (config / "feeds.yaml").write_text(feeds_yaml)
    (config / "alerts.yaml").write_text((REPO / "config" / "alerts.yaml").read_text().rstrip("\n") + "\n\n"
                                        + EVERY_STORY_RULE)
    return {"NEWSMON_HOME": str(tmp), "NEWSMON_CONFIG_DIR": str(config), "NEWSMON_STATE_DIR": str(tmp / "var"),
            "NEWSMON_ALLOW_LOOPBACK": "true", "NEWSMON_PER_HOST_MIN_INTERVAL_S": "0",
            "NEWSMON_PER_HOST_CONCURRENCY": "8", "NEWSMON_MAX_ENTRIES_PER_POLL": str(pages),
            "NEWSMON_EXTRACT_WORKERS": str(workers)}


# ----------------------------------------------------------------------------------------- baseline

def _bare_init() -> None:
    import logging

    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    trafilatura.extract("<html><body><article><p>" + "warm up text " * 40 + "</p></article></body></html>")


def _bare_page(url: str, body: bytes) -> tuple[int, float]:
    import trafilatura

    trafilatura.extract(body, url=url)
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class BarePool:
    """`processes` plain Python processes that import only trafilatura (spawn: nothing of newsmon inside)."""

    def __init__(self, processes: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_bare_init)
        self.peak_rss_mb: dict[int, float] = {}

    def run(self, pages: list[tuple[str, bytes]]) -> tuple[float, float]:
        """(wall s, CPU s of the pool processes) for extracting every page once."""
        pids = list(self.pool._processes or {})
        before = _cpu_of(pids)
        started = time.perf_counter()
        for pid, rss in self.pool.map(_bare_page, *zip(*pages, strict=True), chunksize=1):
            self.peak_rss_mb[pid] = max(self.peak_rss_mb.get(pid, 0.0), rss)
        return time.perf_counter() - started, _cpu_of(list(self.pool._processes or {})) - before

    def close(self) -> None:
        self.pool.shutdown()


def _cpu_of(pids: list[int]) -> float:
    cpu = process_tree_cpu_s(os.getpid())
    return sum(cpu.get(pid, 0.0) for pid in pids)


# ----------------------------------------------------------------------------------------- pipeline

class StageClock:
    """Wall and main-process CPU time of each stage run_once calls (wrappers on newsmon.app.stages.run)."""

    def __init__(self) -> None:
        import newsmon.app.stages.run as run

        self.run, self.times = run, {}
        for name in ("plan_feeds", "poll_feeds", "cluster_and_index", "send_alerts"):
            setattr(run, name, self._wrap(name, getattr(run, name)))

    def _wrap(self, name, fn):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                w, c = self.times.get(name, (0.0, 0.0))
                self.times[name] = (w + time.perf_counter() - wall, c + time.process_time() - cpu)
        return timed


def worker_peaks() -> dict[int, float]:
    """Collects each WorkerPages' workers' peak RSS as the pool closes (bench-only wrapper)."""
    import newsmon.app.stages.page_pool as page_pool

    peaks: dict[int, float] = {}
    close = page_pool.WorkerPages.close

    def kept(self):
        peaks.update(self.peak_rss_mb)
        close(self)

    page_pool.WorkerPages.close = kept
    return peaks


def run_pipeline(env: dict[str, str], site_pid: int) -> dict:
    """run_once in this process with env's settings: wall, CPU of every process but the site's, counts."""
    from newsmon.app.stages.run import run_once
    from newsmon.core.settings import load_settings

    os.environ.update(env)
    settings = load_settings()
    clock, peaks = StageClock(), worker_peaks()
    before = _tree_cpu_without(site_pid)
    main_before = time.process_time()
    started = time.perf_counter()
    summary = run_once(settings, force=True)
    wall = time.perf_counter() - started
    main_cpu = time.process_time() - main_before
    total_cpu = _tree_cpu_without(site_pid) - before
    return {"wall": wall, "cpu": total_cpu, "main_cpu": main_cpu, "stages": clock.times, "peaks": peaks,
            "poll": summary.poll, "index": summary.index, "alerts": summary.alerts,
            "main_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _tree_cpu_without(site_pid: int) -> float:
    cpu = process_tree_cpu_s(os.getpid())
    site = process_tree_cpu_s(site_pid) if site_pid else {}
    return sum(v for pid, v in cpu.items() if pid not in site)


# ----------------------------------------------------------------------------------------- worker profile

# What a worker does per page, by function (cumulative, so nested rows are part of the row above them).
PROFILED = (
    ("process_page (extract + enrich)", "page_work.py", "process_page"),
    ("  extract_article", "extract.py", "extract_with_report"),
    ("    decode (charset, gzip, sniffing)", "extract_input.py", "html_text_from_input"),
    ("    repair (trafilatura's helpers)", "extract.py", "_repair"),
    ("    markup scan before lxml", "extract.py", "_refuse_costly_markup"),
    ("    lxml parse", "extract.py", "_parse_repaired"),
    ("    publisher metadata", "extract_meta.py", "read_page_meta"),
    ("    comment pruning", "extract.py", "prune_comment_sections"),
    ("    trafilatura bare_extraction", "core.py", "bare_extraction"),
    ("    split-body recovery", "extract_chunks.py", "recover_split_body"),
    ("    text clean-up", "extract_clean.py", "clean_text"),
    ("    htmldate (pages with no date)", "extract.py", "_date_read_from_page"),
    ("  enrich", "page_work.py", "enrich"),
    ("    topic tagging", "score.py", "tag"),
    ("    language detection", "lang.py", "detect_language"),
    ("    URL canonicalisation", "urls.py", "canonical_url"),
    ("    content hash", "dedup.py", "content_hash"),
    ("bare trafilatura.extract", "core.py", "extract"),
)


def profile_workers(pages: list[tuple[str, bytes]], now: datetime) -> None:
    """One in-process pass of a worker's work and of bare extract over the pages, under cProfile."""
    import cProfile
    import pstats

    import trafilatura

    from newsmon.app.stages.page_work import PageJob, process_page, warm_up
    from newsmon.app.stages.poll import load_pack
    from newsmon.core.records import Feed, FeedEntry, Page
    from newsmon.core.settings import load_settings

    pack = load_pack(load_settings(config_dir=REPO / "config"))
    warm_up(pack)
    feed = Feed(id="replay", url="http://127.0.0.1:1/feed0.xml", name="Replay", language="en")
    jobs = []
    for i, (_url, body) in enumerate(pages):
        url = f"http://127.0.0.1:1/news/0/{i}.html"
        jobs.append(PageJob(feed, FeedEntry(entry_id=str(i), link=url, title=f"page {i}", published_at=now),
                            Page(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                                 body=body, fetched_at=now)))
    newsmon, bare = cProfile.Profile(), cProfile.Profile()
    newsmon.runcall(lambda: [process_page(job, pack) for job in jobs])
    bare.runcall(lambda: [trafilatura.extract(body, url=url) for url, body in pages])
    print(f"a worker's CPU by function (cProfile, one process, {len(pages)} pages; profiler overhead included):")
    for label, file, name in PROFILED:
        stats = pstats.Stats(bare if label.startswith("bare") else newsmon).stats  # type: ignore[attr-defined]
        rows = [v for (f, _line, fn), v in stats.items() if fn == name and f.endswith("/" + file)]
        print(f"  {label:38s} {1000 * sum(r[3] for r in rows) / len(pages):6.2f} ms/page  ({sum(r[1] for r in rows)} calls)")


# ----------------------------------------------------------------------------------------- Airflow

AIRFLOW_RUN = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
dag = DagBag(dag_folder=sys.argv[1]).dags["newsmon_ingest"]
started = time.perf_counter()
run = dag.test()
wall = time.perf_counter() - started
iso = lambda d: d.isoformat() if d else None
with create_session() as session:
    row = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run.run_id).one()
    tasks = [{"task_id": ti.task_id, "map_index": ti.map_index, "start": iso(ti.start_date), "end": iso(ti.end_date)}
             for ti in session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id)]
    print(json.dumps({"state": str(row.state), "wall": wall, "start": iso(row.start_date), "end": iso(row.end_date),
                      "tasks": tasks}))
"""


def run_airflow(env: dict[str, str], tmp: Path) -> dict:
    """newsmon_ingest through dag.test() in a fresh Airflow home (its DB migrated first, not timed)."""
    home = tmp / "airflow"
    airflow_env = {**os.environ, **env, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                   "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW__CORE__UNIT_TEST_MODE": "False"}
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=airflow_env, check=True, capture_output=True, timeout=600)
    done = subprocess.run([sys.executable, "-c", AIRFLOW_RUN, str(REPO / "dags")], env=airflow_env,
                          capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"dag.test() failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1])
    result["indexed"] = indexed_count(tmp / "var" / "newsmon.db")
    result["stages"] = stage_runs(tmp / "var" / "newsmon.db")
    return result


def indexed_count(db: Path) -> int:
    """Articles in the search index of the embedded store at db."""
    from sqlalchemy import func, select

    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    with open_engine(f"sqlite:///{db}").connect() as conn:
        return conn.execute(select(func.count()).select_from(articles)
                            .where(articles.c.status == "indexed")).scalar_one()


def stage_runs(db: Path) -> list[dict]:
    """Every stage run newsmon recorded in the state DB at db (the `runs` table), oldest first."""
    from newsmon.store.db import open_engine
    from newsmon.store.runs import recent_runs

    return [{"stage": r.stage, "start": r.started_at.isoformat(), "end": r.finished_at.isoformat()}
            for r in reversed(recent_runs(open_engine(f"sqlite:///{db}"), limit=1000)) if r.finished_at]


# ----------------------------------------------------------------------------------------- per-task breakdown

# The task of newsmon_ingest in which each stage of the runs table runs (upgrade_state_db records none).
STAGE_TASK = {"plan": "plan", "poll": "poll", "index": "cluster_and_index", "alert": "alert"}
DAG_ORDER = ("upgrade_state_db", "plan", "poll", "cluster_and_index", "alert")


def _at(value: str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _union_s(spans: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one of the spans."""
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total


def task_breakdown(tasks: list[dict], stages: list[dict], run_start: str, run_end: str) -> list[str]:
    """Lines: each task's wait, duration and the newsmon stage inside it; then the run split into our stages,
    the rest of the task time (process start, DAG parse, imports, XCom) and time with no task running."""
    start, end = _at(run_start), _at(run_end)
    ran = sorted((t for t in tasks if t["start"] and t["end"]),
                 key=lambda t: (_at(t["start"]), DAG_ORDER.index(t["task_id"]) if t["task_id"] in DAG_ORDER else 9))
    spans = [(_at(s["start"]), _at(s["end"]), s["stage"]) for s in stages]
    ours: list[tuple[datetime, datetime]] = []
    lines = [f"  {'task':22s} {'waited':>8s} {'duration':>9s} {'our stage':>10s} {'rest of the task':>17s}"]
    for task in ran:
        t0, t1 = _at(task["start"]), _at(task["end"])
        inside = [(a, b) for a, b, name in spans if STAGE_TASK.get(name) == task["task_id"] and a >= t0 and b <= t1]
        ours += inside
        ended_before = [_at(o["end"]) for o in ran if _at(o["end"]) <= t0]
        waited = (t0 - max([start, *ended_before])).total_seconds()
        stage_s = _union_s(inside)
        label = task["task_id"] + (f"[{task['map_index']}]" if task["map_index"] >= 0 else "")
        lines.append(f"  {label:22s} {waited:7.2f}s {(t1 - t0).total_seconds():8.2f}s "
                     + (f"{stage_s:9.2f}s" if inside else f"{'-':>10s}")
                     + f" {(t1 - t0).total_seconds() - stage_s:16.2f}s")
    total = (end - start).total_seconds()
    in_tasks = _union_s([(_at(t["start"]), _at(t["end"])) for t in ran])
    our_s = _union_s(ours)
    lines.append(f"  run {total:.2f} s (Airflow's start to end): our stages {our_s:.2f} s ({100 * our_s / total:.0f} %), "
                 f"the rest of the tasks' time (task start, DAG parse, imports, the schema check, XCom) "
                 f"{in_tasks - our_s:.2f} s ({100 * (in_tasks - our_s) / total:.0f} %), no task running "
                 f"(scheduling, queueing) {total - in_tasks:.2f} s ({100 * (total - in_tasks) / total:.0f} %)")
    return lines


# ----------------------------------------------------------------------------------------- report

def report(n: int, workers: int, hosts: int, bare: list[tuple[float, float]], bare_rss: dict[int, float],
           got: dict) -> None:
    bare_wall = statistics.mean(w for w, _ in bare)
    bare_cpu = statistics.mean(c for _, c in bare)
    print(f"pages: {n} on {hosts} hosts; load average {os.getloadavg()[0]:.2f}")
    print(f"bare trafilatura.extract, {workers} processes: " + ", ".join(f"{n / w:.1f}" for w, _ in bare)
          + f" pages/s (before, after); {1000 * bare_cpu / n:.1f} ms CPU/page; peak RSS per process "
          + ", ".join(f"{v:.0f}" for v in sorted(bare_rss.values())) + " MB")
    wall = got["wall"]
    print(f"newsmon full pipeline, {workers} extraction workers: {n / wall:.1f} pages/s ({wall:.2f} s); "
          f"{1000 * got['cpu'] / n:.1f} ms CPU/page (all processes); peak RSS per worker "
          + (", ".join(f"{v:.0f}" for v in sorted(got["peaks"].values())) or "-") + f" MB; "
          f"main process {got['main_rss_mb']:.0f} MB")
    print(f"ratio pipeline/bare pages/s: {bare_wall / wall:.2f}   (CPU: {bare_cpu / got['cpu']:.2f})")
    print(f"indexed: {got['index'].get('indexed', 0)}, staged: {got['poll'].get('staged', 0)}, "
          f"skipped: {got['poll'].get('skipped', 0)} {got['poll'].get('skipped_reasons', {})}, "
          f"alerts sent: {got['alerts'].get('sent', 0)}")
    print("where the pipeline's time goes:")
    for name, (w, c) in got["stages"].items():
        print(f"  {name:18s} {w:6.2f} s wall  {1000 * w / n:6.1f} ms/page   main-process CPU {1000 * c / n:6.1f} ms/page")
    workers_cpu = got["cpu"] - got["main_cpu"]
    print(f"  CPU: main process {1000 * got['main_cpu'] / n:.1f} ms/page (fetch threads, state DB, pickling, "
          f"index, alerts), workers and their server {1000 * workers_cpu / n:.1f} ms/page "
          f"(bare extraction: {1000 * bare_cpu / n:.1f})")
    cores = max(1, workers)
    print(f"  idle core time: {max(0.0, cores * wall - got['cpu']):.2f} s of {cores * wall:.2f} s "
          f"({100 * max(0.0, 1 - got['cpu'] / (cores * wall)):.0f} %): serial stages, pool start, waits")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--feeds-per-host", type=int, default=2)
    parser.add_argument("--airflow", action="store_true", help="also run newsmon_ingest through dag.test()")
    parser.add_argument("--profile", action="store_true", help="also profile a worker's work by function")
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    parser.add_argument("--corpus", type=Path, default=shared / "corpus" / "extraction")
    args = parser.parse_args()
    pages = load_pages(args.corpus, args.pages)
    n = len(pages)
    now = datetime.now(UTC)
    bare_pool = BarePool(max(1, args.workers))
    bare_pool.run(pages[: 4 * max(1, args.workers)])  # start and warm the processes
    with LoopbackSite(args.hosts) as site, tempfile.TemporaryDirectory(prefix="newsmon-replay-") as tmp:
        feeds_yaml = build_site(site, pages, args.feeds_per_host, now=now)
        bare = [bare_pool.run(pages)]
        got = run_pipeline(pipeline_env(Path(tmp) / "cli", feeds_yaml, args.workers, n), site.pid)
        bare.append(bare_pool.run(pages))
        report(n, args.workers, args.hosts, bare, bare_pool.peak_rss_mb, got)
        print(f"  site process (not counted above): {1000 * site.cpu_s() / n:.1f} ms CPU/page")
        if args.airflow:
            air = run_airflow(pipeline_env(Path(tmp) / "dag", feeds_yaml, args.workers, n), Path(tmp) / "dag")
            bare.append(bare_pool.run(pages))
            bare_wall = statistics.mean(w for w, _ in bare[-2:])
            print(f"Airflow newsmon_ingest via dag.test(): {air['state']}, {air['indexed']} indexed, "
                  f"{n / air['wall']:.1f} pages/s ({air['wall']:.2f} s, whole DAG run); ratio to bare "
                  f"(mean of the runs around it): {bare_wall / air['wall']:.2f}")
            print("dag.test() per task (Airflow's start and end of each task instance, newsmon's stage inside it):")
            print("\n".join(task_breakdown(air["tasks"], air["stages"], air["start"], air["end"])))
    bare_pool.close()
    if args.profile:
        profile_workers(pages, now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
