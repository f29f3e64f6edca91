"""Runs started from the UI (a trigger, a backfill) and a failed run's log, read in the UI."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et
from tests.cluster.api import wait_until
from tests.faults.conftest import devstack_secrets

pytestmark = pytest.mark.integration

TEC = "tec_operational_capacity"
CYCLES = ("Evening", "Intraday 1", "Intraday 2", "Intraday 3")
LOCATIONS = 20
# Gas days are Central days: a backfill run's logical date is its gas day's Central midnight.
CENTRAL = ZoneInfo("America/Chicago")


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


def fill_fields(ui, dialog, values: dict[str, str]) -> None:
    """Type into Params' fields, each section's accordion opened first (a closed one hides it)."""
    params = ui.dag_details(TEC)["params"]
    for name, value in values.items():
        ui.open_section(dialog, params[name]["schema"].get("section"))
        dialog.locator(f"[name='element_{name}']").fill(value)


def test_tec_triggered_from_the_form_succeeds_with_every_mapped_cycle_green(ui, published):
    day = published(date(2025, 7, 9))
    before = {r["dag_run_id"] for r in ui.api.get(f"/dags/{TEC}/dagRuns", limit=100)["dag_runs"]}
    dialog = ui.open_trigger_form(TEC)
    fill_fields(ui, dialog, {"gas_day": day.isoformat(), "poke_interval_seconds": "1", "lookback_days": "0"})
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
        # Unpausing on trigger also started today's scheduled run, waiting for files nobody publishes.
        ui.api.fail_scheduled_runs([TEC])
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


def pick_day(ui, dialog, index: int, day: date) -> None:
    """Set the Date Range's From (0) or To (1). Each is a box that opens a popover with a date
    field (YYYY/MM/DD) and a time field; with no time From is the day's start, To its end."""
    dialog.get_by_test_id("datetime-input").nth(index).click()
    popover = ui.page.locator("[data-scope=popover][data-part=content][data-state=open]")
    popover.get_by_placeholder("YYYY/MM/DD").fill(day.strftime("%Y/%m/%d"))
    # A click outside closes the popover (Escape would close the dialog too).
    dialog.get_by_text("Date Range", exact=True).click()
    popover.wait_for(state="hidden")


def backfills_of(api, dag_id: str) -> list[dict]:
    return api.get("/backfills", dag_id=dag_id, limit=100)["backfills"]


def test_a_two_gas_day_backfill_from_the_dialog_gives_two_successful_runs(ui, published):
    first = published(date(2025, 7, 12))
    second = published(first + timedelta(days=1))
    before = {b["id"] for b in backfills_of(ui.api, TEC)}
    ui.api.unpause(TEC)  # backfill runs stay queued while the DAG is paused
    try:
        dialog = ui.open_trigger_form(TEC)
        # Airflow 3.3: the Trigger dialog's second choice, "Backfill" (its form: Date Range, Reprocess
        # Behavior, Max Active Runs, the Params), counted by a dry run, sent by "Run Backfill".
        dialog.get_by_text("Backfill", exact=True).click()
        dialog.get_by_text("Date Range", exact=True).wait_for()
        pick_day(ui, dialog, 0, first)
        pick_day(ui, dialog, 1, second)
        # All Runs: the two days count even if an earlier session left runs on them.
        dialog.get_by_text("All Runs", exact=True).click()
        dialog.get_by_text("2 runs will be triggered.", exact=True).wait_for()
        ui.shot("backfill_dialog_tec")
        dialog.get_by_role("button", name="Run Backfill", exact=True).click()
        [backfill] = wait_until(
            lambda: [b for b in backfills_of(ui.api, TEC) if b["id"] not in before], timeout=120, what="the backfill"
        )
        assert backfill["reprocess_behavior"] == "completed", backfill

        def backfill_done():
            # Unpausing made the scheduler start today's run too: end it, as AirflowApi.backfill does.
            ui.api.fail_scheduled_runs([TEC])
            return ui.api.get(f"/backfills/{backfill['id']}")["completed_at"]

        wait_until(backfill_done, what="the backfill's end")
    finally:
        ui.api.pause(TEC)
    runs = ui.api.get(
        f"/dags/{TEC}/dagRuns",
        run_type="backfill",
        logical_date_gte=backfill["from_date"],
        logical_date_lte=backfill["to_date"],
        order_by="logical_date",
        limit=100,
    )["dag_runs"]
    assert [datetime.fromisoformat(run["logical_date"]).astimezone(CENTRAL).date() for run in runs] == [
        first,
        second,
    ], runs
    assert all(run["state"] == "success" for run in runs), runs
    page = ui.open(f"/dags/{TEC}/runs")
    page.get_by_text(runs[0]["dag_run_id"]).first.wait_for()
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
