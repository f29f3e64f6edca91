"""reporting_seeder's parallel refresh through the devstack's Airflow, against a plain loop.

One run, on the devstack (``python -m devstack up``; this script starts the
devstack's Airflow, scheduler and LocalExecutor included, if it is not up, and
stops it again). It replaces the reporting manifest with ``--views`` views of
equal cost over one source table (run ``python -m devstack seed`` afterwards for
the demo manifest), then:

1. baseline: the same ``REFRESH MATERIALIZED VIEW`` statements in a plain loop on
   one connection;
2. the DAG with the ``reporting_seeder`` pool at 1, 2 and 4 slots: the time from
   the first view task's start to the last one's end.

Prints the times; the last line is ``speedup at 4: S; overhead per view: N ms``
(S = time at 1 slot ÷ time at 4; N = (time at 1 slot − loop) ÷ views).
On a 2-core machine the database, not Airflow, is expected to be the limit.

Usage: python benchmarks/seeder_parallel.py [--views 40] [--rows 1500000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from devstack import cluster, reporting_data, stack  # noqa: E402
from devstack.services import DATABASES, server_url  # noqa: E402

DAG_ID = "reporting_seeder"
POOL = "reporting_seeder"
AGENCY = (1099, "Benchmark PD", "bench")  # a demo id: the next seed removes it
RUN_TIMEOUT_SECONDS = 1200


def prepare(warehouse, views: int, rows: int) -> list[str]:
    """The bench manifest: ``views`` views, each a full aggregate of the same source table."""
    from psycopg import sql

    reporting_data.reset_reporting(warehouse)
    warehouse.execute("CREATE SCHEMA IF NOT EXISTS reporting_src")
    warehouse.execute("DROP TABLE IF EXISTS reporting_src.bench_source")
    warehouse.execute(
        "CREATE TABLE reporting_src.bench_source AS"
        " SELECT n AS id, n %% 1000 AS grp, (n * 7919) %% 100003 AS amount"
        " FROM generate_series(1::bigint, %s::bigint) AS n",
        (rows,),
    )
    warehouse.execute("ANALYZE reporting_src.bench_source")
    warehouse.execute(
        "INSERT INTO public.agency (id, name, subdomain, lms_integration_enabled, active)"
        " VALUES (%s, %s, %s, false, true) ON CONFLICT DO NOTHING",
        AGENCY,
    )
    tables = [f"reporting.bench_view_{k:02d}" for k in range(views)]
    for k, table in enumerate(tables):
        # Same plan and cost for each (a DISTINCT aggregate: one core per view, no
        # parallel workers, so the DAG's parallelism is what is measured); the
        # constant keeps the views distinct.
        query = sql.SQL(
            "SELECT grp, count(DISTINCT amount) AS amounts, sum(amount) AS total, {k} AS view_no"
            " FROM reporting_src.bench_source GROUP BY grp"
        ).format(k=sql.Literal(k))
        warehouse.execute(
            "INSERT INTO reporting.seeder_custom_report_manifest"
            " (id, table_name, report_name, agency_id, agency_slug, query, enabled)"
            " VALUES (%s, %s, %s, %s, %s, %s, true)",
            (5000 + k, table, f"Bench {k}", AGENCY[0], AGENCY[2], query.as_string(warehouse)),
        )
    return tables


def time_loop(warehouse, tables: list[str]) -> float:
    from psycopg import sql

    started = time.perf_counter()
    for table in tables:
        warehouse.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(*table.split("."))))
    return time.perf_counter() - started


def run_dag_once(metadata, slots: int, views: int) -> float:
    """Trigger a bench run with the pool at ``slots``; seconds from first view start to last view end."""
    cluster.cli("pools", "set", POOL, str(slots), "reporting_seeder benchmark")
    wait_for_quiet(metadata)
    run_id = f"bench_{slots}_{int(time.time())}"
    conf = {"scope": "agency", "agency_slug": AGENCY[2]}
    cluster.cli("dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", json.dumps(conf))
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        row = metadata.execute(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (DAG_ID, run_id)
        ).fetchone()
        if row and row[0] in ("success", "failed"):
            break
        time.sleep(1)
    else:
        raise RuntimeError(f"run {run_id} did not finish in {RUN_TIMEOUT_SECONDS} s")
    if row[0] != "success":
        raise RuntimeError(f"run {run_id} ended {row[0]}: see the Airflow UI")
    count, seconds = metadata.execute(
        "SELECT count(*), extract(epoch FROM max(end_date) - min(start_date)) FROM task_instance"
        " WHERE dag_id = %s AND run_id = %s AND task_id = 'refresh_view' AND state = 'success'",
        (DAG_ID, run_id),
    ).fetchone()
    assert count == views, f"{count} of {views} view tasks succeeded in {run_id}"
    return float(seconds)


def wait_for_quiet(metadata) -> None:
    """No other run of the DAG (a scheduled one after unpausing) may share the machine."""
    while metadata.execute(
        "SELECT count(*) FROM dag_run WHERE dag_id = %s AND state IN ('queued', 'running')", (DAG_ID,)
    ).fetchone()[0]:
        time.sleep(1)


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--rows", type=int, default=1_500_000)
    args = parser.parse_args()

    state = stack.running_state()
    started_airflow = not state.get("airflow")
    cluster.up()
    postgres = stack.load_state()["services"]["postgres"]
    try:
        with (
            psycopg.connect(server_url(postgres, DATABASES["warehouse"]), autocommit=True) as warehouse,
            psycopg.connect(server_url(postgres, DATABASES["airflow"]), autocommit=True) as metadata,
        ):
            tables = prepare(warehouse, args.views, args.rows)
            cluster.cli("dags", "reserialize")
            cluster.cli("dags", "unpause", DAG_ID)
            run_dag_once(metadata, 4, args.views)  # creates the views; later runs refresh them
            loop = time_loop(warehouse, tables)
            timings = {slots: run_dag_once(metadata, slots, args.views) for slots in (1, 2, 4)}
            cluster.cli("dags", "pause", DAG_ID)
            cluster.cli("pools", "set", POOL, "8", "reporting_seeder: materialized views refreshed at once")
    finally:
        if started_airflow:
            cluster.down()

    n = args.views
    print(f"views: {n} of equal cost over {args.rows} rows")
    print(f"plain loop of REFRESH statements:   {loop:7.2f} s  ({loop / n * 1000:.0f} ms per view)")
    for slots, seconds in timings.items():
        print(f"DAG, pool of {slots}:                   {seconds:7.2f} s  (speedup {timings[1] / seconds:.2f})")
    overhead_ms = (timings[1] - loop) / n * 1000
    print(f"speedup at 4: {timings[1] / timings[4]:.2f}; overhead per view: {overhead_ms:.0f} ms")


if __name__ == "__main__":
    main()
