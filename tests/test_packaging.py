"""The wheel a user installs: one import package, newsmon, holding the mapping file and the ingest/enrich code."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel `pip wheel .` builds from a copy of the checkout (the build writes into the tree it builds)."""
    source = tmp_path_factory.mktemp("source")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "newsmon", source / "newsmon", symlinks=True, ignore=skip)
    for folder in ("ingest", "enrich"):
        shutil.copytree(REPO / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation and no index: the build uses the pinned setuptools of this environment, offline.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), "."],
        cwd=source, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("newsmon-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_wheel_installs_one_import_package_named_newsmon(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/", 1)[0] for name in wheel.namelist() if ".dist-info/" not in name}
    assert top == {"newsmon"}
    (top_level,) = [n for n in wheel.namelist() if n.endswith(".dist-info/top_level.txt")]
    assert wheel.read(top_level).decode().split() == ["newsmon"]


@pytest.mark.parametrize("path", ["newsmon/store/es_mapping.json", "newsmon/ingest/http.py", "newsmon/ingest/extract.py",
                                  "newsmon/enrich/topic/score.py", "newsmon/enrich/dedup.py", "newsmon/store/migrations/env.py",
                                  "newsmon/store/migrations/versions/v0001_baseline.py",
                                  "newsmon/alerts/templates/message.txt", "newsmon/alerts/templates/message.html",
                                  "newsmon/alerts/templates/chat.md", "newsmon/alerts/templates/telegram.html"])
def test_the_mapping_the_migrations_and_the_symlinked_stages_are_real_files_in_the_wheel(wheel: zipfile.ZipFile, path: str) -> None:
    info = wheel.getinfo(path)
    assert not stat.S_ISLNK(info.external_attr >> 16), f"{path} is a symlink in the wheel"
    assert wheel.read(info) == (REPO / path).read_bytes()


def test_the_desks_templates_and_assets_ship_in_the_wheel_with_the_airflow_plugin_entry_point(wheel: zipfile.ZipFile) -> None:
    desk = REPO / "newsmon" / "app" / "desk"
    files = sorted(str(p.relative_to(REPO)) for folder in ("templates", "static") for p in (desk / folder).iterdir())
    assert "newsmon/app/desk/static/htmx.min.js" in files and "newsmon/app/desk/static/htmx.LICENSE.txt" in files
    for path in files:
        assert wheel.read(path) == (REPO / path).read_bytes(), path
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[airflow.plugins]\nnewsmon_desk = newsmon.app.desk.plugin:NewsmonDeskPlugin" in text


def test_the_desk_installed_from_the_wheel_serves_its_pages_and_assets(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    target = tmp_path / "site"
    wheel.extractall(target)  # a wheel is a zip of what pip would put in site-packages
    check = (
        "from fastapi.testclient import TestClient\n"
        "import newsmon.app.desk.web as web\n"
        f"assert web.__file__.startswith({str(target)!r}), web.__file__\n"
        "client = TestClient(web.create_app())\n"
        "for path in ('/static/desk.css', '/static/htmx.min.js', '/docs'):\n"
        "    reply = client.get(path)\n"
        "    assert reply.status_code == 200, (path, reply.status_code)\n"
        "print('served')\n"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0 and "served" in result.stdout, result.stderr[-2000:]


def _pins(path: Path) -> dict[str, str]:
    """Normalised distribution name → pinned version, from a requirements-style file."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            name, version = spec.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()] = version.strip()
    return pins


def test_every_library_the_package_imports_is_pinned_in_requirements_and_constraints() -> None:
    # A library imported only through another one's dependencies disappears when that one drops it.
    graph = grimp.build_graph("newsmon", include_external_packages=True)
    imported = {m.split(".")[0] for m in graph.modules if not m.startswith("newsmon")} - set(sys.stdlib_module_names)
    distributions = importlib.metadata.packages_distributions()
    requirements, constraints = _pins(REPO / "requirements.txt"), _pins(REPO / "constraints.txt")
    for module in sorted(imported):
        # Airflow's `airflow` package is shared by its core, task SDK and providers: the apache-airflow pin owns them all.
        (distribution,) = ["apache-airflow"] if module == "airflow" else distributions[module]
        name = re.sub(r"[-_.]+", "-", distribution).lower()
        assert name in requirements, f"newsmon imports {module} ({distribution}): pin it in requirements.txt"
        assert requirements[name] == constraints.get(name), f"{distribution}: requirements.txt and constraints.txt differ"
