"""scripts/run_airflow.sh (`make run`): where Airflow listens, read back from Airflow's own config, and a busy port refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_airflow.sh"
VENV = Path(sys.executable).parent.parent


def airflow_config(tmp_path: Path, section: str, option: str, **env: str) -> str:
    """What Airflow, started by the script with `env` on top of a clean environment, reads for section.option."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSMON_"))}
    result = subprocess.run(
        [str(SCRIPT), "config", "get-value", section, option],
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
