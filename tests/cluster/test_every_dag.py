"""Every DAG of the bundle triggered through the REST API on the cluster with the demo's conf, in the
demo's phases (the connections check, then the rest together, then DPS's answers), after the demo's
seed: each run succeeds and leaves the outputs the integration tier asserts (rows, files, mail)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from devstack import dfps_data, paths
from tests.cluster.api import demo_phases, run_demo
from tests.integration.conftest import migrate_warehouse

pytestmark = pytest.mark.integration

SEED_SIZE = 1000  # the demo's (`devstack seed`)
CENTRAL = ZoneInfo("America/Chicago")
TEC_CYCLES = ("Evening", "Intraday_1", "Intraday_2", "Intraday_3")  # enabled by default (the yaml)
DFPS_STATE = ("dps_exchanges", "dps_late_notices", "dps_results_loads", "dps_stakeholder_mails", "dps_answer_claims")


@pytest.fixture(scope="module")
def demo(airflow_api, warehouse, devstack_state):
    """The demo's seed, the DPS exchange's records emptied (a period is sent and announced once), then
    every DAG run through the API; per dag_id its run (``run_id``, ``state``, ``seconds``)."""
    from psycopg import sql

    from devstack import seed
    from devstack.services import ensure_maildir

    migrate_warehouse("dfps")
    for table in DFPS_STATE:
        warehouse.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("dfps", table)))
    seed.seed(SEED_SIZE)
    mail = ensure_maildir()
    seen = set(mail.keys())
    started = datetime.now(UTC)
    runs = run_demo(airflow_api, started.isoformat())
    return {"started": started, "runs": runs, "mail": [mail[key] for key in set(mail.keys()) - seen]}


def ran(api, demo, dag_id: str) -> str:
    """The run of ``dag_id`` in the demo, asserted green (its task states in the message otherwise)."""
    run = demo["runs"][dag_id]
    assert run["state"] == "success", api.task_states(dag_id, run["run_id"])
    return run["run_id"]


def assert_answer_reconciled(api, warehouse, dag_id: str, run_id: str, period: str) -> None:
    """The run collected the period's DPS answer (audited), removed it from the server, and announced
    the reconciliation with its three workbooks, which are on the share."""
    collected = warehouse.execute(
        "SELECT file_name FROM dfps.dps_exchanges WHERE run_id = %s AND direction = 'from_dps' ORDER BY 1",
        (run_id,),
    ).fetchall()
    assert sorted(name.lower() for (name,) in collected) == sorted(
        name.lower() for name in dfps_data.answer_names(period)
    )
    assert not [p for p in (paths.sftp_root() / "to_dfps").iterdir() if period in p.name]  # removed from the server
    [event] = api.asset_events(dag_id, run_id)
    assert event["extra"]["period"] == period
    assert sorted(name.split("/")[-1].split(f"_{period}_")[0] for name in event["extra"]["files"]) == [
        "DPS_not_in_IMPACT",
        "DPS_total_runaway_events",
        "IMPACT_not_in_DPS",
    ]
    assert all((paths.share_dir() / name).is_file() for name in event["extra"]["files"])


def test_every_dag_of_the_bundle_ran_in_the_demo(demo):
    assert sorted(dag_id for phase in demo_phases() for dag_id in phase) == sorted(paths.bundle_dag_ids())
    assert {dag_id: run["state"] for dag_id, run in demo["runs"].items()} == dict.fromkeys(
        paths.bundle_dag_ids(), "success"
    )


def test_connections_check_succeeds_on_every_connection(airflow_api, demo):
    from etl_bundle.common.connections import BUNDLE_CONNECTIONS

    run_id = ran(airflow_api, demo, "bundle_connections_check")
    assert airflow_api.task_states("bundle_connections_check", run_id) == {
        f"check_{conn_id}": ["success"] for conn_id in BUNDLE_CONNECTIONS
    }


def test_ecapris_lands_every_reviewed_status_of_mopeds_projects(airflow_api, demo, devstack_state):
    from tests.integration.test_ecapris_statuses_sync import connect_database, expected_status_ids, moped_statuses

    run_id = ran(airflow_api, demo, "ecapris_statuses_sync")
    with connect_database(devstack_state, "moped") as moped, connect_database(devstack_state, "oracle_standin") as ora:
        statuses = moped_statuses(moped)
        assert statuses and set(statuses) == expected_status_ids(moped, ora)
    summary = airflow_api.xcom("ecapris_statuses_sync", run_id, "upsert_statuses")
    assert summary["inserted"] + summary["updated"] + summary["unchanged"] == len(statuses)
    assert summary["rejected"] == 1  # the seed's row without a reviewer


def test_invoice_loads_the_four_tables_and_refreshes_the_views(airflow_api, demo, warehouse):
    from devstack import invoice_data
    from etl_bundle.invoice import transforms as t
    from tests.integration.test_invoice_demand_refresh import (
        assert_contract,
        assert_seed_rejects,
        assert_views_match_seed,
        expected_rows,
    )

    dag_id = "invoice_demand_refresh"
    run_id = ran(airflow_api, demo, dag_id)
    assert airflow_api.task_states(dag_id, run_id) == {
        "migrate_schema": ["success"],
        "load_raw_tables": ["success"],
        "check_raw_counts": ["success"],
        "refresh_views": ["success"],
    }
    seeded = invoice_data.items(SEED_SIZE)
    cases = warehouse.execute('SELECT * FROM raw.cases ORDER BY "documentId", "version"').fetchall()
    assert len(cases) == SEED_SIZE + SEED_SIZE // 10
    assert [tuple(r) for r in cases] == sorted(
        expected_rows(t.build_case, seeded["-documents"]), key=lambda r: (r[0], r[2])
    )
    assert_seed_rejects(warehouse, run_id)
    assert_contract(warehouse)
    views, _ = assert_views_match_seed(warehouse, SEED_SIZE)
    summary = airflow_api.xcom(dag_id, run_id, "refresh_views")
    assert summary["views"]["curated.demands_uploaded"] == views["uploaded"]


def test_reporting_builds_every_enabled_view(airflow_api, demo, warehouse):
    from tests.integration.test_reporting_seeder import count_of, history, manifest_views

    run_id = ran(airflow_api, demo, "reporting_seeder")
    enabled = manifest_views(warehouse)
    assert enabled
    for table, query in enabled.items():
        assert count_of(warehouse, table) == count_of(warehouse, f"({query}) AS q") > 0, table
    recorded = history(warehouse, run_id)
    assert set(recorded) == set(enabled)
    assert {row[0] for row in recorded.values()} == {"success"}


def test_tec_loads_every_enabled_cycle_of_the_gas_day(airflow_api, demo, warehouse):
    run_id = ran(airflow_api, demo, "tec_operational_capacity")
    gas_day = demo["started"].astimezone(CENTRAL).date()  # a manual run's gas day: its Central date
    rows = dict(
        warehouse.execute(
            "SELECT cycle_id, count(*) FROM staging.operational_capacity WHERE measure_date = %s GROUP BY 1",
            (gas_day,),
        ).fetchall()
    )
    assert rows == dict.fromkeys(TEC_CYCLES, SEED_SIZE)  # the seed's locations per file
    loads = [ti for ti in airflow_api.task_instances("tec_operational_capacity", run_id) if ti["map_index"] >= 0]
    assert loads and all(ti["state"] in ("success", "skipped") for ti in loads)


@pytest.mark.parametrize(
    ("dag_id", "period_of"),
    [("dfps_dps_send", dfps_data.default_period), ("dfps_dps_send_yearly", dfps_data.default_year)],
)
def test_dfps_send_uploads_delivers_and_audits_the_demos_period(airflow_api, demo, warehouse, dag_id, period_of):
    import hashlib

    run_id = ran(airflow_api, demo, dag_id)
    period = period_of().label
    summary = airflow_api.xcom(dag_id, run_id, "send_to_dps")
    uploaded = paths.sftp_root() / "to_dps" / f"Children_in_care_{period}.txt"
    lines = uploaded.read_text(encoding="ascii").splitlines()
    assert len(lines) == summary["txt_lines"] > 0
    assert hashlib.sha256(uploaded.read_bytes()).hexdigest() == summary["sha256"]
    assert summary["reference_rows"] == len(dfps_data.reference_rows(period_of(), SEED_SIZE)) >= len(lines)
    audit = warehouse.execute(
        "SELECT file_name, row_count, run_id FROM dfps.dps_exchanges WHERE period = %s AND direction = 'to_dps'"
        " ORDER BY file_name",
        (period,),
    ).fetchall()
    assert [(name, count) for name, count, _ in audit] == [
        (f"Children_in_care_{period}.txt", len(lines)),
        (f"ReferenceData_{period}_doublebarrel.xlsx", summary["reference_rows"]),
    ]
    assert {r[2] for r in audit} == {run_id}
    share = sorted(p.name for p in (paths.share_dir() / "dfps_dps" / "to_dps").glob(f"*{period}*"))
    assert len(share) >= 2 and any(n.endswith(".xlsx") for n in share) and any(n.endswith(".txt") for n in share)


@pytest.mark.parametrize(
    ("dag_id", "period_of"),
    [("dfps_dps_receive", dfps_data.default_period), ("dfps_dps_receive_yearly", dfps_data.default_year)],
)
def test_dfps_receive_reconciles_the_demos_answer_and_tells_the_stakeholders(
    airflow_api, demo, warehouse, dag_id, period_of
):
    run_id = ran(airflow_api, demo, dag_id)
    period = period_of().label
    assert_answer_reconciled(airflow_api, warehouse, dag_id, run_id, period)
    subjects = [m["Subject"] for m in demo["mail"]]
    assert subjects.count(f"DPS Comparison Reports - {period} (Uploaded to Network Drive)") == 1
