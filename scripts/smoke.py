"""`make smoke`: a first `make run` from a fresh state dir ingests the demo site, and no task attempt fails.

Starts a loopback feed server with the demo content and an SMTP sink, then scripts/run_airflow.sh (as
`make run` does) on free ports with a temporary AIRFLOW_HOME and store. Waits for
/api/v2/monitor/health, triggers newsmon_ingest through the REST API, waits for it and for the first
scheduled run of every newsmon DAG, and requires every task instance to have succeeded on its first
try. Then `newsmon search` must find the demo articles. Everything it started is stopped, also on
failure and Ctrl-C; any failure exits 1 with the reason and the tail of the logs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

import httpx
from airflow_stack import become_subreaper, kill_descendants

from newsmon.app.commands.demo import demo_settings
from newsmon.app.demo import content as demo_content
from newsmon.app.demo.fixture_server import FixtureServer
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
DAG_IDS = ("newsmon_ingest", "newsmon_digest_hourly", "newsmon_digest_daily", "newsmon_maintenance")
POOL_SLOTS = 3  # not the default 4, so the check below shows the setting reaches the pool
START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 90.0  # run_airflow.sh gives each of its two stop steps up to 30 s
TERMINAL = {"success", "failed"}
# A component's log line: "scheduler     | 2026-12-03T09:10:57.396148Z [info ...] ..."
LOG_LINE = re.compile(r"^(?P<component>[\w-]+)\s*\| (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (?P<text>.*)")


class SmokeFailure(RuntimeError):
    """What went wrong, in words for the CI log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(state_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    """A clean environment for run_airflow.sh: none of the caller's AIRFLOW_*/NEWSMON_*, `settings` on top,
    state (Airflow's home too) in state_dir, free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    env.update(settings)
    env.update({
        "STATE_DIR": str(state_dir),
        "VENV": os.path.relpath(VENV, ROOT),
        "AIRFLOW__API__PORT": str(free_port()),
        # Other Airflows on this machine keep the default log-server ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    })
    return env


def airflow_env(workdir: Path, settings: Settings) -> dict[str, str]:
    """run_airflow.sh's environment for the smoke: fresh state, the demo config, loopback allowed."""
    return stack_env(settings.state_path, {
        "NEWSMON_HOME": str(workdir),
        "NEWSMON_CONFIG_DIR": str(settings.config_path),
        "NEWSMON_ALLOW_LOOPBACK": "true",
        "NEWSMON_PER_HOST_MIN_INTERVAL_S": str(settings.per_host_min_interval_s),
        "NEWSMON_PER_HOST_CONCURRENCY": str(settings.per_host_concurrency),
        "NEWSMON_HTTP_POOL_SLOTS": str(POOL_SLOTS),
        # The demo's handful of pages would stay in the poll task's own process (a busy feed's 40+ go to
        # extraction workers): here they go to workers too, forked inside a real Airflow task, where the
        # airflow command is the program that started them.
        "NEWSMON_EXTRACT_WORKERS": "2",
        "NEWSMON_EXTRACT_POOL_MIN_PAGES": "2",
    })


class Airflow:
    """scripts/run_airflow.sh in a process group of its own (Ctrl-C reaches only us), its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
        self.home = Path(env["STATE_DIR"]) / "airflow"
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "run_airflow.sh")], env=env, cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     process_group=0)
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def check_running(self) -> None:
        if self.proc.poll() is not None:
            raise SmokeFailure(f"scripts/run_airflow.sh exited with status {self.proc.returncode}")

    def wait(self, what: str, ready: Callable[[], object], timeout_s: float) -> object:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_running()
            try:
                if result := ready():
                    return result
            except httpx.TransportError:
                pass  # not listening yet
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code < 500:
                    raise
            time.sleep(1)
        raise SmokeFailure(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def healthy(self) -> bool:
        health = self.http.get("/api/v2/monitor/health").json()
        return all((health.get(c) or {}).get("status") == "healthy"
                   for c in ("metadatabase", "scheduler", "dag_processor", "triggerer"))

    def log_in(self) -> None:
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        answer = self.http.post("/auth/token", json={"username": "admin", "password": passwords["admin"]})
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def get(self, path: str, **params: object) -> dict:
        for _ in range(4):
            answer = self.http.get(f"/api/v2{path}", params=params)
            if answer.status_code < 500:
                break
            time.sleep(2)  # Airflow's SQLite metadata DB answers "database is locked" under load
        answer.raise_for_status()
        return answer.json()

    def dag_parsed(self, dag_id: str) -> bool:
        return self.http.get(f"/api/v2/dags/{dag_id}").status_code == 200

    def trigger(self, dag_id: str, prefix: str = "smoke", run_after: datetime | None = None) -> str:
        """Trigger a run with our own run id, so asking again after a 5xx cannot make a second run.

        An earlier `run_after` puts it before a scheduled run waiting for the same max_active_runs slot."""
        run_id = f"{prefix}__{datetime.now().strftime('%Y%m%dT%H%M%S')}"
        body = {"dag_run_id": run_id, "logical_date": None} | ({"run_after": run_after.isoformat()} if run_after else {})
        for attempt in range(5):
            answer = self.http.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
            if answer.status_code < 300 or (answer.status_code == 409 and attempt > 0):
                return run_id  # a 409 after a 5xx: the first request did create it
            if answer.status_code < 500:
                break
            time.sleep(2)
        raise SmokeFailure(f"triggering {dag_id} answered {answer.status_code}: {answer.text}")

    def unpause(self, dag_id: str) -> None:
        answer = self.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        answer.raise_for_status()

    def runs(self) -> list[dict]:
        return self.get("/dags/~/dagRuns", limit=100)["dag_runs"]

    def task_instances(self) -> list[dict]:
        return self.get("/dags/~/dagRuns/~/taskInstances", limit=1000)["task_instances"]

    def stop(self, keep: Collection[int] = ()) -> list[int]:
        """SIGTERM to run_airflow.sh, which stops every component in order; returns the pids it left running.

        Processes of ours in `keep` (started before Airflow, still needed) are neither killed nor counted."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print(f"smoke: Airflow did not stop within {STOP_TIMEOUT_S:.0f} s; killing it", flush=True)
        left = kill_descendants(keep)  # as a subreaper we also see what the stopped processes orphaned
        self.proc.wait()
        self._log.close()
        return left


def check_first_tries(task_instances: list[dict]) -> None:
    """Every task instance ran once and succeeded (a poll that had no due feed to expand over never runs)."""
    bad = []
    for ti in task_instances:
        empty_expansion = (ti["task_id"], ti["map_index"], ti["state"], ti["try_number"]) == ("poll", -1, "skipped", 0)
        if not empty_expansion and (ti["try_number"], ti["state"]) != (1, "success"):
            bad.append(f"{ti['dag_id']}.{ti['task_id']}[{ti['map_index']}] of {ti['dag_run_id']}: "
                       f"state {ti['state']}, try {ti['try_number']}")
    if bad:
        raise SmokeFailure("task instances that did not succeed on their first try:\n  " + "\n  ".join(bad))


def first_line_at(log_path: Path, component: str, text: str) -> datetime:
    for line in log_path.read_text(errors="replace").splitlines():
        m = LOG_LINE.match(line)
        if m and m["component"] == component and text in m["text"]:
            return datetime.fromisoformat(m["at"])
    raise SmokeFailure(f"no {component} line with {text!r} in {log_path}")


def check_no_task_queued_before_the_api_server_listened(log_path: Path) -> tuple[datetime, datetime]:
    """The cause of failed first attempts: tasks the scheduler queued while the execution API was not up yet."""
    api_up = first_line_at(log_path, "api-server", "Uvicorn running on")
    first_queued = first_line_at(log_path, "scheduler", "Trying to enqueue tasks")
    if first_queued < api_up:
        raise SmokeFailure(f"the scheduler queued its first task at {first_queued:%H:%M:%S.%f}, before the api-server "
                           f"listened ({api_up:%H:%M:%S.%f}): those tasks cannot report to the execution API")
    return api_up, first_queued


def search(env: dict[str, str], query: str) -> list[dict]:
    result = subprocess.run([str(VENV / "bin" / "newsmon"), "search", query, "--json"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise SmokeFailure(f"`newsmon search {query}` exited {result.returncode}: {result.stderr.strip()}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def smoke(airflow: Airflow, env: dict[str, str], smtp: SmtpSink, started: float) -> None:
    def step(message: str) -> None:
        print(f"smoke: {time.monotonic() - started:5.1f} s  {message}", flush=True)

    step(f"Airflow starting at {airflow.base_url} (log: {airflow.log_path})")
    airflow.wait("/api/v2/monitor/health to report every component healthy", airflow.healthy, START_TIMEOUT_S)
    step("healthy: metadatabase, scheduler, dag-processor, triggerer")
    airflow.log_in()
    pool = airflow.get("/pools/newsmon_http")
    if pool["slots"] != POOL_SLOTS:
        raise SmokeFailure(f"the pool newsmon_http has {pool['slots']} slots, not NEWSMON_HTTP_POOL_SLOTS={POOL_SLOTS}")
    for dag_id in DAG_IDS:
        airflow.wait(f"the DAG {dag_id} to be parsed", lambda d=dag_id: airflow.dag_parsed(d), START_TIMEOUT_S)
    run_id = airflow.trigger("newsmon_ingest")
    step(f"triggered newsmon_ingest: {run_id}")

    def settled() -> list[dict] | None:
        runs = airflow.runs()
        ours = [r for r in runs if r["dag_run_id"] == run_id]
        if ours and ours[0]["state"] == "failed":
            raise SmokeFailure(f"newsmon_ingest run {run_id} failed")
        first_runs = {r["dag_id"] for r in runs}
        done = ours and ours[0]["state"] == "success" and all(r["state"] in TERMINAL for r in runs)
        return runs if done and set(DAG_IDS) <= first_runs else None

    runs = airflow.wait(f"newsmon_ingest run {run_id} and the first run of every newsmon DAG to finish",
                        settled, RUN_TIMEOUT_S)
    step("finished: " + ", ".join(f"{r['dag_id']} {r['run_type']} {r['state']}" for r in runs))
    if failed := [r for r in runs if r["state"] != "success"]:
        raise SmokeFailure("runs that failed: " + ", ".join(f"{r['dag_id']} {r['dag_run_id']}" for r in failed))
    task_instances = airflow.task_instances()
    check_first_tries(task_instances)
    step(f"all {len(task_instances)} task instances succeeded on their first try")
    api_up, first_queued = check_no_task_queued_before_the_api_server_listened(airflow.log_path)
    step(f"the api-server listened at {api_up:%H:%M:%S.%f}, the first task was queued at {first_queued:%H:%M:%S.%f}")
    hits = search(env, "salcininkai")
    if not hits:
        raise SmokeFailure("`newsmon search salcininkai` found nothing after the ingest run")
    step(f"newsmon search salcininkai: {len(hits)} hit(s), e.g. {hits[0]['title']!r}")
    if not smtp.messages:
        raise SmokeFailure("no alert reached the SMTP server although the demo's checkpoint rule matches")
    step(f"alerts delivered over SMTP: {len(smtp.messages)}")


def tail(path: Path, lines: int) -> str:
    if not path.is_file():
        return f"({path} does not exist)"
    return "\n".join(line[:400] for line in path.read_text(errors="replace").splitlines()[-lines:])


def report_failure(airflow: Airflow, reason: str) -> None:
    print(f"\nsmoke: FAILED: {reason}\n\n--- last lines of {airflow.log_path}:\n{tail(airflow.log_path, 60)}")
    for task_log in sorted((airflow.home / "logs").glob("dag_id=*/**/attempt=*.log"))[-40:]:
        text = task_log.read_text(errors="replace")
        if '"level":"error"' in text or "Traceback" in text:
            print(f"\n--- {task_log}:\n{tail(task_log, 25)}")


def interrupt(signum: int, frame: object) -> None:
    # SIGTERM (a cancelled CI job) stops everything the same way Ctrl-C does.
    raise KeyboardInterrupt


def main() -> int:
    started = time.monotonic()
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="newsmon-smoke-"))
    signal.signal(signal.SIGTERM, interrupt)
    status = 1
    with FixtureServer() as server, SmtpSink() as smtp:
        server.routes.update(demo_content.build_routes(server.base_url))
        settings = demo_settings(load_settings(), workdir, base_url=server.base_url, smtp_port=smtp.port)
        env = airflow_env(workdir, settings)
        airflow = Airflow(env, workdir / "airflow.log")
        try:
            smoke(airflow, env, smtp, started)
            status = 0
        except SmokeFailure as exc:
            report_failure(airflow, str(exc))
        except httpx.HTTPError as exc:
            report_failure(airflow, f"the Airflow REST API failed: {exc}")
        except KeyboardInterrupt:
            print("\nsmoke: interrupted", flush=True)
            status = 130
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_IGN)  # let the stop finish
            left = airflow.stop()
    if left:
        print(f"smoke: FAILED: run_airflow.sh left processes running after its stop (killed now): {left}")
        status = status or 1
    if status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"smoke: passed in {time.monotonic() - started:.0f} s, including the stop", flush=True)
    else:
        print(f"smoke: state, config and logs kept in {workdir}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
