"""Backfills created through ``POST /api/v2/backfills`` on the cluster."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

CENTRAL = ZoneInfo("America/Chicago")
CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 15


def central_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CENTRAL)


def test_tec_backfill_of_three_gas_days_gives_three_runs_loading_those_days(airflow_api, warehouse):
    from etl_bundle.tec.schema import migrate_endpoints

    days = [date(2025, 8, 4), date(2025, 8, 5), date(2025, 8, 6)]
    et.prepare_warehouse(warehouse)  # the original's table, as the devstack seed leaves it
    migrate_endpoints("warehouse_postgres", None)
    for day in days:
        for table in ("operational_capacity", "operational_capacity_history"):
            warehouse.execute(
                sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(sql.Identifier("staging", table)), (day,)
            )
        for cycle in CYCLES:
            et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS))

    dag_id = "tec_operational_capacity"
    airflow_api.unpause(dag_id)
    try:
        runs = airflow_api.backfill(
            dag_id,
            central_midnight(days[0]).isoformat(),
            central_midnight(days[-1]).isoformat(),
            dag_run_conf={"poke_interval_seconds": 5, "lookback_days": 0},
        )
    finally:
        airflow_api.pause(dag_id)

    assert [run["state"] for run in runs] == ["success"] * 3
    assert [datetime.fromisoformat(run["logical_date"]).astimezone(CENTRAL) for run in runs] == [
        central_midnight(day) for day in days
    ]
    counts = dict(
        warehouse.execute(
            "SELECT measure_date, count(*) FROM staging.operational_capacity "
            "WHERE measure_date BETWEEN %s AND %s GROUP BY measure_date",
            (days[0] - timedelta(days=1), days[-1] + timedelta(days=1)),
        ).fetchall()
    )
    assert counts == {day: LOCATIONS * len(CYCLES) for day in days}
