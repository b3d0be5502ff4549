"""docker-compose.yml and the Dockerfile: valid, every service healthy-gated, secrets only from .env, real setting names."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from es_recorder import EsRecorder
from jsonschema import Draft7Validator
from shared_notes import require, shared_dir

from newsmon.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
POSTGRES_INIT = ROOT / "compose" / "postgres-init.sh"
CHECK_ENV = ROOT / "compose" / "check-env.sh"
ES_SETUP = ROOT / "compose" / "es-setup.sh"
SCHEMA = shared_dir() / "reference" / "compose-spec.json"
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
SUBSTITUTION = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|API_KEY|ENCRYPTION", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"://([^:/@\s]+):([^@\s]+)@")

AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
EXPECTED_IMAGES = {
    "elasticsearch": r"docker\.elastic\.co/elasticsearch/elasticsearch:\$\{STACK_VERSION:-9\.",
    "setup": r"docker\.elastic\.co/elasticsearch/elasticsearch:\$\{STACK_VERSION:-9\.",
    "kibana-setup": r"docker\.elastic\.co/elasticsearch/elasticsearch:\$\{STACK_VERSION:-9\.",
    "check-env": r"postgres:\$\{POSTGRES_VERSION:-1[5-9]\}",
    "kibana": r"docker\.elastic\.co/kibana/kibana:\$\{STACK_VERSION:-9\.",
    "postgres": r"postgres:\$\{POSTGRES_VERSION:-1[5-9]\}",
    "mailpit": r"axllent/mailpit:\$\{MAILPIT_VERSION:-v1\.",
    **dict.fromkeys((*AIRFLOW_SERVICES, "airflow-init", "kibana-import"), r"\$\{NEWSMON_IMAGE:-newsmon-airflow:"),
}
ONE_SHOT = {"check-env", "setup", "kibana-setup", "airflow-init", "kibana-import"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def interpolate(value: str, env: dict[str, str]) -> str:
    """What compose makes of ${...} in `value` with `env` as the .env file."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in env and (env[name] or ":" not in op):
            return env[name]
        if op.endswith("-"):
            return arg
        raise KeyError(f"${{{name}}} is unset: {arg or 'no default'}")
    return SUBSTITUTION.sub(one, value).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


@cache
def airflow_config_options() -> set[tuple[str, str]]:
    import airflow.config_templates

    template = Path(airflow.config_templates.__file__).with_name("config.yml")
    sections = yaml.safe_load(template.read_text(encoding="utf-8"))
    return {(section, option) for section, body in sections.items() for option in (body.get("options") or {})}


def literal_secrets(spec: dict[str, Any]) -> list[str]:
    """Secret-looking environment values and URL passwords that are not ${VAR} references."""
    found = []
    for name, service in spec["services"].items():
        for key, value in environment(service).items():
            masked = SUBSTITUTION.sub("${}", value)
            if SECRET_NAME.search(key) and not key.endswith(("_FILE", "_USERS")) and masked != "${}":
                found.append(f"{name}: {key}")
            if any(password != "${}" for _user, password in URL_CREDENTIALS.findall(masked)):
                found.append(f"{name}: password in the URL of {key}")
    return found


def newsmon_services() -> dict[str, dict[str, Any]]:
    """The containers that run newsmon's image (and read NEWSMON_* settings)."""
    return {name: s for name, s in services().items() if s["image"].startswith("${NEWSMON_IMAGE")}


# ---------------------------------------------------------------- the file as a whole


def test_compose_file_validates_against_the_compose_specification_schema() -> None:
    require(SCHEMA, "the Compose JSON Schema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_the_schema_check_would_catch_a_misspelt_key() -> None:
    require(SCHEMA, "the Compose JSON Schema")
    broken = compose()
    broken["services"]["airflow-scheduler"]["healthcheck"]["intervall"] = "10s"
    assert not Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).is_valid(broken)


def test_check_jsonschema_with_its_builtin_compose_schema_accepts_the_file() -> None:
    tool = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(tool), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_whole_stack_is_there() -> None:
    assert set(EXPECTED_IMAGES) <= set(services())


