"""While a TEC cycle or DPS's answer is not yet published, no worker slot is held: the waiting task
instance is ``deferred`` (the default wait_mode) or ``up_for_reschedule``, and the Celery workers
report no active task; once the stand-in publishes it (DPS's answer put on the SFTP server) the run
succeeds. A triggerer killed and restarted during a deferred wait resumes it."""

from __future__ import annotations

import time
from datetime import date

import pytest
from psycopg import sql

from devstack import dfps_data, paths
from devstack import energy_transfer_data as et
from tests.cluster.api import wait_until
from tests.cluster.test_every_dag import DFPS_STATE, assert_answer_reconciled

pytestmark = pytest.mark.integration

DAG_ID = "tec_operational_capacity"
DAY = date(2025, 8, 21)
WAIT_TASK = "cycle.wait_until_published"
TEC_WAIT = (DAG_ID, WAIT_TASK)
RECEIVE = "dfps_dps_receive"
DPS_WAIT = (RECEIVE, "wait_for_dps_answer")
DPS_PERIOD = "FY2026_Q3"  # a quarter no other cluster test sends or answers
DPS_SEED_SIZE = 400


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


def wait_state(airflow_api, run_id: str, wait: tuple[str, str] = TEC_WAIT) -> str | None:
    """The state of the waiting task (``wait``: its dag_id and task_id) in ``run_id``."""
    dag_id, task_id = wait
    states = [ti["state"] for ti in airflow_api.task_instances(dag_id, run_id) if ti["task_id"] == task_id]
    return states[0] if states else None


def until_waiting_with_no_worker_busy(
    airflow_api, run_id: str, state: str, timeout: float = 300, wait: tuple[str, str] = TEC_WAIT
) -> dict:
    """Poll until the wait is in ``state`` while every worker reports no active task (a reschedule
    poke may be running at one sample); the workers' answer then."""
    seen = []

    def idle_while_waiting() -> dict | None:
        found = wait_state(airflow_api, run_id, wait)
        seen.append(found)
        if found != state:
            return None
        active = active_tasks()
        if active and not any(active.values()) and wait_state(airflow_api, run_id, wait) == state:
            return active
        return None

    return wait_until(
        idle_while_waiting,
        timeout=timeout,
        interval=1,
        what=lambda: f"{state} with idle workers (states seen: {seen[-10:]})",
    )


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


@pytest.fixture(scope="module")
def sent_quarter(airflow_api, warehouse, devstack_state):
    """DPS_PERIOD sent by dfps_dps_send through the API (the reference workbook the receive side
    reconciles against), the DPS exchange's records emptied first (a period is claimed and loaded once)."""
    from tests.integration.conftest import migrate_warehouse

    dfps_data.seed(devstack_state, DPS_SEED_SIZE)
    migrate_warehouse("dfps")
    for table in DFPS_STATE:
        warehouse.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("dfps", table)))
    run_id = only_run_of(airflow_api, "dfps_dps_send", {"period": DPS_PERIOD, "force": True})
    try:
        assert airflow_api.wait_for_run("dfps_dps_send", run_id) == "success"
    finally:
        airflow_api.pause("dfps_dps_send")
    return DPS_PERIOD


def only_run_of(airflow_api, dag_id: str, conf: dict) -> str:
    """``dag_id`` unpaused and triggered with ``conf``; once that run has started, its id. The scheduled
    run unpausing creates is ended: with max_active_runs=1 a scheduled receive, waiting days for its
    answer, would hold ours queued behind it."""
    airflow_api.unpause(dag_id)
    run_id = airflow_api.trigger(dag_id, conf)

    def running() -> bool:
        airflow_api.fail_scheduled_runs([dag_id])
        return airflow_api.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"] != "queued"

    wait_until(running, timeout=180, interval=2, what=f"{dag_id} run {run_id} started")
    return run_id


def remove_answer(period: str) -> None:
    for path in (paths.sftp_root() / "to_dfps").glob(f"*{period}*"):
        path.unlink()


@pytest.fixture
def unanswered_quarter(airflow_api, sent_quarter):
    remove_answer(sent_quarter)
    yield sent_quarter
    airflow_api.pause(RECEIVE)
    airflow_api.fail_scheduled_runs([RECEIVE])
    remove_answer(sent_quarter)


@pytest.mark.parametrize(("wait_mode", "state"), [(None, "deferred"), ("reschedule", "up_for_reschedule")])
def test_an_unanswered_quarter_holds_no_worker_slot_then_dps_answer_is_reconciled(
    airflow_api, warehouse, unanswered_quarter, wait_mode, state
):
    # Only the answer ends the wait: the late notice (6 h after send) and the deadline (72 h) stay far off.
    fast = {"settle_seconds": 1, "poke_interval_seconds": 5, "counts_grace_minutes": 0, "min_age_minutes": 0}
    conf = {"period": unanswered_quarter, **fast, **({"wait_mode": wait_mode} if wait_mode else {})}
    run_id = only_run_of(airflow_api, RECEIVE, conf)
    active = until_waiting_with_no_worker_busy(airflow_api, run_id, state, wait=DPS_WAIT)
    assert sorted(name.split("@")[0] for name in active) == ["worker-1", "worker-2"]  # both answered, idle
    assert not list((paths.sftp_root() / "to_dfps").glob(f"*{unanswered_quarter}*"))  # nothing to take yet
    dfps_data.place_dps_answer(unanswered_quarter, size=DPS_SEED_SIZE)
    assert airflow_api.wait_for_run(RECEIVE, run_id, timeout=600) == "success", airflow_api.task_states(RECEIVE, run_id)
    assert_answer_reconciled(airflow_api, warehouse, RECEIVE, run_id, unanswered_quarter)
