"""Peak memory of invoice_demand_refresh's extract-transform-load path.

For 100k and 500k documents in moto (the devstack's DynamoDB), a fresh plain
Python process (not the task runner, which alone holds ~230 MB) runs the
pipeline's own ``load_raw_tables`` for raw.cases: a 4-segment parallel scan,
the case builder, binary COPY into Postgres, one transaction. It loads into a
separate database (etl_bench), never the devstack's warehouse. Each child reports
its peak RSS (ru_maxrss) and its RSS after imports, before the load.

Seeding moto takes a few minutes the first time (about 2,000 items/s); seeded
tables are kept for later runs.

Last line: ``peak RSS at 500k: N MB; growth from 100k: P%``. Goal: N ≤ 300, P ≤ 20.

Usage: python benchmarks/invoice_memory.py [--sizes 100000 500000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

BENCH_DATABASE = "etl_bench"


def seed(state: dict, source_env: str, documents: int) -> None:
    from devstack import invoice_data

    dynamodb = invoice_data.dynamodb(state)
    name = f"exchange-{source_env}-documents"
    if name in {t.name for t in dynamodb.tables.all()} and dynamodb.Table(name).item_count == documents:
        return
    print(f"seeding {documents} documents into {name} ...", flush=True)
    started = time.perf_counter()
    invoice_data.create_tables(dynamodb, source_env)
    table = dynamodb.Table(name)
    with table.batch_writer() as batch:
        for n in range(documents):
            batch.put_item(Item=invoice_data.document(n))
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def child(source_env: str) -> None:
    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from etl_bundle.common.migrations import upgrade_with_hook
    from etl_bundle.invoice.load import load_raw_tables
    from etl_bundle.invoice.transforms import SOURCES_BY_NAME

    upgrade_with_hook("invoice", "warehouse_postgres")
    after_imports = rss_mb()
    started = time.perf_counter()
    result = load_raw_tables(
        aws_conn_id="invoice_aws",
        pg_conn_id="warehouse_postgres",
        source_env=source_env,
        segments=4,
        page_size=1000,
        run_id=f"memory-bench-{source_env}",
        dry_run=False,
        max_bad_rows=0,
        allow_empty=False,
        sources=(SOURCES_BY_NAME["cases"],),
    )
    print(
        json.dumps(
            {
                "rows": result["cases"]["loaded"],
                "seconds": time.perf_counter() - started,
                "rss_after_imports_mb": after_imports,
                "peak_rss_mb": rss_mb(),
            }
        )
    )


def main() -> None:
    import psycopg

    from devstack import stack
    from devstack.services import server_url

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    state = stack.running_state()
    pg = state["services"]["postgres"]
    with psycopg.connect(server_url(pg, "postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)).fetchone():
            admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    env = {**os.environ, **stack.environment(state)}
    env["AIRFLOW_CONN_WAREHOUSE_POSTGRES"] = json.dumps(
        {
            "conn_type": "postgres",
            "host": pg["host"],
            "port": pg["port"],
            "login": pg["user"],
            "password": pg.get("password", ""),
            "schema": BENCH_DATABASE,
        }
    )
    results = {}
    for size in args.sizes:
        source_env = f"mem{size // 1000}k"
        seed(state, source_env, size)
        out = subprocess.run(
            [sys.executable, __file__, "--child", source_env], env=env, capture_output=True, text=True, check=True
        ).stdout
        results[size] = json.loads(out.strip().splitlines()[-1])
        r = results[size]
        print(
            f"{size:>8} documents: {r['rows']} rows in {r['seconds']:.0f} s; "
            f"RSS after imports {r['rss_after_imports_mb']:.0f} MB, peak {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    small, large = min(results), max(results)
    growth = (results[large]["peak_rss_mb"] / results[small]["peak_rss_mb"] - 1) * 100
    peak = results[large]["peak_rss_mb"]
    print(f"peak RSS at {large // 1000}k: {peak:.0f} MB; growth from {small // 1000}k: {growth:.0f}%")


if __name__ == "__main__":
    main()