def test_every_service_runs_the_expected_image() -> None:
    for name, service in services().items():
        assert name in EXPECTED_IMAGES, f"{name}: add its expected image to this test"
        assert re.match(EXPECTED_IMAGES[name], service["image"]), f"{name}: {service['image']}"
    assert all(services()[name]["build"] == "." for name in AIRFLOW_SERVICES)
    assert env_example()["STACK_VERSION"].startswith("9.")


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy() -> None:
    for name, service in services().items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name} runs once and must not be restarted"
            continue
        assert service.get("restart") == "unless-stopped", name
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"


def test_every_dependency_exists_and_healthy_means_it_has_a_healthcheck() -> None:
    spec = services()
    for name, service in spec.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in spec, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_healthy":
                assert spec[target].get("healthcheck", {}).get("test"), f"{name} waits for {target}'s health, which is never checked"
            else:
                assert rule["condition"] == "service_completed_successfully" and target in ONE_SHOT, (name, target)


def test_airflow_waits_for_its_database_and_for_the_init_service() -> None:
    spec = services()
    assert spec["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert spec["airflow-init"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES:
        depends = spec[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    scheduler = spec["airflow-scheduler"]["depends_on"]
    assert {"elasticsearch", "mailpit", "airflow-apiserver"} <= set(scheduler)


def test_named_volumes_are_declared_and_state_survives_in_them() -> None:
    spec = compose()
    used = {v.split(":")[0] for s in spec["services"].values() for v in s.get("volumes", [])
            if not v.startswith((".", "/"))}
    assert used <= set(spec["volumes"])
    mounts = {s: {v.split(":")[1]: v.split(":")[0] for v in spec["services"][s].get("volumes", [])} for s in spec["services"]}
    assert mounts["elasticsearch"]["/usr/share/elasticsearch/data"] == "esdata"
    assert mounts["postgres"]["/var/lib/postgresql/data"] == "pgdata"
    snapshots = services()["elasticsearch"]["environment"]["path.repo"]
    assert mounts["elasticsearch"][snapshots] == "essnapshots", "ES snapshots need path.repo on a volume"
    for name in AIRFLOW_SERVICES:
        assert mounts[name]["/opt/airflow/dags"] == "./dags", name
        assert mounts[name]["/opt/newsmon/config"] == "./config", name


# ---------------------------------------------------------------- secrets


def test_every_variable_the_compose_file_uses_is_in_env_example_and_no_secret_is_in_the_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert set(VARIABLE.findall(text)) <= set(env_example())
    for key, value in env_example().items():
        if SECRET_NAME.search(key) or key.endswith("_KEY"):
            assert value.startswith("change-me"), f"{key} in .env.example must be a placeholder"
            assert value not in text


def test_secrets_reach_the_services_only_as_variables() -> None:
    assert literal_secrets(compose()) == []


def test_the_secret_check_would_catch_a_literal_password_and_a_password_inside_a_url() -> None:
    broken = json.loads(json.dumps(compose()))  # YAML anchors share dicts between services; unshare them
    broken["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] = "hunter2"
    broken["services"]["airflow-scheduler"]["environment"]["NEWSMON_STATE_URL"] = "postgresql+psycopg://newsmon:hunter2@postgres/newsmon"
    assert literal_secrets(broken) == ["postgres: POSTGRES_PASSWORD",
                                       "airflow-scheduler: password in the URL of NEWSMON_STATE_URL"]


def test_the_compose_file_resolves_with_the_example_env_and_fails_loudly_without_it() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    interpolate(text, env_example())
    with pytest.raises(KeyError, match="AIRFLOW_DB_PASSWORD"):
        interpolate(text, {k: v for k, v in env_example().items() if k != "AIRFLOW_DB_PASSWORD"})


def test_dot_env_is_ignored_by_git_and_env_example_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files", ".env", ".env.example"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert ".env" not in tracked and ".env.example" in tracked
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be listed in .gitignore"


# ---------------------------------------------------------------- settings the services read


def test_newsmon_variables_are_real_settings_fields() -> None:
    fields = set(Settings.model_fields)
    assert len(newsmon_services()) == len(AIRFLOW_SERVICES) + 2
    for name, service in newsmon_services().items():
        for key in environment(service):
            if key.startswith("NEWSMON_"):
                assert key.removeprefix("NEWSMON_").lower() in fields, f"{name}: {key} is not a newsmon setting"


def test_airflow_variables_name_options_that_exist_in_airflows_config() -> None:
    options = airflow_config_options()
    seen = 0
    for name, service in services().items():
        for key in environment(service):
            if key.startswith("AIRFLOW__"):
                section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
                assert (section, option) in options, f"{name}: {key} is not an Airflow 3 option"
                seen += 1
    assert seen


def test_the_option_check_would_catch_an_airflow_2_name() -> None:
    assert ("webserver", "secret_key") not in airflow_config_options()  # Airflow 2's name for api.secret_key
    assert ("api", "secret_key") in airflow_config_options()


def test_all_airflow_containers_share_one_database_secret_set_and_reach_the_api_server() -> None:
    spec = services()
    shared = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
              "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__EXECUTOR", "NEWSMON_STATE_URL")
    values = {key: {environment(spec[name])[key] for name in (*AIRFLOW_SERVICES, "airflow-init")} for key in shared}
    assert all(len(v) == 1 for v in values.values()), values
    env = environment(spec["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    # Without it Airflow 3 derives postgresql+asyncpg://, a driver newsmon does not install.
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        "postgresql+psycopg://", "postgresql+psycopg_async://")


def test_newsmon_keeps_its_state_in_its_own_postgres_database_and_mails_through_mailpit() -> None:
    env = environment(services()["airflow-scheduler"])
    assert env["NEWSMON_SEARCH_BACKEND"] == "elasticsearch"
    assert env["NEWSMON_ES_URL"] == "http://elasticsearch:9200"
    assert re.fullmatch(r"postgresql\+psycopg://newsmon:\$\{NEWSMON_DB_PASSWORD:\?[^}]*\}@postgres:5432/newsmon",
                        env["NEWSMON_STATE_URL"])
    assert env["NEWSMON_STATE_URL"].rsplit("/", 1)[1] != env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1]
    assert env["NEWSMON_SMTP_HOST"] == "mailpit"
    mailpit_ports = [p.rsplit(":", 1)[1] for p in services()["mailpit"]["ports"]]
    assert env["NEWSMON_SMTP_PORT"] in mailpit_ports and "8025" in mailpit_ports


def test_the_postgres_init_script_creates_both_users_and_databases_the_urls_name() -> None:
    postgres = services()["postgres"]
    assert f"./compose/{POSTGRES_INIT.name}:/docker-entrypoint-initdb.d/10-newsmon.sh:ro" in postgres["volumes"]
    assert os.access(POSTGRES_INIT, os.X_OK), "the postgres image runs only executable .sh files"
    script = POSTGRES_INIT.read_text(encoding="utf-8")
    for user in ("airflow", "newsmon"):
        assert f"CREATE ROLE {user} LOGIN PASSWORD :'{user}_password';" in script
        assert f"CREATE DATABASE {user} OWNER {user};" in script
    assert {"AIRFLOW_DB_PASSWORD", "NEWSMON_DB_PASSWORD"} <= set(environment(postgres))


def test_airflow_init_migrates_both_dbs_creates_the_login_and_sets_up_elasticsearch() -> None:
    command = " ".join(services()["airflow-init"]["command"])
    for step in ("airflow db migrate", "/opt/airflow/auth/passwords.json", "newsmon db upgrade", "newsmon es setup"):
        assert step in command, step
    apiserver = environment(services()["airflow-apiserver"])
    assert apiserver["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == "/opt/airflow/auth/passwords.json"
    assert "kibana import" in " ".join(services()["kibana-import"]["command"])


# ---------------------------------------------------------------- ports


def test_published_ports_are_loopback_only_and_never_collide() -> None:
    env = env_example()
    published: dict[str, str] = {}
    for name, service in services().items():
        for port in service.get("ports", []):
            host_ip, host_port, _container = interpolate(port, env).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            assert host_port not in published, f"{name} and {published.get(host_port)} both publish {host_port}"
            published[host_port] = name
    assert {"9200", "5601", "8080", "8025", "1025"} <= set(published)


# ---------------------------------------------------------------- the image


def test_the_image_builds_on_the_airflow_release_requirements_pin_and_installs_with_constraints() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    pin = re.search(r"^apache-airflow==(\S+)", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M)
    assert pin, "requirements.txt pins apache-airflow"
    assert f"ARG AIRFLOW_IMAGE=apache/airflow:{pin.group(1)}-python3.11" in dockerfile
    assert "pip install -r requirements.txt -c constraints.txt" in dockerfile
    assert re.search(r'"psycopg\[binary\]==\d+\.\d+\.\d+"', dockerfile)
    assert "pip install --no-deps -e ." in dockerfile
    assert re.search(r"^USER airflow$", dockerfile, re.M) and dockerfile.rstrip().splitlines()[-1].startswith("WORKDIR")


def test_the_image_carries_the_desk_plugin_and_the_api_server_gives_it_newsmons_store_and_config() -> None:
    # The entry point and the desk's files reach the image, and the editable install registers the plugin.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["airflow.plugins"] == {
        "newsmon_desk": "newsmon.app.desk.plugin:NewsmonDeskPlugin"}
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    steps = [dockerfile.index(s) for s in ("COPY --chown=airflow:0 pyproject.toml", "COPY --chown=airflow:0 newsmon ",
                                           "pip install --no-deps -e .")]
    assert steps == sorted(steps)
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    desk = ROOT / "newsmon" / "app" / "desk"
    for path in [p.relative_to(ROOT).as_posix() for p in desk.rglob("*") if p.is_file() and "__pycache__" not in p.parts]:
        prefixes = ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 2)]
        assert not [pat for pat in patterns for prefix in prefixes if fnmatch.fnmatch(prefix, pat)], path
    # The api-server (which mounts the desk) reads the same state DB, index and config as the pipeline.
    api = services()["airflow-apiserver"]
    env = environment(api)
    for name in ("NEWSMON_STATE_URL", "NEWSMON_SEARCH_BACKEND", "NEWSMON_ES_URL", "NEWSMON_CONFIG_DIR"):
        assert env[name] == environment(services()["airflow-scheduler"])[name], name
    assert "./config:/opt/newsmon/config:ro" in api["volumes"]


