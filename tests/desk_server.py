"""The desk served for tests: alone on a loopback uvicorn (sign-in replaced), or inside a real `airflow api-server`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from newsmon.app.desk.auth import airflow_user, may_retry
from newsmon.app.desk.web import create_app
from newsmon.core.settings import Settings

BIN = Path(sys.executable).parent
PASSWORD = "desk-test-password"  # written before Airflow starts: the simple auth manager keeps passwords it finds
USERS = "admin:admin,reader:viewer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reader:
    """Who the desk-alone server thinks is signed in; `may_retry` as a USER role (or above) would."""

    name: str = "admin"
    may_retry: bool = True

    def get_name(self) -> str:
        return self.name


@dataclass
class DeskAlone:
    """The desk app on its own uvicorn thread. Set `reader` to None to be signed out."""

    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread
    reader: Reader | None = field(default_factory=Reader)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_desk(settings: Settings, clock: Callable[[], datetime]) -> DeskAlone:
    app = create_app(settings=settings, clock=clock, login_url=lambda back: f"/auth/login?next={back}")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    served = DeskAlone(f"http://127.0.0.1:{port}", settings, server, thread)
    app.dependency_overrides[airflow_user] = lambda: served.reader
    app.dependency_overrides[may_retry] = lambda: bool(served.reader and served.reader.may_retry)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the desk did not start on {served.url}")
        time.sleep(0.02)
    return served


@dataclass
class AirflowDesk:
    """A real `airflow api-server` (its own AIRFLOW_HOME) whose newsmon plugin serves the desk at /newsmon/."""

    url: str
    home: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def password(self, user: str) -> str:
        return json.loads((self.home / "passwords.json").read_text())[user]

    def token(self, user: str = "admin") -> str:
        """A JWT from Airflow's own login endpoint (what the UI's form gets)."""
        reply = httpx.post(f"{self.url}/auth/token", json={"username": user, "password": self.password(user)})
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    def log(self) -> str:
        return (self.home / "api-server.log").read_text(errors="replace")[-4000:]


def airflow_env(home: Path, port: int, settings: Settings) -> dict[str, str]:
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    (home / "dags").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=USERS,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        NEWSMON_HOME=str(settings.home),
        NEWSMON_CONFIG_DIR=str(settings.config_path),
        NEWSMON_STATE_DIR=str(settings.state_path),
        PATH=f"{BIN}:{os.environ['PATH']}",
    )
    return env


def start_airflow(home: Path, settings: Settings, timeout_s: float = 180) -> AirflowDesk:
    """`airflow db migrate`, then `airflow api-server` with one worker on a free loopback port; waits for health."""
    port = free_port()
    env = airflow_env(home, port, settings)
    with (home / "api-server.log").open("wb") as log:
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, stdout=log,
                       stderr=subprocess.STDOUT, timeout=timeout_s)
        proc = subprocess.Popen([str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    served = AirflowDesk(f"http://127.0.0.1:{port}", home, proc)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with {proc.returncode}:\n{served.log()}")
        try:
            if httpx.get(f"{served.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    served.stop()
    raise RuntimeError(f"airflow api-server did not answer on {served.url} within {timeout_s} s:\n{served.log()}")


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=30, **kwargs)
