"""Parse cost of each DAG file, measured the way Airflow 3.3's dag-processor pays it.

The dag-processor's parent first imports the ``airflow.*`` modules a file names
(``[dag_processor] parsing_pre_import_modules``), then forks a child that parses
the file; everything else the file pulls in at module level (our own package and
whatever it imports) is paid again in every child, on every parse. This script
does the same: it pre-imports in this process, forks a child per parse, and
times the child's ``DagBag`` load of the file in CPU seconds (what the processor
pays; wall time on two shared cores mostly measures the other processes). The
baseline is a one-task DAG parsed the same way, interleaved round by round, so
machine noise hits both.

Usage: python benchmarks/parse_time.py [--rounds N]
Last line: ``per-file overhead: N ms`` (worst DAG file, median minus the trivial
DAG's median) and the ratio of the two medians. Goal: at most 50 ms.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
PLUGINS = ROOT / "plugins"

TRIVIAL_DAG = """
import pendulum
from airflow.sdk import DAG, task

with DAG(dag_id="trivial", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False):

    @task
    def noop():
        return None

    noop()
"""


def _configure_airflow(home: str) -> None:
    os.environ.setdefault("AIRFLOW_HOME", home)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PLUGINS)
    sys.path.insert(0, str(PLUGINS))


def _pre_import(path: Path) -> None:
    from airflow.utils.file import iter_airflow_imports

    for module in iter_airflow_imports(str(path)):
        importlib.import_module(module)


def _parse_in_child(path: Path) -> float:
    """Fork, parse ``path`` in the child, return the CPU seconds the child's parse took."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        status = 0
        try:
            from airflow.dag_processing.dagbag import DagBag

            started = time.process_time()
            bag = DagBag(dag_folder=str(path), bundle_path=path.parent, bundle_name="bench")
            elapsed = time.process_time() - started
            if bag.import_errors or not bag.dags:
                raise RuntimeError(f"{path.name}: {bag.import_errors or 'no DAG found'}")
            os.write(write_end, repr(elapsed).encode())
        except BaseException as err:  # noqa: BLE001 - report any failure to the parent
            os.write(write_end, f"error: {err}".encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    if answer.startswith("error"):
        raise SystemExit(answer)
    return float(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="parse-bench-") as tmp:
        _configure_airflow(tmp)
        trivial = Path(tmp) / "trivial_dag" / "trivial.py"
        trivial.parent.mkdir()
        trivial.write_text(TRIVIAL_DAG)
        files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))

        import airflow.dag_processing.dagbag  # noqa: F401 - the manager has it loaded

        for path in [trivial, *files]:
            _pre_import(path)
        _parse_in_child(trivial)  # warm the page cache and bytecode
        for path in files:
            _parse_in_child(path)

        times: dict[Path, list[float]] = {path: [] for path in [trivial, *files]}
        for _ in range(args.rounds):
            for path in times:
                times[path].append(_parse_in_child(path))

    base = statistics.median(times[trivial])
    print(f"{'file':<40} {'median cpu ms':>14} {'overhead ms':>12} {'ratio':>7}")
    print(f"{'(trivial one-task DAG)':<40} {base * 1000:>14.1f} {0:>12.1f} {1:>7.2f}")
    worst_name, worst = "", float("-inf")
    for path in files:
        median = statistics.median(times[path])
        overhead = median - base
        print(f"{path.name:<40} {median * 1000:>14.1f} {overhead * 1000:>12.1f} {median / base:>7.2f}")
        if overhead > worst:
            worst_name, worst = path.name, overhead
    ratio = (worst + base) / base
    print(f"per-file overhead: {worst * 1000:.0f} ms (worst: {worst_name}; parse time vs trivial DAG: {ratio:.2f}x)")


if __name__ == "__main__":
    main()
