"""DagBag parse time of each DAG file against the 0.2 s target: the first parse in a fresh process, then re-parses.

Run: `.venv/bin/python bench/bench_dagbag.py [--repeat N]`. For each file in dags/, a fresh Python process
imports Airflow's DagBag first (not counted: a dag-processor has Airflow loaded before it parses a file)
and then parses only that file N + 1 times. The first parse pays for every module the file imports for
the first time; the re-parses are what the dag-processor pays every time it parses the file again (the
file's module runs again each time). Printed per file: the first parse, the median and the slowest
re-parse, each also as a fraction of the target, and Airflow's own parse duration of the first parse
(DagBag.dagbag_stats, what `airflow dags report` shows). Exits 1 when a first parse exceeds the target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
TARGET_S = 0.2

# Runs in the fresh process: import the DagBag, then time each parse of the one file.
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
import_s = time.perf_counter() - t0
path, repeat = sys.argv[1], int(sys.argv[2])
parses, stats, dags, errors = [], None, 0, {}
for i in range(repeat + 1):
    t0 = time.perf_counter()
    bag = DagBag(dag_folder=path)
    parses.append(time.perf_counter() - t0)
    if i == 0:
        stats = sum(s.duration.total_seconds() for s in bag.dagbag_stats)
        dags, errors = len(bag.dag_ids), bag.import_errors
print(json.dumps({"import_s": import_s, "parses": parses, "airflow_s": stats, "dags": dags, "errors": errors}))
"""


def measure(path: Path, repeat: int, airflow_home: Path) -> dict:
    env = {**os.environ, "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), str(repeat)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise SystemExit(f"parsing {path} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="re-parses per file after the first (default 20)")
    args = parser.parse_args()
    files = sorted(DAGS.glob("*.py"))
    print(f"DagBag parse time per DAG file, target {TARGET_S} s; {args.repeat} re-parses after the first, "
          "each file in a fresh process")
    print(f"{'file':28} {'dags':>4} {'first s':>8} {'/target':>7} {'airflow s':>9} "
          f"{'median s':>8} {'/target':>7} {'max s':>7}  import of DagBag (not counted)")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-dagbag-") as home:
        for path in files:
            m = measure(path, args.repeat, Path(home))
            if m["errors"]:
                raise SystemExit(f"{path.name} has import errors: {m['errors']}")
            first, rest = m["parses"][0], m["parses"][1:] or m["parses"]
            median = statistics.median(rest)
            worst = max(worst, first)
            print(f"{path.name:28} {m['dags']:>4} {first:8.3f} {first / TARGET_S:7.2f} {m['airflow_s']:9.3f} "
                  f"{median:8.4f} {median / TARGET_S:7.2f} {max(rest):7.4f}  {m['import_s']:.2f} s")
    verdict = "within" if worst <= TARGET_S else "OVER"
    print(f"slowest first parse {worst:.3f} s = {worst / TARGET_S:.2f} of the {TARGET_S} s target: {verdict}")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
