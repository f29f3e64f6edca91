"""CapacityQualityGateOperator, rendered and run as in its DAG, against the devstack's
warehouse: it passes a loaded slice, fails exactly where check_loaded_cycle fails, and waits
for the slice's lock. (CapacityCycleMergeOperator runs in every run of
tests/integration/test_tec_operational_capacity.py, whose DAG it is the load of.)"""

from __future__ import annotations

import threading
from datetime import date

import pendulum
import pytest

from devstack import energy_transfer_data as et
from tests.integration.test_tec_slices import (  # noqa: F401 - fixtures
    LOCATIONS,
    T1,
    connect,
    empty_day,
    hold_slice_lock,
    merge,
    migrated,
    summary,
    until,
    waiting_for_a_slice_lock,
)

pytestmark = pytest.mark.integration


def gate_run(loaded: dict) -> dict:
    """Render the operator's SQL through Airflow (the DAG's search path and filters), then run it.
    Not ``dag.test()``: that runs only DAGs of a bundle (the operator runs so in every run of
    tests/integration/test_tec_operational_capacity.py)."""
    from airflow.sdk import DAG

    from etl_bundle.common.dag_defaults import SQL_FILTERS, TEMPLATE_SEARCHPATH
    from etl_bundle.tec.operators import CapacityQualityGateOperator

    with DAG(
        dag_id="tec_quality_gate_operator",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        template_searchpath=TEMPLATE_SEARCHPATH,
        user_defined_filters=SQL_FILTERS,
    ) as dag:
        gate = CapacityQualityGateOperator(task_id="quality_gate", loaded=loaded, conn_id="warehouse_postgres")
    context = {"params": {}, "dag": dag, "task": gate, "run_id": "test"}
    gate.render_template_fields(context, dag.get_template_env())
    return gate.execute(context)


def loaded_slice(connect, day: date) -> dict:
    text = et.capacity_csv(day, "Evening", LOCATIONS)
    return summary(day, merge(connect, day, text, T1), T1, text)


def test_the_gate_passes_a_loaded_slice(connect, empty_day):
    loaded = loaded_slice(connect, empty_day(date(2025, 7, 11)))
    assert gate_run(loaded) == {"checked": True, "file": loaded["file"], "table": loaded["table"]}


@pytest.mark.parametrize(
    "spoil",
    [
        # one current version missing for a row
        "DELETE FROM staging.operational_capacity_history WHERE measure_date = %s AND cycle_id = 'Evening' "
        "AND loc = (SELECT min(loc) FROM staging.operational_capacity_history WHERE measure_date = %s)",
        # the slice's latest load left one row more than the table holds
        "UPDATE staging.operational_capacity_loads SET rows_expected = rows_expected + 1 "
        "WHERE measure_date = %s AND cycle_id = 'Evening' AND %s::date IS NOT NULL",
    ],
    ids=["versions", "rows"],
)
def test_the_gate_fails_where_check_loaded_cycle_fails(warehouse, connect, empty_day, spoil):
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.load import check_loaded_cycle

    day = empty_day(date(2025, 7, 12))
    loaded = loaded_slice(connect, day)
    warehouse.execute(spoil, (day, day))
    with pytest.raises(AirflowFailException):
        check_loaded_cycle(loaded, conn_id="warehouse_postgres")
    # AirflowFailException: a failed check is not retried.
    with pytest.raises(AirflowFailException, match="quality gate failed for .* Test failed"):
        gate_run(loaded)


def test_the_gate_waits_for_a_load_holding_the_slice(warehouse, connect, empty_day):
    day = empty_day(date(2025, 7, 13))
    loaded = loaded_slice(connect, day)
    holder = hold_slice_lock(connect, day)
    seen = {}

    def release_once_the_gate_waits():
        try:
            until(lambda: waiting_for_a_slice_lock(warehouse) == 1, "the gate waiting", attempts=6000)
            seen["waiting"] = True
        finally:
            holder.rollback()

    releaser = threading.Thread(target=release_once_the_gate_waits)
    releaser.start()
    result = gate_run(loaded)
    releaser.join(timeout=60)
    assert seen.get("waiting"), "the gate read the slice while a load held its lock"
    assert result["checked"] is True
