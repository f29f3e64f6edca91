"""Backfills of the DFPS exchange over FY2025 on the devstack's own Airflow: send gives exactly
the four quarter runs, each sending its own period; receive, on the same timetable, gives the
same four periods, each taking and reconciling its own DPS answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from devstack import dfps_data, paths
from tests.integration.conftest import airflow_cli, metadata, migrate_warehouse, run_backfill

pytestmark = pytest.mark.integration

FY2025 = ("2024-09-01", "2025-08-31")
QUARTERS = ["FY2025_Q1", "FY2025_Q2", "FY2025_Q3", "FY2025_Q4"]
SEED_SIZE = 400
CENTRAL = ZoneInfo("America/Chicago")
QUARTER_STARTS = [datetime(y, m, 1, tzinfo=CENTRAL) for y, m in ((2024, 9), (2024, 12), (2025, 3), (2025, 6))]


def backfilled_fy2025(env, dag_id: str, **options) -> list[tuple]:
    # Earlier runs (dags test uses the metadata database too) must not be reused by the backfill.
    airflow_cli("dags", "delete", dag_id, "--yes")
    runs = run_backfill(env, dag_id, *FY2025, **options)
    assert [(state, run_type) for _, _, state, run_type in runs] == [("success", "backfill")] * 4
    assert [logical.astimezone(CENTRAL) for _, logical, _, _ in runs] == QUARTER_STARTS
    return runs


@pytest.fixture(scope="module")
def sent_fy2025(running_airflow, devstack_state, warehouse):
    dfps_data.seed(devstack_state, SEED_SIZE)
    migrate_warehouse("dfps")
    warehouse.execute("TRUNCATE dfps.dps_exchanges")
    return backfilled_fy2025(running_airflow, "dfps_dps_send")


def exchanged_periods(warehouse, runs, direction: str, file_pattern: str) -> list[tuple[str, str]]:
    return warehouse.execute(
        "SELECT run_id, period FROM dfps.dps_exchanges"
        " WHERE run_id = ANY(%s) AND direction = %s AND file_name ILIKE %s ORDER BY period",
        ([run_id for run_id, *_ in runs], direction, file_pattern),
    ).fetchall()


def test_send_backfill_of_fy2025_gives_its_four_quarters(sent_fy2025, warehouse):
    sent = exchanged_periods(warehouse, sent_fy2025, "to_dps", "Children%")
    assert [period for _, period in sent] == QUARTERS
    assert len({run_id for run_id, _ in sent}) == 4


def test_receive_backfill_of_fy2025_reconciles_each_quarter_with_its_own_answer(
    sent_fy2025, running_airflow, warehouse
):
    answers = paths.sftp_root() / "to_dfps"
    for old in answers.iterdir():
        old.unlink()
    for period in QUARTERS:  # DPS answers every quarter it was sent
        dfps_data.place_dps_answer(period, size=SEED_SIZE)

    runs = backfilled_fy2025(
        running_airflow,
        "dfps_dps_receive",
        conf={"settle_seconds": 1, "poke_interval_seconds": 5, "counts_grace_minutes": 0, "min_age_minutes": 0},
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
    with metadata(running_airflow) as db:
        events = dict(
            db.execute(
                "SELECT source_run_id, extra FROM asset_event WHERE source_run_id = ANY(%s)",
                ([run_id for run_id, *_ in runs],),
            ).fetchall()
        )
    for period, run_id in run_of.items():
        extra = events[run_id]
        assert extra["period"] == period
        assert sorted(name.split("/")[-1].split(f"_{period}_")[0] for name in extra["files"]) == [
            "DPS_not_in_IMPACT",
            "DPS_total_runaway_events",
            "IMPACT_not_in_DPS",
        ]
        assert all((paths.share_dir() / name).is_file() for name in extra["files"])
