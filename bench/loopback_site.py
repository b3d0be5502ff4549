"""A loopback news site on several hosts, served from its own process, for the throughput, latency and crash benches.

Each host is a FixtureServer (its own port on 127.0.0.1, so its own politeness key). The servers run in a
child process: the CPU they use is not the pipeline's, and the pipeline's threads do not compete with
them for one interpreter lock. The parent sets routes (also while the pipeline runs, to publish new
items) and reads back when each request arrived.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Served:
    """One request the site answered: host index, path, status, and when it arrived (time.monotonic)."""

    host: int
    path: str
    status: int
    at: float


def _serve(conn: Connection, hosts: int) -> None:
    sys.path.insert(0, str(REPO))
    from newsmon.app.demo.fixture_server import FixtureServer, Route

    servers = [FixtureServer().start() for _ in range(hosts)]
    for server in servers:  # clients that are killed mid-request (the crash harness) are not the site's error
        server._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
    conn.send([s.base_url for s in servers])
    while True:
        command, payload = conn.recv()
        if command == "set":
            for host, path, body, content_type, status, headers in payload:
                servers[host].routes[path] = Route(body, content_type, status=status, headers=headers)
            conn.send(None)
        elif command == "served":
            conn.send([Served(i, r.path, r.status, r.at) for i, s in enumerate(servers) for r in list(s.requests)])
        elif command == "cpu":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(usage.ru_utime + usage.ru_stime)
        else:
            for server in servers:
                server.stop()
            conn.send(None)
            return


class LoopbackSite:
    """`with LoopbackSite(hosts=4) as site:`; `site.base(i)`, `site.set(...)`, `site.served()`."""

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self._conn, child = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child, hosts), daemon=True)
        self.bases: list[str] = []

    def __enter__(self) -> LoopbackSite:
        self._process.start()
        self.bases = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send(("stop", None))
        self._conn.recv()
        self._process.join(10)

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def base(self, host: int) -> str:
        return self.bases[host]

    def set(self, host: int, path: str, body: bytes, content_type: str = "text/html; charset=utf-8",
            status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.set_many([(host, path, body, content_type, status, headers or {})])

    def set_many(self, routes: list[tuple[int, str, bytes, str, int, dict[str, str]]]) -> None:
        self._conn.send(("set", routes))
        self._conn.recv()

    def served(self) -> list[Served]:
        self._conn.send(("served", None))
        return self._conn.recv()

    def cpu_s(self) -> float:
        """CPU seconds the site's process has used so far."""
        self._conn.send(("cpu", None))
        return self._conn.recv()


def process_table() -> dict[int, tuple[int, float, float]]:
    """Every process's parent pid, its own CPU seconds (user + system) and those of its reaped children, by pid
    (Linux /proc); a process that exits while it is read is left out."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        table[int(entry)] = (int(fields[1]), (utime + stime) / tick, (cutime + cstime) / tick)
    return table


def process_tree_cpu_s(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of `root` and each live descendant, by pid; a process's reaped children
    are included in its own figure (Linux /proc)."""
    table = process_table()
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _own, _children) in table.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: table[pid][1] + table[pid][2] for pid in tree if pid in table}
