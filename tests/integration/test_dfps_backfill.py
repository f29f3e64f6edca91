"""A backfill of dfps_dps_send over FY2025 on the devstack's own Airflow: exactly the four
quarter runs, each sending its own period."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from devstack import dfps_data
from tests.integration.conftest import airflow_cli, metadata

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_send"


def test_backfill_of_fy2025_gives_its_four_quarters(running_airflow, devstack_state, warehouse):
    env = running_airflow
    dfps_data.seed(devstack_state, 400)
    warehouse.execute("DROP TABLE IF EXISTS dfps.dps_exchanges")

    # Earlier runs (dags test uses the metadata database too) must not be reused by the backfill.
    airflow_cli(env, "dags", "delete", DAG_ID, "--yes")
    airflow_cli(env, "dags", "reserialize")
    airflow_cli(env, "dags", "unpause", DAG_ID)
    with metadata(env) as db:
        previous = db.execute("SELECT coalesce(max(id), 0) FROM backfill").fetchone()[0]
    airflow_cli(
        env,
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        "2024-09-01",
        "--to-date",
        "2025-08-31",
        "--reprocess-behavior",
        "completed",
    )
    deadline = time.monotonic() + 420
    with metadata(env) as db:
        backfill_id = db.execute(
            "SELECT id FROM backfill WHERE dag_id = %s AND id > %s", (DAG_ID, previous)
        ).fetchone()[0]
        while True:
            runs = db.execute(
                "SELECT run_id, logical_date, state, run_type FROM dag_run WHERE backfill_id = %s"
                " ORDER BY logical_date",
                (backfill_id,),
            ).fetchall()
            if runs and all(state in ("success", "failed") for _, _, state, _ in runs):
                break
            assert time.monotonic() < deadline, f"backfill runs did not finish: {runs}"
            time.sleep(3)
    airflow_cli(env, "dags", "pause", DAG_ID)

    central = ZoneInfo("America/Chicago")
    assert [(state, run_type) for _, _, state, run_type in runs] == [("success", "backfill")] * 4
    assert [logical.astimezone(central) for _, logical, _, _ in runs] == [
        datetime(2024, 9, 1, tzinfo=central),
        datetime(2024, 12, 1, tzinfo=central),
        datetime(2025, 3, 1, tzinfo=central),
        datetime(2025, 6, 1, tzinfo=central),
    ]
    sent = warehouse.execute(
        "SELECT run_id, period FROM dfps.dps_exchanges WHERE run_id = ANY(%s) AND file_name LIKE 'Children%%'",
        ([run_id for run_id, *_ in runs],),
    ).fetchall()
    assert sorted(period for _, period in sent) == ["FY2025_Q1", "FY2025_Q2", "FY2025_Q3", "FY2025_Q4"]
    assert len({run_id for run_id, _ in sent}) == 4
