"""``python -m devstack demo``: run every DAG in the bundle once with ``airflow dags test``
and print what each run did (state per task and each task's returned summary)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack import paths

FIRST = "bundle_connections_check"
# DAGs that consume what another DAG of the demo produces run after the rest.
LAST = ("dfps_dps_receive", "dfps_dps_receive_yearly")  # DPS's answers (the seed) meet what send delivered
# Extra `airflow dags test` arguments per DAG (a logical date, --conf), where a DAG needs them.
DEMO_ARGS: dict[str, list[str]] = {}
# The fields of a task's returned summary that say what it wrote, in the order shown.
SUMMARY_KEYS = (
    "file",
    "table",
    "parsed_rows",
    "rejected_rows",
    "inserted",
    "updated",
    "unchanged",
    "deleted",
    "versions_opened",
    "versions_closed",
    "loaded_rows",
    "built",
    "rejected",
    "loaded",
    "ids_synced",
    "ids_without_oracle_rows",
    "events_rows",
    "not_in_impact_rows",
    "impact_not_in_dps_rows",
    "removed",
)


def dag_ids() -> list[str]:
    """One file per DAG, named after its dag_id; the connections check first, the ``LAST`` ones last."""
    return sorted(paths.bundle_dag_ids(), key=lambda dag_id: (dag_id != FIRST, dag_id in LAST))


def run_dag(dag_id: str, env: dict[str, str]) -> tuple[int, float, Path]:
    log = paths.log_dir() / f"demo-{dag_id}.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        rc = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id, *DEMO_ARGS.get(dag_id, [])],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode
    return rc, time.monotonic() - started, log


def last_run_summary(dag_id: str, env: dict[str, str]) -> dict[str, Any]:
    """State of the DAG's latest run and each task's return value, from the metadata DB."""
    import psycopg

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        run = conn.execute(
            "SELECT id, run_id, state FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        if run is None:
            return {"state": "no run", "tasks": []}
        tasks = conn.execute(
            """
            SELECT ti.task_id, ti.map_index, ti.state, x.value
            FROM task_instance ti
            LEFT JOIN xcom x
              ON x.dag_run_id = %s AND x.task_id = ti.task_id
             AND x.map_index = ti.map_index AND x.key = 'return_value'
            WHERE ti.dag_id = %s AND ti.run_id = %s
            ORDER BY ti.task_id, ti.map_index
            """,
            (run[0], dag_id, run[1]),
        ).fetchall()
    return {"run_id": run[1], "state": run[2], "tasks": tasks}


def _short(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and "detail" in value:
        return str(value["detail"])
    if isinstance(value, dict):
        value = _summary(value)
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 160 else text[:157] + "..."


def _summary(value: dict) -> str:
    """A task's summary: what it wrote first, then its other plain fields; one nested level
    (a summary per table) as ``name(field=.., ...)``."""
    keys = [k for k in SUMMARY_KEYS if k in value] + [k for k in value if k not in SUMMARY_KEYS]
    parts = []
    for key in keys:
        if isinstance(value[key], (int, str)):
            parts.append(f"{key}={value[key]}")
        elif isinstance(value[key], list) and all(isinstance(item, str) for item in value[key]):
            parts.append(f"{key}=[{', '.join(value[key])}]")
        elif isinstance(value[key], dict):
            inner = ", ".join(f"{k}={value[key][k]}" for k in SUMMARY_KEYS if k in value[key])
            parts.append(f"{key}({inner})")
    return ", ".join(parts)


def demo() -> int:
    from devstack import stack

    env = stack.devstack_env()
    failures = 0
    rows = []
    for dag_id in dag_ids():
        print(f"demo: airflow dags test {dag_id} ...", flush=True)
        rc, seconds, log = run_dag(dag_id, env)
        summary = last_run_summary(dag_id, env)
        failures += rc != 0
        rows.append((dag_id, summary, rc, seconds, log))
    print()
    print("DAG run summary")
    print("=" * 78)
    for dag_id, summary, rc, seconds, log in rows:
        print(f"{dag_id}: {summary['state']} in {seconds:.0f} s (exit {rc}; log {log})")
        for task_id, map_index, state, value in summary["tasks"]:
            label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            print(f"  {label:<40} {state or 'none':<10} {_short(value)}")
    return 1 if failures else 0
