"""Merge throughput of tec_operational_capacity's loader against ``psql \\copy``.

One run, same rows, same server (the devstack's Postgres; start it with
``python -m devstack up``):

1. baseline: ``psql \\copy`` of N capacity rows (CSV) into a plain table;
2. the loader's ``merge_capacity`` of the same N rows into empty tables, made by
   the pipeline's migrations (the original's table shape: ``id``, its unique key and
   four single-column indexes; staging COPY, SCD2 history, upsert, one transaction);
3. the same again with half of the rows changed (history closes and opens N/2 versions).

Prints rows/s for each; the last line is ``merge/copy ratio: R`` for the first,
all-new merge (R = merge rows/s ÷ copy rows/s). Goal: R ≥ 0.5.

Usage: python benchmarks/tec_merge.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from benchmarks.baseline import time_psql_copy  # noqa: E402
from devstack import stack  # noqa: E402
from devstack.services import DATABASES, server_url  # noqa: E402
from etl_bundle.common.migrations import VERSION_SCHEMA  # noqa: E402
from etl_bundle.tec.load import merge_capacity  # noqa: E402
from etl_bundle.tec.schema import migration_options, upgrade_endpoint  # noqa: E402
from etl_bundle.tec.transforms import CAPACITY_COLUMNS, TARGET_COLUMNS, ParsedFile, row_hash  # noqa: E402

SCHEMA = "bench_tec"
TABLE = "operational_capacity"
DAY = date(2025, 1, 15)
CYCLE = "Intraday_1"


def make_rows(count: int, revision: int = 0) -> list[tuple]:
    """Capacity rows; with ``revision`` 1, every second row has a changed TSQ/OAC."""
    rows = []
    for n in range(count):
        design = 100_000 + n % 50_000
        scheduled = n % 7_000 + (revision if n % 2 == 0 else 0) * 11
        values = dict.fromkeys(CAPACITY_COLUMNS)
        values.update(
            loc=str(1_000_000 + n),
            loc_zn="West of Thoreau",
            loc_name=f"TW LOCATION #{n:07d}",
            loc_purp_desc="Delivery Location",
            loc_qti="MQ",
            flow_ind="D",
            dc=Decimal(design),
            opc=Decimal(design),
            tsq=Decimal(scheduled),
            oac=Decimal(design - scheduled),
            it="Y",
            auth_overrun_ind="N",
            nom_cap_exceed_ind="N",
            all_qty_avail="Y",
            qty_reason=None,
            measure_date=DAY,
            cycle_id=CYCLE,
            download_timestamp=1_736_900_000.0 + revision,
            source_system="energy_transfer",
        )
        values["row_hash"] = row_hash(values)
        rows.append(tuple(values[c] for c in TARGET_COLUMNS))
    return rows


def time_merge(conn, rows: list[tuple], observed_at: datetime):
    parsed = ParsedFile(filename="bench.csv", rows=rows)
    started = time.perf_counter()
    counts = merge_capacity(
        conn,
        schema=SCHEMA,
        table=TABLE,
        parsed=parsed,
        measure_date=DAY,
        cycle_id=CYCLE,
        observed_at=observed_at,
        run_id="bench",
    )
    return time.perf_counter() - started, counts


def drop_tables(conn, version_table) -> None:
    """The benchmark's schema and its migration record, so the next run migrates afresh."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(version_table))
    conn.commit()


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()

    state = stack.running_state()
    url = server_url(state["services"]["postgres"], DATABASES["warehouse"])
    rows = make_rows(args.rows)
    changed = make_rows(args.rows, revision=1)

    endpoint = {"schema": SCHEMA, "table": TABLE}
    version_table = sql.Identifier(VERSION_SCHEMA, migration_options(endpoint)["version_table"])
    with psycopg.connect(url) as conn:
        drop_tables(conn, version_table)
        upgrade_endpoint(lambda: psycopg.connect(url), endpoint)
        conn.execute(
            f"CREATE TABLE {SCHEMA}.plain_copy AS SELECT {', '.join(TARGET_COLUMNS)} FROM {SCHEMA}.{TABLE} WITH NO DATA"  # noqa: S608
        )
        conn.commit()
        copy_seconds = time_psql_copy(url, f"{SCHEMA}.plain_copy", TARGET_COLUMNS, rows)
        new_seconds, new_counts = time_merge(conn, rows, datetime(2025, 1, 15, 12, tzinfo=UTC))
        half_seconds, half_counts = time_merge(conn, changed, datetime(2025, 1, 15, 18, tzinfo=UTC))
        drop_tables(conn, version_table)

    n = args.rows
    assert new_counts.inserted == n and new_counts.versions_opened == n, new_counts
    assert half_counts.updated == n // 2 + n % 2 and half_counts.versions_closed == half_counts.updated, half_counts
    print(f"rows: {n}")
    print(f"psql \\copy into a plain table:  {copy_seconds:7.2f} s  {n / copy_seconds:>10,.0f} rows/s")
    print(f"merge, all new rows:            {new_seconds:7.2f} s  {n / new_seconds:>10,.0f} rows/s")
    print(
        f"merge, half the rows changed:   {half_seconds:7.2f} s  {n / half_seconds:>10,.0f} rows/s "
        f"({half_counts.updated} updated, {half_counts.versions_closed} versions closed)"
    )
    print(f"merge/copy ratio: {copy_seconds / new_seconds:.2f}")


if __name__ == "__main__":
    main()
