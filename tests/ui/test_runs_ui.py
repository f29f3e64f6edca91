"""Runs started from the UI (a trigger, a backfill) and a failed run's log, read in the UI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et
from tests.cluster.api import wait_until
from tests.faults.conftest import devstack_secrets

pytestmark = pytest.mark.integration

TEC = "tec_operational_capacity"
CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 20


@pytest.fixture
def published(warehouse):
    """Gas days of their own, every default cycle published, nothing loaded yet; unpublished after."""
    et.prepare_warehouse(warehouse)
    days: list[date] = []

    def publish(day: date) -> date:
        for table in ("operational_capacity", "operational_capacity_history", "operational_capacity_rejects"):
            if warehouse.execute("SELECT to_regclass(%s)", (f"staging.{table}",)).fetchone()[0]:
                warehouse.execute(
                    sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(sql.Identifier("staging", table)), (day,)
                )
        for cycle in CYCLES:
            et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS))
        days.append(day)
        return day

    yield publish
    for day in days:
        for cycle in et.CYCLES:
            et.unpublish(day, cycle)


def fill_field(dialog, name: str, value: str) -> None:
    dialog.locator(f"[name='element_{name}']").fill(value)


def test_tec_triggered_from_the_form_succeeds_with_every_mapped_cycle_green(ui, published):
    day = published(date(2025, 7, 9))
    before = {r["dag_run_id"] for r in ui.api.get(f"/dags/{TEC}/dagRuns", limit=100)["dag_runs"]}
    dialog = ui.open_trigger_form(TEC)
    fill_field(dialog, "gas_day", day.isoformat())
    fill_field(dialog, "poke_interval_seconds", "1")
    fill_field(dialog, "lookback_days", "0")
    # Checked by default; a paused DAG would leave the run queued.
    unpause = dialog.get_by_role("checkbox", name=f"Unpause {TEC} on trigger")
    if unpause.count() and not unpause.is_checked():
        dialog.get_by_text(f"Unpause {TEC} on trigger").click()
    ui.shot("trigger_tec_filled")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    new = wait_until(
        lambda: [r for r in ui.api.get(f"/dags/{TEC}/dagRuns", limit=100)["dag_runs"] if r["dag_run_id"] not in before],
        timeout=120,
        what="the triggered run",
    )
    [run] = new
    assert run["conf"]["gas_day"] == day.isoformat()
    try:
        state = ui.api.wait_for_run(TEC, run["dag_run_id"])
    finally:
        ui.api.pause(TEC)
    assert state == "success"
    page = ui.open(f"/dags/{TEC}/runs/{run['dag_run_id']}")
    page.get_by_text("cycle").first.wait_for()
    ui.shot("grid_tec_success")
    # Every mapped instance of the cycle group, as the UI lists them.
    page = ui.open(f"/dags/{TEC}/runs/{run['dag_run_id']}/tasks/cycle.load/mapped")
    page.get_by_text("Success").first.wait_for()
    ui.shot("mapped_cycles_tec")
    instances = ui.api.task_instances(TEC, run["dag_run_id"])
    mapped = [ti for ti in instances if ti["map_index"] >= 0]
    assert len({ti["map_index"] for ti in mapped if ti["task_id"] == "cycle.load"}) == len(CYCLES)
    states = [(ti["task_id"], ti["map_index"], ti["state"]) for ti in mapped]
    assert all(state == "success" for *_, state in states), states
    # The mapped instances' table, not the page (the grid beside it shows earlier runs).
    rows = page.get_by_role("table").first.locator("tbody tr")
    states = [row.inner_text() for row in rows.all()]
    assert len(states) == len(CYCLES) and all("Success" in row for row in states), states


def test_a_two_gas_day_backfill_from_the_dialog_gives_two_successful_runs(ui, published):
    first = published(date(2025, 7, 12))
    second = published(first + timedelta(days=1))
    ui.api.unpause(TEC)  # backfill runs stay queued while the DAG is paused
    try:
        dialog = ui.open_trigger_form(TEC)
        dialog.get_by_text("Backfill", exact=True).click()
        # From and To: the two date-time pickers of the Date Range (the Params' date fields come later).
        dates = dialog.get_by_placeholder("Select date and time")
        dates.nth(0).fill(f"{first.isoformat()} 00:00")
        dates.nth(1).fill(f"{second.isoformat()} 00:00")
        dialog.get_by_text("All Runs").first.click()
        dialog.get_by_text("2 runs will be triggered").first.wait_for()
        ui.shot("backfill_dialog_tec")
        dialog.get_by_role("button", name="Run Backfill").click()
        backfill = wait_until(
            lambda: [b for b in ui.api.get("/backfills", dag_id=TEC)["backfills"] if not b["completed_at"]]
            or [b for b in ui.api.get("/backfills", dag_id=TEC)["backfills"]][-1:],
            timeout=120,
            what="the backfill",
        )[-1]
        wait_until(lambda: ui.api.get(f"/backfills/{backfill['id']}")["completed_at"], what="the backfill's end")
    finally:
        ui.api.pause(TEC)
    runs = ui.api.get(f"/dags/{TEC}/dagRuns", run_type="backfill", order_by="-start_date", limit=100)["dag_runs"]
    runs = [run for run in runs if run.get("backfill_id") == backfill["id"]] or runs[:2]
    assert len(runs) == 2 and all(run["state"] == "success" for run in runs), runs
    ui.open(f"/dags/{TEC}")
    ui.shot("backfill_runs_tec")


def test_a_failed_run_s_task_log_is_readable_in_the_ui_without_a_devstack_secret(ui, published):
    day = published(date(2025, 7, 16))
    et.publish(day, "Evening", et.capacity_csv(day, "Evening", LOCATIONS).replace("Loc Zn,", "Loc Zone Code,", 1))
    ui.api.unpause(TEC)
    try:
        conf = {"gas_day": day.isoformat(), "cycles": ["Evening"], "poke_interval_seconds": 1, "lookback_days": 0}
        run_id = ui.api.trigger(TEC, conf)
        assert ui.api.wait_for_run(TEC, run_id) == "failed"
    finally:
        ui.api.pause(TEC)
    page = ui.open(f"/dags/{TEC}/runs/{run_id}/tasks/cycle.load/mapped/0")
    page.get_by_text("Loc Zone Code").first.wait_for()
    ui.shot("failed_task_log_tec")
    text = page.locator("body").inner_text()
    leaked = [name for name, secret in devstack_secrets().items() if secret in text or secret in page.content()]
    assert not leaked, leaked
