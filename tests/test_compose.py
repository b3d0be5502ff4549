"""docker-compose.yml: valid against the Compose JSON Schema, security on, secrets only from .env."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SHARED = Path(os.environ.get("NEWSMON_SHARED_DIR") or ROOT.parent / "shared")
SCHEMA = SHARED / "reference" / "compose-spec.json"
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_compose_file_validates_against_the_compose_specification_schema() -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"Compose JSON Schema not found at {SCHEMA}: set NEWSMON_SHARED_DIR to the shared notes")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_the_schema_check_would_catch_a_misspelt_key() -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"Compose JSON Schema not found at {SCHEMA}")
    broken = compose()
    broken["services"]["kibana"]["healthcheck"]["intervall"] = "10s"
    assert not Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).is_valid(broken)


def test_elasticsearch_9_runs_with_security_on_and_a_data_volume() -> None:
    es = compose()["services"]["elasticsearch"]
    assert re.match(r"docker\.elastic\.co/elasticsearch/elasticsearch:\$\{STACK_VERSION:-9\.", es["image"])
    assert env_example()["STACK_VERSION"].startswith("9.")
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert any(v.startswith("esdata:") for v in es["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in es["ports"])


def test_kibana_waits_for_the_setup_service_that_sets_the_kibana_system_password() -> None:
    services = compose()["services"]
    setup, kibana = services["setup"], services["kibana"]
    assert "/_security/user/kibana_system/_password" in " ".join(setup["command"])
    assert kibana["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert kibana["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["environment"]["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_PASSWORD:?")


def test_long_running_services_have_healthchecks_and_volumes_are_declared() -> None:
    spec = compose()
    for name in ("elasticsearch", "kibana"):
        assert spec["services"][name]["healthcheck"]["test"], name
    used = {v.split(":")[0] for s in spec["services"].values() for v in s.get("volumes", [])}
    assert used <= set(spec["volumes"])


def test_every_variable_the_compose_file_uses_is_in_env_example_and_no_secret_is_in_the_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert set(VARIABLE.findall(text)) <= set(env_example())
    for key, value in env_example().items():
        if "PASSWORD" in key or "KEY" in key:
            assert value.startswith("change-me"), f"{key} in .env.example must be a placeholder"
            assert value not in text


def test_dot_env_is_ignored_by_git_and_env_example_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files", ".env", ".env.example"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert ".env" not in tracked and ".env.example" in tracked
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be listed in .gitignore"
