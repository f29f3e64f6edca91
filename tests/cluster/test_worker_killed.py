"""A Celery worker SIGKILLed in the middle of a TEC load: the task is retried on the other worker,
the run succeeds, and the tables hold what an undisturbed run leaves.

Runs last in the tier (file order): it restarts the cluster afterwards.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

DAG_ID = "tec_operational_capacity"
DAY = date(2025, 8, 20)
LOCATIONS = 200_000  # a COPY that lasts long enough to be cut
CONF = {"gas_day": DAY.isoformat(), "cycles": ["Evening"], "poke_interval_seconds": 2, "lookback_days": 0}


def clear_day(warehouse) -> None:
    for table in ("operational_capacity", "operational_capacity_history", "operational_capacity_rejects"):
        warehouse.execute(
            sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(sql.Identifier("staging", table)), (DAY,)
        )


def day_checksums(warehouse) -> tuple:
    """What a load decides, without the times it ran: rows and versions by key and content hash."""
    current = warehouse.execute(
        "SELECT count(*), md5(string_agg(loc || '|' || cycle_id || '|' || row_hash, ',' ORDER BY loc, cycle_id)) "
        "FROM staging.operational_capacity WHERE measure_date = %s",
        (DAY,),
    ).fetchone()
    history = warehouse.execute(
        "SELECT count(*), md5(string_agg(loc || '|' || cycle_id || '|' || row_hash || '|' || is_current, ','"
        " ORDER BY loc, cycle_id, row_hash)) FROM staging.operational_capacity_history WHERE measure_date = %s",
        (DAY,),
    ).fetchone()
    return current, history


def copy_in_progress(warehouse) -> int:
    return warehouse.execute("SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy").fetchone()[0]


@pytest.fixture
def published_day(warehouse):
    from etl_bundle.tec.schema import migrate_endpoints

    et.prepare_warehouse(warehouse)
    migrate_endpoints("warehouse_postgres", None)
    clear_day(warehouse)
    et.publish(DAY, "Evening", et.capacity_csv(DAY, "Evening", LOCATIONS))
    yield
    et.unpublish(DAY, "Evening")
    clear_day(warehouse)


def test_a_worker_killed_mid_load_leaves_the_tables_as_an_undisturbed_run(airflow_api, warehouse, published_day):
    import signal

    from devstack import cluster, stack
    from devstack.processes import stop_group

    airflow_api.unpause(DAG_ID)
    try:
        undisturbed = airflow_api.trigger(DAG_ID, CONF)
        assert airflow_api.wait_for_run(DAG_ID, undisturbed) == "success"
        expected = day_checksums(warehouse)
        assert expected[0][0] == LOCATIONS
        clear_day(warehouse)

        run_id = airflow_api.trigger(DAG_ID, CONF)
        deadline = time.monotonic() + 600
        while True:
            loads = [ti for ti in airflow_api.task_instances(DAG_ID, run_id) if ti["task_id"] == "cycle.load"]
            running = [ti for ti in loads if ti["state"] == "running" and ti["hostname"]]
            if running and copy_in_progress(warehouse) > 10_000:
                break
            assert time.monotonic() < deadline, f"the load never ran: {loads}"
            time.sleep(0.05)
        victim = running[0]["hostname"]
        stop_group(stack.load_state()["cluster"]["components"][victim]["pid"], first_signal=signal.SIGKILL, grace=5)

        assert airflow_api.wait_for_run(DAG_ID, run_id, timeout=900) == "success"
    finally:
        airflow_api.pause(DAG_ID)
        cluster.up()  # the killed worker's cluster is restarted whole

    load = next(ti for ti in airflow_api.task_instances(DAG_ID, run_id) if ti["task_id"] == "cycle.load")
    assert load["try_number"] >= 2, "the load was not retried"
    survivor = ({"worker-1", "worker-2"} - {victim}).pop()
    assert load["hostname"] == survivor
    assert day_checksums(warehouse) == expected
