"""On the cluster the DAG's failure callback runs in the dag-processor: it too sends one mail per failed run."""

from __future__ import annotations

import time
from datetime import date

import pytest

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

FIVE_CYCLES = ["Timely", "Evening", "Intraday 1", "Intraday 2", "Intraday 3"]


@pytest.fixture
def maildir(devstack_state):
    from devstack.services import ensure_maildir

    return ensure_maildir()


def test_five_failed_mapped_loads_send_one_mail_from_the_dag_processor(airflow_api, warehouse, maildir):
    dag_id = "tec_operational_capacity"
    day = date(2025, 5, 21)
    et.prepare_warehouse(warehouse)
    for cycle in FIVE_CYCLES:
        # A header Energy Transfer never sends: each load fails at once, without retry.
        et.publish(day, cycle, et.capacity_csv(day, cycle, 20).replace("Loc Zn,", "Loc Zone Code,", 1))
    seen = set(maildir.keys())
    airflow_api.unpause(dag_id)
    try:
        conf = {"gas_day": day.isoformat(), "cycles": FIVE_CYCLES, "poke_interval_seconds": 1, "lookback_days": 0}
        run_id = airflow_api.trigger(dag_id, conf)
        state = airflow_api.wait_for_run(dag_id, run_id)
    finally:
        airflow_api.pause(dag_id)
        for cycle in FIVE_CYCLES:
            et.unpublish(day, cycle)
    assert state == "failed"
    loads = [ti["state"] for ti in airflow_api.task_instances(dag_id, run_id) if ti["task_id"] == "cycle.load"]
    assert loads == ["failed"] * 5

    # The scheduler hands the callback to the dag-processor: give it time, then count this run's mails.
    def mails() -> list:
        return [maildir[key] for key in set(maildir.keys()) - seen if run_id in maildir[key]["Subject"]]

    deadline = time.monotonic() + 120
    while not mails() and time.monotonic() < deadline:
        time.sleep(2)
    time.sleep(10)
    new = mails()
    assert [m["Subject"] for m in new] == [
        f"[airflow] {dag_id} failed: check_cycles, cycle.load[0, 1, 2, 3, 4] ({run_id})"
    ]
    assert new[0]["To"] == "data-engineering-alerts@example.org"
