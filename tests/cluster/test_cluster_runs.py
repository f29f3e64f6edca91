"""The bundle's DAGs triggered through the REST API on the Celery cluster."""

from __future__ import annotations

from datetime import date

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 20


@pytest.fixture
def tec_day(warehouse):
    """A gas day of its own, every cycle published on the Energy Transfer stand-in, no rows loaded yet."""
    day = date(2025, 7, 2)
    et.prepare_warehouse(warehouse)
    for table in ("operational_capacity", "operational_capacity_history", "operational_capacity_rejects"):
        if warehouse.execute("SELECT to_regclass(%s)", (f"staging.{table}",)).fetchone()[0]:
            warehouse.execute(
                sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(sql.Identifier("staging", table)), (day,)
            )
    for cycle in CYCLES:
        et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS))
    yield day
    for cycle in CYCLES:
        et.unpublish(day, cycle)


def test_tec_runs_on_both_workers_and_loads_every_cycle(airflow_api, warehouse, tec_day):
    dag_id = "tec_operational_capacity"
    airflow_api.unpause(dag_id)
    try:
        run_id = airflow_api.trigger(
            dag_id, {"gas_day": tec_day.isoformat(), "poke_interval_seconds": 1, "lookback_days": 0}
        )
        state = airflow_api.wait_for_run(dag_id, run_id)
    finally:
        airflow_api.pause(dag_id)
    instances = airflow_api.task_instances(dag_id, run_id)
    assert state == "success", [(ti["task_id"], ti["map_index"], ti["state"]) for ti in instances]
    mapped = [ti for ti in instances if ti["map_index"] >= 0]
    assert mapped and all(ti["state"] == "success" for ti in mapped)
    assert {ti["hostname"] for ti in instances} == {"worker-1", "worker-2"}
    rows = dict(
        warehouse.execute(
            "SELECT cycle_id, count(*) FROM staging.operational_capacity WHERE measure_date = %s GROUP BY 1",
            (tec_day,),
        ).fetchall()
    )
    assert rows == {"Evening": LOCATIONS, "Intraday_1": LOCATIONS, "Intraday_2": LOCATIONS, "Intraday_3": LOCATIONS}
