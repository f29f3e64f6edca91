"""While a TEC cycle is not yet published, no worker slot is held: the waiting task instance is
``deferred`` (the default wait_mode) or ``up_for_reschedule``, and the Celery workers report no
active task; once the stand-in publishes it the run succeeds. A triggerer killed and restarted
during a deferred wait resumes it."""

from __future__ import annotations

import time
from datetime import date

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

DAG_ID = "tec_operational_capacity"
DAY = date(2025, 8, 21)
WAIT_TASK = "cycle.wait_until_published"


def conf(wait_mode: str | None) -> dict:
    # A deadline far beyond the gas day (which is long past): only publishing ends the wait.
    base = {"gas_day": DAY.isoformat(), "cycles": ["Evening"], "poke_interval_seconds": 5, "lookback_days": 0}
    return {**base, "publish_deadline_hours": 1_000_000, **({"wait_mode": wait_mode} if wait_mode else {})}


@pytest.fixture
def unpublished_day(warehouse, airflow_api):
    from etl_bundle.tec.schema import migrate_endpoints

    et.prepare_warehouse(warehouse)
    migrate_endpoints("warehouse_postgres", None)
    for table in ("operational_capacity", "operational_capacity_history", "operational_capacity_rejects"):
        warehouse.execute(
            sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(sql.Identifier("staging", table)), (DAY,)
        )
    et.unpublish(DAY, "Evening")
    airflow_api.unpause(DAG_ID)
    yield
    airflow_api.pause(DAG_ID)
    et.unpublish(DAY, "Evening")


def active_tasks() -> dict[str, list]:
    """Each worker's active tasks, as Celery's inspect reports them on the cluster's broker."""
    from celery import Celery

    from devstack import stack

    app = Celery(broker=stack.load_state()["cluster"]["redis"]["url"])
    try:
        return app.control.inspect(timeout=3).active() or {}
    finally:
        app.close()


def wait_state(airflow_api, run_id: str) -> str | None:
    states = [ti["state"] for ti in airflow_api.task_instances(DAG_ID, run_id) if ti["task_id"] == WAIT_TASK]
    return states[0] if states else None


def until_waiting_with_no_worker_busy(airflow_api, run_id: str, state: str, timeout: float = 300) -> dict:
    """Poll until the wait is in ``state`` while every worker reports no active task (a reschedule
    poke may be running at one sample); the workers' answer then."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        found = wait_state(airflow_api, run_id)
        if found == state:
            active = active_tasks()
            if active and not any(active.values()) and wait_state(airflow_api, run_id) == state:
                return active
        seen.append(found)
        time.sleep(1)
    raise AssertionError(f"never {state} with idle workers; states seen: {seen[-10:]}")


@pytest.mark.parametrize(("wait_mode", "state"), [(None, "deferred"), ("reschedule", "up_for_reschedule")])
def test_an_unpublished_cycle_holds_no_worker_slot_then_the_run_finishes(
    airflow_api, warehouse, unpublished_day, wait_mode, state
):
    run_id = airflow_api.trigger(DAG_ID, conf(wait_mode))
    active = until_waiting_with_no_worker_busy(airflow_api, run_id, state)
    assert sorted(name.split("@")[0] for name in active) == ["worker-1", "worker-2"]  # both answered, idle
    if state == "deferred":
        # Deferred means no poke at all from a worker: it stays so, the workers idle, for a while.
        for _ in range(5):
            time.sleep(2)
            assert wait_state(airflow_api, run_id) == "deferred"
            assert not any(active_tasks().values())
    et.publish(DAY, "Evening", et.capacity_csv(DAY, "Evening", 5))
    assert airflow_api.wait_for_run(DAG_ID, run_id, timeout=600) == "success"
    loaded = warehouse.execute(
        "SELECT count(*) FROM staging.operational_capacity WHERE measure_date = %s", (DAY,)
    ).fetchone()[0]
    assert loaded == 5


def test_a_triggerer_restarted_during_a_deferred_wait_resumes_it(airflow_api, warehouse, unpublished_day):
    from devstack import cluster, stack
    from devstack.processes import is_alive, stop_group

    run_id = airflow_api.trigger(DAG_ID, conf("deferrable"))
    until_waiting_with_no_worker_busy(airflow_api, run_id, "deferred")
    state = stack.load_state()
    old = state["cluster"]["components"]["triggerer"]["pid"]
    stop_group(old, grace=10)  # SIGKILL after the grace: the kernel ends it a moment later
    gone_by = time.monotonic() + 10
    while is_alive(old) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert not is_alive(old)
    et.publish(DAY, "Evening", et.capacity_csv(DAY, "Evening", 5))  # published while no triggerer runs
    time.sleep(5)
    assert wait_state(airflow_api, run_id) == "deferred"  # nothing lost, nothing failed
    cluster._spawn_component(state, "triggerer", cluster.cluster_environment(state))
    assert airflow_api.wait_for_run(DAG_ID, run_id, timeout=600) == "success"
    loaded = warehouse.execute(
        "SELECT count(*) FROM staging.operational_capacity WHERE measure_date = %s", (DAY,)
    ).fetchone()[0]
    assert loaded == 5
