"""Airflow standalone in start-up order: the api-server answers before the scheduler can start a task.

`airflow standalone` starts its four components at once. The scheduler is ready seconds before the
api-server, so the first tasks it queues cannot reach the execution API; the task SDK gives up after a
few quick retries and the attempt fails. Here the database is migrated and the HTTP pool set first,
then the api-server starts, and only once /api/v2/monitor/health answers do the scheduler, the
dag-processor and the triggerer follow. Ctrl-C or SIGTERM stops them all.

Run by scripts/run_airflow.sh (`make run`) with the environment it sets; scripts/smoke.py runs that.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from newsmon.core.settings import load_settings

# The Airflow pool every task that makes outbound HTTP uses (dags/*.py name it in their `pool=`).
HTTP_POOL = "newsmon_http"
HTTP_POOL_DESCRIPTION = "newsmon: tasks that make outbound HTTP (feeds, pages, alert delivery), across all DAGs"
AFTER_API_SERVER = ("scheduler", "dag-processor", "triggerer")
HEALTH_TIMEOUT_S = 180.0  # a cold start on a busy 2-core machine takes 20-40 s
STOP_TIMEOUT_S = 30.0
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class StackError(RuntimeError):
    """A component could not start or stopped by itself."""


def api_base_url(env: dict[str, str]) -> str:
    """The api-server's base URL, from the execution API URL that tasks use (so both agree)."""
    url = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].rstrip("/")
    return url.removesuffix("/execution")


