"""Shared fixtures: the demo site on a real loopback server, a real SMTP server, settings for a temp store."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its home at import time: point it at a throw-away dir before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="newsmon-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

from newsmon.app.commands.demo import demo_settings  # noqa: E402
from newsmon.app.demo import content as demo_content  # noqa: E402
from newsmon.app.demo.fixture_server import FixtureServer  # noqa: E402
from newsmon.app.demo.smtp_sink import SmtpSink  # noqa: E402
from newsmon.core.settings import Settings, load_settings  # noqa: E402


@dataclass
class DemoEnv:
    server: FixtureServer
    smtp: SmtpSink
    settings: Settings
    workdir: Path

    @property
    def alerts_file(self) -> Path:
        return self.workdir / "alerts.jsonl"

    def env(self) -> dict[str, str]:
        """The same settings as NEWSMON_* variables (for Airflow tasks and CLI subprocesses)."""
        return {
            "NEWSMON_HOME": str(self.workdir),
            "NEWSMON_CONFIG_DIR": str(self.settings.config_path),
            "NEWSMON_STATE_DIR": str(self.settings.state_path),
            "NEWSMON_ALLOW_LOOPBACK": "true",
            "NEWSMON_PER_HOST_MIN_INTERVAL_S": str(self.settings.per_host_min_interval_s),
            "NEWSMON_PER_HOST_CONCURRENCY": str(self.settings.per_host_concurrency),
        }


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[DemoEnv]:
    """The demo site served on loopback, a real SMTP server, and settings for a fresh store in tmp_path."""
    with FixtureServer() as server, SmtpSink() as smtp:
        server.routes.update(demo_content.build_routes(server.base_url))
        settings = demo_settings(load_settings(), tmp_path, base_url=server.base_url, smtp_port=smtp.port)
        yield DemoEnv(server, smtp, settings, tmp_path)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata DB (SQLite) migrated once for the session, as `dag.test()` needs."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """A real headless Chromium (Debian's package) driven by Selenium; nothing is downloaded at run time."""
    import browser

    if reason := browser.missing():
        if browser.required():
            pytest.fail(f"the browser tests must run in CI: {reason}")
        pytest.skip(reason)
    driver, profile, _took = browser.start()
    yield driver
    browser.stop(driver, profile)


# ---------------------------------------------------------------- the desk (newsmon/app/desk): tests/desk_*.py


@pytest.fixture(scope="session")
def desk_store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The desk's fixture store (tests/desk_data.py), built once; tests that change it serve a copy."""
    import desk_data

    return desk_data.build_store(tmp_path_factory.mktemp("desk-store"))


@pytest.fixture(scope="session")
def desk(desk_store: Settings) -> Iterator[object]:
    """The desk alone on loopback over the fixture store, its clock fixed, signed in as admin. Read-only tests."""
    import desk_data
    import desk_server

    served = desk_server.serve_desk(desk_store, lambda: desk_data.DESK_NOW)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def desk_translations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The desk alone over a store with one event in three languages (tests/desk_data.py). Read-only tests."""
    import desk_data
    import desk_server

    settings = desk_data.build_translations_store(tmp_path_factory.mktemp("desk-translations"))
    served = desk_server.serve_desk(settings, lambda: desk_data.TRANSLATIONS_NOW)
    yield served
    served.stop()


@pytest.fixture
def desk_copy(desk_store: Settings, tmp_path: Path) -> Iterator[object]:
    """The desk alone over this test's own copy of the fixture store (for tests that retry alerts)."""
    import desk_data
    import desk_server

    served = desk_server.serve_desk(desk_data.copy_store(desk_store, tmp_path), lambda: desk_data.DESK_NOW)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def airflow_desk(desk_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real `airflow api-server` for the session, loading newsmon's plugin, over a copy of the fixture store."""
    import desk_data
    import desk_server

    store = desk_data.copy_store(desk_store, tmp_path_factory.mktemp("airflow-desk-store"))
    served = desk_server.start_airflow(tmp_path_factory.mktemp("airflow-desk-home"), store)
    yield served
    served.stop()
