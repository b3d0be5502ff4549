"""The layer contracts of pyproject.toml catch a back-import, and no module of newsmon is part of an import cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def copy_project(to: Path) -> Path:
    """The package tree and its contracts, as a checkout has them (newsmon/ingest and newsmon/enrich stay symlinks)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "newsmon", to / "newsmon", symlinks=True, ignore=skip)
    for folder in ("ingest", "enrich"):
        shutil.copytree(REPO / folder, to / folder, ignore=skip)
    shutil.copy(REPO / "pyproject.toml", to / "pyproject.toml")
    return to


def add_import(module: Path, statement: str) -> None:
    """Put `statement` right after the module's `from __future__` line, where a careless edit would."""
    text = module.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    assert sep, f"{module} has no `from __future__ import annotations` line"
    module.write_text(f"{head}{sep}\n{statement}\n{rest}", encoding="utf-8")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the copy in `project`, never on the installed package."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_untouched_package_keeps_every_import_contract(tmp_path: Path) -> None:
    result = lint_imports(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "broken", "named"),
    [
        # a stage reaching up into the application
        ("newsmon/store/feedstate.py", "from newsmon.app.stages import poll  # noqa: F401",
         "Layers only import downwards", "newsmon.store.feedstate -> newsmon.app.stages.poll"),
        # the ground reaching up into a stage
        ("newsmon/core/records.py", "from newsmon.store import schema  # noqa: F401",
         "newsmon.core imports nothing of ours", "newsmon.core.records -> newsmon.store.schema"),
        # one stage of the middle layer importing its sibling
        ("ingest/urls.py", "from newsmon.enrich import textnorm  # noqa: F401",
         "Layers only import downwards", "newsmon.ingest.urls -> newsmon.enrich.textnorm"),
        # a module imported under its old top-level name
        ("newsmon/app/maintenance.py", "import ingest.urls  # noqa: F401",
         "never a top-level ingest", "newsmon.app.maintenance -> ingest"),
        # a CLI command writing its own SQL instead of calling a function of its stage
        ("newsmon/app/commands/search.py", "from newsmon.store.schema import articles  # noqa: F401",
         "CLI commands hold no SQL", "newsmon.app.commands.search -> newsmon.store.schema"),
        ("newsmon/app/commands/feeds.py", "from sqlalchemy import select  # noqa: F401",
         "CLI commands hold no SQL", "newsmon.app.commands.feeds -> sqlalchemy"),
    ],
)
def test_a_back_import_breaks_the_contract_and_is_named(tmp_path: Path, module: str, statement: str, broken: str,
                                                        named: str) -> None:
    project = copy_project(tmp_path)
    add_import(project / module, statement)
    result = lint_imports(project)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout
    assert named in result.stdout, result.stdout


def strongly_connected(graph: grimp.ImportGraph) -> Iterator[set[str]]:
    """Tarjan's strongly connected components of the direct-import graph, without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                yield component


def cycles(package: str) -> list[list[str]]:
    """Every group of modules of `package` that import each other in a circle; every import statement counts
    (module level, inside functions, under TYPE_CHECKING)."""
    graph = grimp.build_graph(package, cache_dir=None)
    return [sorted(c) for c in strongly_connected(graph) if len(c) > 1]


def write_package(root: Path, files: Iterable[tuple[str, str]]) -> None:
    for name, body in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")


def test_no_module_of_newsmon_is_part_of_an_import_cycle() -> None:
    assert cycles("newsmon") == []


def test_the_cycle_check_sees_a_cycle_closed_by_an_import_inside_a_function(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_package(tmp_path, [
        ("circular_demo/__init__.py", ""),
        ("circular_demo/client.py", "from circular_demo.robots import Cache\n"),
        ("circular_demo/robots.py", """
            class Cache:
                def load(self):
                    from circular_demo.client import fetch  # the hidden half of the circle
                    return fetch
            """),
        ("circular_demo/alone.py", "import circular_demo.client\n"),
    ])
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles("circular_demo") == [["circular_demo.client", "circular_demo.robots"]]
