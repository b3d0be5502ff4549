"""scripts/run_airflow.sh (`make run`): where Airflow listens, read back from Airflow's own config, and a busy port refused."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_airflow.sh"
VENV = Path(sys.executable).parent.parent


def airflow_config(tmp_path: Path, section: str, option: str, **env: str) -> str:
    """What Airflow, started by the script with `env` on top of a clean environment, reads for section.option."""
    return airflow_config_output(tmp_path, "config", "get-value", section, option, **env)


def airflow_config_output(tmp_path: Path, *args: str, **env: str) -> str:
    """What `scripts/run_airflow.sh ARGS` (an Airflow command in make run's environment) prints."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    result = subprocess.run(
        [str(SCRIPT), *args],
        env={**clean, "STATE_DIR": str(tmp_path), "VENV": os.path.relpath(VENV, ROOT), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_make_run_serves_the_airflow_ui_on_loopback_only_by_default(tmp_path):
    assert airflow_config(tmp_path, "api", "host") == "127.0.0.1"


def test_airflow_api_host_exposes_the_ui_when_the_operator_asks(tmp_path):
    assert airflow_config(tmp_path, "api", "host", AIRFLOW__API__HOST="0.0.0.0") == "0.0.0.0"


def test_tasks_report_to_the_api_server_on_the_port_it_really_listens_on(tmp_path):
    url = airflow_config(tmp_path, "core", "execution_api_server_url", AIRFLOW__API__PORT="8193")
    assert url == "http://127.0.0.1:8193/execution/"


def test_make_run_schedules_the_dags_from_the_start(tmp_path):
    assert airflow_config(tmp_path, "core", "dags_are_paused_at_creation") == "False"


def test_dags_start_paused_when_the_operator_asks(tmp_path):
    # bench/bench_replay_airflow.py does, so that the one run it triggers is the only one.
    paused = airflow_config(tmp_path, "core", "dags_are_paused_at_creation", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")
    assert paused == "True"


def banner(tmp_path: Path, **env: str) -> str:
    """What `make run` prints before Airflow starts, with stand-ins for the commands it runs that only say how they were called."""
    fake = tmp_path / "venv" / "bin"
    fake.mkdir(parents=True)
    for command in ("airflow", "newsmon", "python"):
        (fake / command).write_text(f"#!/bin/sh\necho \"{command} $*\"\n")
        (fake / command).chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    out = tmp_path / "out.txt"
    # Into a file, in its own session: the script leaves a helper waiting 25 s to print the login, which
    # would hold a pipe open; it is ended with the session once the script itself has finished.
    with out.open("w") as sink:
        script = subprocess.Popen([str(SCRIPT)], env={**clean, "STATE_DIR": str(tmp_path / "var"),
                                                      "VENV": os.path.relpath(fake.parent, ROOT), **env},
                                  stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert script.wait(60) == 0, out.read_text()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(script.pid, signal.SIGTERM)
    return out.read_text()


def test_make_run_prints_the_desks_address_next_to_the_airflow_ui(tmp_path):
    lines = banner(tmp_path, AIRFLOW__API__PORT="8193").splitlines()
    ui = next(line for line in lines if line.strip().startswith("UI:"))
    desk = next(line for line in lines if line.strip().startswith("desk:"))
    assert "http://127.0.0.1:8193 " in ui and "http://127.0.0.1:8193/newsmon/ " in desk
    assert lines.index(desk) == lines.index(ui) + 1 and lines[-1].endswith("scripts/airflow_stack.py")


def test_the_airflow_that_make_run_starts_loads_the_desk_plugin(tmp_path):
    plugins = json.loads(airflow_config_output(tmp_path, "plugins", "--output", "json"))
    (desk,) = [p for p in plugins if p["name"] == "newsmon_desk"]
    assert desk["fastapi_apps"][0]["url_prefix"] == "/newsmon" and desk["source"].startswith("newsmon==")


def test_make_run_refuses_to_start_when_something_already_listens_on_its_port(tmp_path):
    # Otherwise the start-up health check would take that server (often another Airflow) for ours.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(SCRIPT)], env={**clean, "STATE_DIR": str(tmp_path), "VENV": os.path.relpath(VENV, ROOT),
                                "AIRFLOW__API__PORT": str(port)},
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert result.returncode == 1
    assert f"something already listens on 127.0.0.1:{port}" in result.stdout
    assert "AIRFLOW__API__PORT=" in result.stdout
    assert not (tmp_path / "airflow" / "airflow.db").exists(), "nothing of Airflow may start"
