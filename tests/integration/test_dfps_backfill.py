"""A backfill of dfps_dps_send over FY2025 on the devstack's own Airflow: exactly the four
quarter runs, each sending its own period."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from devstack import dfps_data
from tests.integration.conftest import airflow_cli, run_backfill

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_send"


def test_backfill_of_fy2025_gives_its_four_quarters(running_airflow, devstack_state, warehouse):
    env = running_airflow
    dfps_data.seed(devstack_state, 400)
    warehouse.execute("DROP TABLE IF EXISTS dfps.dps_exchanges")

    # Earlier runs (dags test uses the metadata database too) must not be reused by the backfill.
    airflow_cli("dags", "delete", DAG_ID, "--yes")
    runs = run_backfill(env, DAG_ID, "2024-09-01", "2025-08-31")

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