def test_the_build_context_leaves_secrets_and_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".venv", "var", ".git"} <= ignored


# ---------------------------------------------------------------- placeholders and least privilege


def secret_names() -> set[str]:
    return {key for key in env_example() if SECRET_NAME.search(key) or key.endswith("_KEY")}


def run_check_env(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    names = services()["check-env"]["command"]
    return subprocess.run(["bash", str(CHECK_ENV), *names], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=30, check=False)


def good_secrets() -> dict[str, str]:
    from cryptography.fernet import Fernet

    values = {name: secrets.token_urlsafe(32) for name in secret_names()}
    return {**values, "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode()}


def test_the_stack_refuses_to_start_with_the_placeholders_of_env_example_and_names_each_one() -> None:
    result = run_check_env(env_example())
    assert result.returncode != 0
    refused = set(re.findall(r"^check-env: ([A-Z0-9_]+) in \.env is still the placeholder", result.stderr, re.M))
    assert refused == secret_names()


def test_random_secrets_pass_the_check_and_short_or_odd_ones_are_named() -> None:
    assert run_check_env(good_secrets()).returncode == 0
    bad = {**good_secrets(), "POSTGRES_PASSWORD": "hunter2", "KIBANA_ENCRYPTION_KEY": "a" * 20,
           "NEWSMON_ES_PASSWORD": "has spaces and a quote\" in it", "AIRFLOW_JWT_SECRET": ""}
    result = run_check_env(bad)
    assert result.returncode != 0
    for name, complaint in (("POSTGRES_PASSWORD", "has 7 characters"), ("KIBANA_ENCRYPTION_KEY", "at least 32"),
                            ("NEWSMON_ES_PASSWORD", "contains characters"), ("AIRFLOW_JWT_SECRET", "is not set")):
        assert re.search(rf"^check-env: {name} .*{complaint}", result.stderr, re.M), (name, result.stderr)


def test_nothing_that_keeps_a_password_starts_before_the_placeholder_check() -> None:
    spec = services()
    check = spec["check-env"]
    assert set(check["command"]) == secret_names() == set(environment(check))
    assert f"./compose:{check['entrypoint'][1].rsplit('/', 1)[0]}:ro" in check["volumes"]
    for name in ("elasticsearch", "postgres"):
        assert spec[name]["depends_on"]["check-env"]["condition"] == "service_completed_successfully", name


def test_newsmon_never_talks_to_elasticsearch_or_kibana_as_the_elastic_superuser() -> None:
    for name, service in newsmon_services().items():
        env = environment(service)
        assert env["NEWSMON_ES_USERNAME"] == "newsmon", name
        assert env.get("NEWSMON_KIBANA_USERNAME", env["NEWSMON_ES_USERNAME"]) != "elastic", name
        assert not [k for k, v in env.items() if "ELASTIC_PASSWORD" in v], f"{name} can read the elastic password"
    assert environment(services()["kibana-import"])["NEWSMON_KIBANA_USERNAME"] == "newsmon_kibana"
    host = env_example()
    assert (host["NEWSMON_ES_USERNAME"], host["NEWSMON_KIBANA_USERNAME"]) == ("newsmon", "newsmon_kibana")
    # airflow-init's `newsmon es setup` logs in as `newsmon`, so the setup service must have made it.
    assert services()["airflow-init"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def run_es_setup(mode: str, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ES_SETUP), mode],
        env={"PATH": os.environ["PATH"], "ES_URL": url, "KIBANA_URL": url, "SETUP_RETRY_S": "0", "SETUP_ATTEMPTS": "2",
             **{k: v for k, v in good_secrets().items() if k in environment(services()["setup"])}, **env},
        capture_output=True, text=True, timeout=60, check=False)


def test_the_setup_service_makes_newsmons_role_and_users_with_documented_requests() -> None:
    from test_es_openapi import request_problems, spec

    with EsRecorder() as es:
        es.on("POST", r"/_security/user/kibana_system/_password", (200, {}))
        es.on("PUT", r"/_security/role/newsmon_writer", (200, {"role": {"created": True}}))
        es.on("PUT", r"/_security/user/[a-z_]+", (200, {"created": True}))
        result = run_es_setup("elasticsearch", es.url, NEWSMON_ES_PASSWORD="pipeline-pass-0123456789")
    assert result.returncode == 0, result.stderr
    assert all(r.headers["authorization"].startswith("Basic ") for r in es.requests)
    role = es.sent("PUT", "/_security/role/newsmon_writer")[0]
    assert request_problems(role) == []
    schemas = spec()["components"]["schemas"]
    documented = {kind: set(schemas[f"security._types.{kind}"]["anyOf"][0]["enum"])
                  for kind in ("ClusterPrivilege", "IndexPrivilege")}
    body = role.json()
    assert body["cluster"] == ["manage_index_templates"]
    [indices] = body["indices"]
    assert indices["names"] == ["newsmon-articles*"]
    assert set(indices["privileges"]) == {"create_index", "manage", "create_doc", "read", "view_index_metadata"}
    assert set(body["cluster"]) <= documented["ClusterPrivilege"] and set(indices["privileges"]) <= documented["IndexPrivilege"]
    users = {r.path.rsplit("/", 1)[1]: r.json() for r in es.sent("PUT", r"/_security/user/[a-z_]+")}
    assert users["newsmon"] == {"password": "pipeline-pass-0123456789", "roles": ["newsmon_writer"],
                                "full_name": "newsmon pipeline"}
    assert users["newsmon_kibana"]["roles"] == ["newsmon_kibana"]
    assert set(es.sent("POST", "/_security/user/kibana_system/_password")[0].json()) == {"password"}


def test_the_setup_service_stops_with_the_reason_when_elasticsearch_refuses_the_elastic_password() -> None:
    with EsRecorder() as es:
        es.on("POST", r"/_security/user/kibana_system/_password", (401, {"error": "unable to authenticate"}))
        result = run_es_setup("elasticsearch", es.url)
    assert result.returncode != 0 and "ELASTIC_PASSWORD" in result.stderr
    assert len(es.requests) == 1  # nothing after the refusal


def test_the_kibana_setup_service_gives_newsmon_kibana_the_default_space_and_no_index_rights() -> None:
    with EsRecorder() as kibana:
        kibana.on("PUT", r"/api/security/role/newsmon_kibana", (204, None))
        result = run_es_setup("kibana", kibana.url)
    assert result.returncode == 0, result.stderr
    [request] = kibana.requests
    assert request.headers["kbn-xsrf"] and request.headers["authorization"].startswith("Basic ")
    body = request.json()
    assert body["elasticsearch"] == {"cluster": [], "indices": []}
    assert body["kibana"] == [{"base": ["all"], "feature": {}, "spaces": ["default"]}]
    kibana_import = services()["kibana-import"]["depends_on"]
    assert kibana_import["kibana-setup"]["condition"] == "service_completed_successfully"
