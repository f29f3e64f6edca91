"""ecapris_statuses_sync's two savings, against the original's way, in one run.

Against the devstack (``python -m devstack up``); it reseeds the eCapris demo data
at ``--subprojects`` subprojects:

1. Oracle side (the stand-in): one query per subproject id, as the original did,
   against the sync's batched query (``batch_size`` ids per statement).
2. Moped side (the Hasura stand-in), an unchanged rerun: the original upserts every
   status again (Moped's ``updated_at`` trigger fires on each), the sync reads the
   existing statuses and sends nothing.

The stand-ins are local, so round trips cost about 0.1 ms here; against the real
warehouse and Hasura over the network the per-id and send-all baselines lose more.
The last line is ``batched/per-id time ratio: R; diff/send-all time ratio: D``.

Usage: python benchmarks/ecapris_batching.py [--subprojects 2000] [--batch-size 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from devstack import ecapris_data, stack  # noqa: E402
from devstack.services import DATABASES, server_url  # noqa: E402


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def read_all(conn, numbers, batch_size: int) -> list[dict]:
    from etl_bundle.common.source_db import dict_rows
    from etl_bundle.ecapris.sync import status_query_batches

    rows = []
    with conn.cursor() as cursor:
        for sql, binds in status_query_batches("postgres", numbers, batch_size):
            cursor.execute(sql, binds)
            rows.extend(dict_rows(cursor))
    return rows


def upsert_all(client, objects: list[dict], batch_size: int) -> int:
    sent = 0
    for start in range(0, len(objects), batch_size):
        sent += len(client.upsert_statuses(objects[start : start + batch_size]))
    return sent


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subprojects", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()

    state = stack.running_state()
    os.environ.update(stack.environment(state))
    logging.disable(logging.INFO)

    from etl_bundle.ecapris.moped import MopedClient
    from etl_bundle.ecapris.transforms import plan_changes, subproject_number, transform_rows

    ecapris_data.seed(state, args.subprojects * 10)
    numbers = [subproject_number(ecapris_data.subproject_id(n)) for n in range(args.subprojects)]
    postgres = state["services"]["postgres"]
    with psycopg.connect(server_url(postgres, DATABASES["oracle_standin"]), autocommit=True) as conn:
        read_all(conn, numbers[:50], args.batch_size)  # warm the connection and the plan cache
        per_id_seconds, per_id_rows = timed(lambda: read_all(conn, numbers, 1))
        batched_seconds, batched_rows = timed(lambda: read_all(conn, numbers, args.batch_size))
    assert len(per_id_rows) == len(batched_rows) > 0, (len(per_id_rows), len(batched_rows))

    statuses = transform_rows(batched_rows).statuses
    client = MopedClient("moped_hasura")
    upsert_all(client, statuses, args.batch_size)  # Moped now holds every status

    moped_url = server_url(postgres, DATABASES["moped"])
    with psycopg.connect(moped_url, autocommit=True) as moped:
        stamp = moped.execute("SELECT max(updated_at) FROM ecapris_subproject_statuses").fetchone()[0]
        send_all_seconds, sent = timed(lambda: upsert_all(client, statuses, args.batch_size))
        touched = moped.execute(
            "SELECT count(*) FROM ecapris_subproject_statuses WHERE updated_at > %s", (stamp,)
        ).fetchone()[0]
        stamp = moped.execute("SELECT max(updated_at) FROM ecapris_subproject_statuses").fetchone()[0]

        def diff():
            existing = client.existing_statuses((s["subproject_status_id"] for s in statuses), args.batch_size)
            return plan_changes(statuses, existing)

        diff_seconds, plan = timed(diff)
        diff_touched = moped.execute(
            "SELECT count(*) FROM ecapris_subproject_statuses WHERE updated_at > %s", (stamp,)
        ).fetchone()[0]
    assert sent == len(statuses) and plan.objects == [] and plan.unchanged == len(statuses), plan

    print(f"subprojects: {len(numbers)}, status rows: {len(batched_rows)}, batch size: {args.batch_size}")
    print(f"Oracle stand-in, one query per id:   {per_id_seconds:7.3f} s  ({len(numbers)} queries)")
    batches = -(-len(numbers) // args.batch_size)
    print(f"Oracle stand-in, batched ids:        {batched_seconds:7.3f} s  ({batches} queries)")
    print(f"Moped unchanged rerun, send all:     {send_all_seconds:7.3f} s  ({touched} rows' updated_at changed)")
    print(f"Moped unchanged rerun, diff:         {diff_seconds:7.3f} s  ({diff_touched} rows' updated_at changed)")
    print(
        f"batched/per-id time ratio: {batched_seconds / per_id_seconds:.2f}; "
        f"diff/send-all time ratio: {diff_seconds / send_all_seconds:.2f}"
    )


if __name__ == "__main__":
    main()