class Stack:
    """The Airflow components as child processes, their output prefixed by name on one stream."""

    def __init__(self, env: dict[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        self.airflow = str(Path(sys.executable).with_name("airflow"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._one_shots: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:13} | {line}\n")
            self.out.flush()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        # A process group of its own: Ctrl-C reaches only this script, which then stops each component with
        # one SIGTERM (a second signal during Airflow's graceful exit leaves the scheduler hanging).
        proc = subprocess.Popen([self.airflow, *args], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, process_group=0)
        pump = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return proc

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.say(name, raw.decode("utf-8", "replace").rstrip())

    def run_once(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start a one-shot Airflow command; `finish` waits for it."""
        proc = self._spawn(name, *args)
        self._one_shots.append(proc)
        return proc

    def finish(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        if proc.wait() != 0:
            raise StackError(f"`airflow {name}` exited with status {proc.returncode}; its output is above")

    def start(self, name: str) -> None:
        self.say("newsmon", f"starting the {name}")
        self.procs[name] = self._spawn(name, name)

    def check_running(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"the Airflow {name} stopped by itself (exit status {proc.returncode}); its output is above")

    def wait_healthy(self, components: tuple[str, ...], timeout_s: float = HEALTH_TIMEOUT_S) -> dict:
        """Poll /api/v2/monitor/health until the metadatabase and `components` report healthy."""
        url = api_base_url(self.env) + "/api/v2/monitor/health"
        deadline = time.monotonic() + timeout_s
        health: dict = {}
        while time.monotonic() < deadline:
            self.check_running()
            try:
                health = httpx.get(url, timeout=5).json()
            except (httpx.HTTPError, ValueError):
                health = {}  # not listening yet, or not answering JSON yet
            wanted = ("metadatabase", *(c.replace("-", "_") for c in components))
            if health and all((health.get(c) or {}).get("status") == "healthy" for c in wanted):
                return health
            time.sleep(0.5)
        raise StackError(f"{url} did not report {', '.join(('metadatabase', *components))} healthy within "
                         f"{timeout_s:.0f} s (last answer: {health or 'none'}); the components' output is above")

    def stop(self) -> None:
        """Stop the scheduler, dag-processor and triggerer; the api-server once the scheduler is gone.

        Tasks the scheduler lets finish still report to the api-server. Each component gets one SIGTERM
        and STOP_TIMEOUT_S to exit, then SIGKILL. Whatever is left afterwards (a task process a
        component had started) is one of our descendants and is killed too.
        """
        for proc in self._one_shots:
            _kill_group(proc.pid)
        signalled_at = {name: self._terminate(name) for name in AFTER_API_SERVER if name in self.procs}
        if "scheduler" in signalled_at:
            self._reap("scheduler", signalled_at.pop("scheduler"))
        if "api-server" in self.procs:
            signalled_at["api-server"] = self._terminate("api-server")
        for name, at in signalled_at.items():
            self._reap(name, at)
        kill_descendants()
        for pump in self._pumps:
            pump.join(timeout=5)

    def _terminate(self, name: str) -> float:
        if self.procs[name].poll() is None:
            self.procs[name].send_signal(signal.SIGTERM)
        return time.monotonic()

    def _reap(self, name: str, signalled_at: float) -> None:
        proc = self.procs[name]
        try:
            proc.wait(max(0.1, signalled_at + STOP_TIMEOUT_S - time.monotonic()))
            self.say("newsmon", f"the {name} stopped after {time.monotonic() - signalled_at:.1f} s")
        except subprocess.TimeoutExpired:
            self.say("newsmon", f"the {name} did not stop within {STOP_TIMEOUT_S:.0f} s; killing it")
        _kill_group(proc.pid)
        proc.wait()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is empty: everything in it has exited


def become_subreaper() -> None:
    """Adopt our descendants' orphans (Linux), so every process started under us stays findable and killable.

    A task process sits in a process group of its own, and its parents may exit before it does.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def descendants(pid: int) -> list[int]:
    """Every living process below `pid`, read from /proc (children before their own children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants(keep: Collection[int] = ()) -> list[int]:
    """SIGKILL every process still running below this one (but those in `keep`) and reap it; returns their pids."""
    left = [pid for pid in descendants(os.getpid()) if pid not in keep]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in left:
        try:
            os.waitpid(pid, 0)  # adopted orphans are ours to reap
        except ChildProcessError:
            pass  # not our child: its own parent (also killed) was
    return left


def refuse_a_busy_port(env: dict[str, str]) -> None:
    """Fail before starting when something already listens where the api-server will.

    The health check would otherwise see that other server (another Airflow, often) and report ready,
    and our tasks would report to it.
    """
    url = urlsplit(api_base_url(env))
    try:
        with socket.create_connection((url.hostname, url.port or 80), timeout=2):
            pass
    except OSError:
        return
    raise StackError(f"something already listens on {url.hostname}:{url.port} (another Airflow?); "
                     "stop it or choose another port: AIRFLOW__API__PORT=8090 make run")


def login_hint(env: dict[str, str]) -> str:
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    if passwords.is_file():
        return f"login: {passwords.read_text(encoding='utf-8').strip()} (from {passwords})"
    return "login: see [core] simple_auth_manager_passwords_file"


def run(stack: Stack) -> None:
    """Start everything in order and keep it running until a signal or a component stops."""
    started = time.monotonic()
    refuse_a_busy_port(stack.env)
    stack.finish("db migrate", stack.run_once("db migrate", "db", "migrate"))
    # The pool must exist before the scheduler meets a task that names it: such a task is never scheduled.
    pool = stack.run_once("pools set", "pools", "set", HTTP_POOL, str(load_settings().http_pool_slots), HTTP_POOL_DESCRIPTION)
    stack.start("api-server")
    stack.finish("pools set", pool)
    stack.wait_healthy(())
    stack.say("newsmon", f"the api-server answers after {time.monotonic() - started:.0f} s; starting the rest")
    for name in AFTER_API_SERVER:
        stack.start(name)
    stack.wait_healthy(tuple(AFTER_API_SERVER))
    stack.say("newsmon", f"Airflow is ready after {time.monotonic() - started:.0f} s at {api_base_url(stack.env)}; "
                         f"{login_hint(stack.env)}")
    while True:
        stack.check_running()
        time.sleep(1)


def main() -> int:
    become_subreaper()
    stack = Stack(dict(os.environ), sys.stdout)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    status = 0
    try:
        run(stack)
    except KeyboardInterrupt:
        stack.say("newsmon", "stopping Airflow")
    except StackError as exc:
        stack.say("newsmon", f"error: {exc}")
        status = 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        stack.stop()
    stack.say("newsmon", "stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
