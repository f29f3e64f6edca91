"""A backfill of tec_operational_capacity on the devstack's own Airflow (scheduler, LocalExecutor):
three gas days give exactly three backfill runs, one per gas day, and their rows."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack import energy_transfer_data as et
from tests.integration.conftest import airflow_cli, metadata

pytestmark = pytest.mark.integration

DAYS = [date(2025, 7, 11), date(2025, 7, 12), date(2025, 7, 13)]
CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 15


def test_backfill_of_three_gas_days(running_airflow, warehouse):
    from etl_bundle.tec.load import ensure_all_tables

    env = running_airflow
    ensure_all_tables("warehouse_postgres")
    for day in DAYS:
        warehouse.execute("DELETE FROM staging.operational_capacity WHERE measure_date = %s", (day,))
        warehouse.execute("DELETE FROM staging.operational_capacity_history WHERE measure_date = %s", (day,))
        for cycle in CYCLES:
            et.publish(day, cycle, et.configured_cycles()[cycle]["code"], et.capacity_csv(day, cycle, LOCATIONS))

    airflow_cli(env, "dags", "reserialize")
    airflow_cli(env, "dags", "unpause", "tec_operational_capacity")
    with metadata(env) as db:
        previous = db.execute("SELECT coalesce(max(id), 0) FROM backfill").fetchone()[0]
    airflow_cli(
        env,
        "backfill",
        "create",
        "--dag-id",
        "tec_operational_capacity",
        "--from-date",
        DAYS[0].isoformat(),
        "--to-date",
        DAYS[-1].isoformat(),
        "--reprocess-behavior",
        "completed",
    )
    deadline = time.monotonic() + 420
    with metadata(env) as db:
        backfill_id = db.execute(
            "SELECT id FROM backfill WHERE dag_id = 'tec_operational_capacity' AND id > %s", (previous,)
        ).fetchone()[0]
        while True:
            runs = db.execute(
                "SELECT logical_date, state, run_type FROM dag_run WHERE backfill_id = %s ORDER BY logical_date",
                (backfill_id,),
            ).fetchall()
            if runs and all(state in ("success", "failed") for _, state, _ in runs):
                break
            assert time.monotonic() < deadline, f"backfill runs did not finish: {runs}"
            time.sleep(3)
    airflow_cli(env, "dags", "pause", "tec_operational_capacity")

    central = ZoneInfo("America/Chicago")
    assert [(state, run_type) for _, state, run_type in runs] == [("success", "backfill")] * 3
    assert [logical.astimezone(central) for logical, _, _ in runs] == [
        datetime(d.year, d.month, d.day, tzinfo=central) for d in DAYS
    ]
    counts = dict(
        warehouse.execute(
            "SELECT measure_date, count(*) FROM staging.operational_capacity "
            "WHERE measure_date BETWEEN %s AND %s GROUP BY measure_date",
            (DAYS[0] - timedelta(days=1), DAYS[-1] + timedelta(days=1)),
        ).fetchall()
    )
    assert counts == {day: LOCATIONS * len(CYCLES) for day in DAYS}
