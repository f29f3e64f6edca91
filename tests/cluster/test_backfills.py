"""Backfills created through ``POST /api/v2/backfills`` on the cluster: TEC over three gas days; the DFPS
exchange over FY2025 (send gives exactly the four quarter runs, each sending its own period; receive, on
the same timetable, gives the same four periods, each taking and reconciling its own DPS answer)."""

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


FY2025 = (central_midnight(date(2024, 9, 1)).isoformat(), central_midnight(date(2025, 8, 31)).isoformat())
QUARTERS = ["FY2025_Q1", "FY2025_Q2", "FY2025_Q3", "FY2025_Q4"]
QUARTER_STARTS = [central_midnight(date(y, m, 1)) for y, m in ((2024, 9), (2024, 12), (2025, 3), (2025, 6))]
DPS_SEED_SIZE = 400


def backfilled_fy2025(api, dag_id: str, **options) -> list[dict]:
    """A backfill of ``dag_id`` over FY2025 through the API: exactly four backfill runs, on the quarters' first days."""
    api.delete_runs(dag_id)  # a backfill would reuse an earlier run at one of its dates
    api.unpause(dag_id)
    try:
        runs = api.backfill(dag_id, *FY2025, **options)
    finally:
        api.pause(dag_id)
    assert [(run["state"], run["run_type"]) for run in runs] == [("success", "backfill")] * 4
    assert [datetime.fromisoformat(run["logical_date"]).astimezone(CENTRAL) for run in runs] == QUARTER_STARTS
    return runs


@pytest.fixture(scope="module")
def sent_fy2025(airflow_api, devstack_state, warehouse):
    from devstack import dfps_data
    from tests.integration.conftest import migrate_warehouse

    dfps_data.seed(devstack_state, DPS_SEED_SIZE)
    migrate_warehouse("dfps")
    warehouse.execute("TRUNCATE dfps.dps_exchanges")
    return backfilled_fy2025(airflow_api, "dfps_dps_send")


def exchanged_periods(warehouse, runs, direction: str, file_pattern: str) -> list[tuple[str, str]]:
    return warehouse.execute(
        "SELECT run_id, period FROM dfps.dps_exchanges"
        " WHERE run_id = ANY(%s) AND direction = %s AND file_name ILIKE %s ORDER BY period",
        ([run["dag_run_id"] for run in runs], direction, file_pattern),
    ).fetchall()


def test_send_backfill_of_fy2025_gives_its_four_quarters(sent_fy2025, warehouse):
    sent = exchanged_periods(warehouse, sent_fy2025, "to_dps", "Children%")
    assert [period for _, period in sent] == QUARTERS
    assert len({run_id for run_id, _ in sent}) == 4


def test_receive_backfill_of_fy2025_reconciles_each_quarter_with_its_own_answer(sent_fy2025, airflow_api, warehouse):
    from devstack import dfps_data, paths

    dag_id = "dfps_dps_receive"
    answers = paths.sftp_root() / "to_dfps"
    for old in answers.iterdir():
        old.unlink()
    for period in QUARTERS:  # DPS answers every quarter it was sent
        dfps_data.place_dps_answer(period, size=DPS_SEED_SIZE)

    runs = backfilled_fy2025(
        airflow_api,
        dag_id,
        dag_run_conf={"settle_seconds": 1, "poke_interval_seconds": 5, "counts_grace_minutes": 0, "min_age_minutes": 0},
        max_active_runs=1,  # as the DAG
    )

    # Each run took its own period's results and counts, and nothing else.
    collected = exchanged_periods(warehouse, runs, "from_dps", "dfps-missing-person-%")
    assert sorted(period for _, period in collected) == sorted(QUARTERS * 2)
    run_of = {period: run_id for run_id, period in collected}
    assert set(collected) == {(run_id, period) for period, run_id in run_of.items()}  # results and counts: one run
    assert len(set(run_of.values())) == 4
    assert sorted(p.name for p in answers.iterdir()) == []

    # Each run's reconciliation is announced for its period, with its three workbooks on the share.
    for period, run_id in run_of.items():
        [event] = airflow_api.asset_events(dag_id, run_id)
        extra = event["extra"]
        assert extra["period"] == period
        assert sorted(name.split("/")[-1].split(f"_{period}_")[0] for name in extra["files"]) == [
            "DPS_not_in_IMPACT",
            "DPS_total_runaway_events",
            "IMPACT_not_in_DPS",
        ]
        assert all((paths.share_dir() / name).is_file() for name in extra["files"])
