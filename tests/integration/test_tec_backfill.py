"""A backfill of tec_operational_capacity on the devstack's own Airflow (scheduler, LocalExecutor):
three gas days give exactly three backfill runs, one per gas day, and their rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack import energy_transfer_data as et
from tests.integration.conftest import run_backfill

pytestmark = pytest.mark.integration

DAYS = [date(2025, 7, 11), date(2025, 7, 12), date(2025, 7, 13)]
CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 15


def test_backfill_of_three_gas_days(running_airflow, warehouse):
    from etl_bundle.tec.schema import migrate_endpoints

    env = running_airflow
    et.prepare_warehouse(warehouse)  # the original's table, as the devstack seed leaves it
    migrate_endpoints("warehouse_postgres", None)
    for day in DAYS:
        warehouse.execute("DELETE FROM staging.operational_capacity WHERE measure_date = %s", (day,))
        warehouse.execute("DELETE FROM staging.operational_capacity_history WHERE measure_date = %s", (day,))
        for cycle in CYCLES:
            et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS))

    runs = [
        (logical, state, run_type)
        for _, logical, state, run_type in run_backfill(
            env, "tec_operational_capacity", DAYS[0].isoformat(), DAYS[-1].isoformat()
        )
    ]

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
