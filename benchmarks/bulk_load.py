"""Bulk load of raw.cases-shaped rows: the project's loader against psql \\copy and execute_values.

One run, same rows, same server (the devstack's Postgres; `python -m devstack up`):

- loader: ``etl_bundle.common.bulk.copy_rows`` with raw.cases' column types (binary
  COPY) in one transaction: what invoice_demand_refresh does for each raw table,
  minus the DynamoDB scan;
- ``psql \\copy`` of the same rows as CSV into an identical table;
- ``psycopg2.extras.execute_values`` (page 1000), the original pipeline's way.

Prints rows/s for each and the ratios; the last line is ``loader/copy ratio: R``
(R = loader rows/s ÷ psql rows/s). Goal: R ≥ 0.8.

Usage: python benchmarks/bulk_load.py [--rows 1000000] [--execute-values-rows N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from benchmarks.baseline import time_psql_copy  # noqa: E402
from devstack import stack  # noqa: E402
from devstack.services import DATABASES, server_url  # noqa: E402
from etl_bundle.common.bulk import copy_rows  # noqa: E402
from etl_bundle.invoice.transforms import CASE_COLUMNS, SOURCES_BY_NAME  # noqa: E402

SCHEMA = "bench_invoice"


def make_rows(count: int) -> list[tuple]:
    firms = ("Hale & Dorr LLP", "Baker Street Legal", "Austin Injury Group", "Lone Star Counsel")
    return [
        (
            f"DOC-{n:07d}",
            f"CUST-{n % 400:03d}",
            1 + n % 3,
            f"MT-{n}",
            f"Client{n} v. Carrier",
            "Bodily Injury",
            f"CLM-{n:07d}",
            "TX",
            firms[n % 4],
            "Travelers",
            f"Sam Counsel{n % 7}",
            [f"Ann Lee{n % 3}", "Bo Chan"],
            f"Pat Contact{n % 5}",
            f"CL-{n % 90}",
            f"Chris Client{n}",
            f"M-{n}",
            f"INS-{n}",
        )
        for n in range(count)
    ]


def pg_array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def main() -> None:
    import psycopg
    import psycopg2
    import psycopg2.extras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--execute-values-rows", type=int, default=None, help="default: --rows")
    args = parser.parse_args()
    ev_rows = args.execute_values_rows or args.rows

    state = stack.running_state()
    url = server_url(state["services"]["postgres"], DATABASES["warehouse"])
    rows = make_rows(args.rows)
    column_list = ", ".join(f'"{c}"' for c in CASE_COLUMNS)

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in ("by_loader", "by_psql", "by_execute_values"):
            admin.execute(
                f'CREATE TABLE {SCHEMA}.{table} ("documentId" text, "customerId" text, "version" integer, '
                '"matterTechId" text, "matterName" text, "claimCoverage" text, "claimNumber" text, '
                '"lossState" text, "sendingFirm" text, "recipientCarrier" text, "assignedAttorney" text, '
                '"assignedCaseCollaborator" text[], "assignedCaseManager" text, "clientId" text, '
                '"clientName" text, "matterId" text, "relatedInsuranceId" text)'
            )

    psql_seconds = time_psql_copy(
        url,
        f"{SCHEMA}.by_psql",
        CASE_COLUMNS,
        ([pg_array(v) if isinstance(v, list) else v for v in row] for row in rows),
    )

    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur:
            types = SOURCES_BY_NAME["cases"].copy_types
            loaded = copy_rows(cur, (SCHEMA, "by_loader"), CASE_COLUMNS, rows, types=types, binary=True)
        conn.commit()
        loader_seconds = time.perf_counter() - started

    with psycopg2.connect(url) as legacy:
        started = time.perf_counter()
        with legacy.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                f"INSERT INTO {SCHEMA}.by_execute_values ({column_list}) VALUES %s",  # noqa: S608 - fixed names
                rows[:ev_rows],
                page_size=1000,
            )
        legacy.commit()
        ev_seconds = time.perf_counter() - started

    with psycopg.connect(url, autocommit=True) as admin:
        counts = [
            admin.execute(f"SELECT count(*) FROM {SCHEMA}.{t}").fetchone()[0]  # noqa: S608
            for t in ("by_loader", "by_psql", "by_execute_values")
        ]
        admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    assert counts == [args.rows, args.rows, ev_rows] and loaded == args.rows, counts

    loader_rate, psql_rate, ev_rate = args.rows / loader_seconds, args.rows / psql_seconds, ev_rows / ev_seconds
    print(f"rows: {args.rows} (execute_values: {ev_rows})")
    print(f"loader (binary COPY, psycopg): {loader_seconds:7.2f} s  {loader_rate:>10,.0f} rows/s")
    print(f"psql \\copy (CSV):              {psql_seconds:7.2f} s  {psql_rate:>10,.0f} rows/s")
    print(f"execute_values (page 1000):    {ev_seconds:7.2f} s  {ev_rate:>10,.0f} rows/s")
    print(f"execute_values/copy ratio: {ev_rate / psql_rate:.3f}")
    print(f"loader/copy ratio: {loader_rate / psql_rate:.2f}")


if __name__ == "__main__":
    main()
