"""ecapris_statuses_sync end to end on the devstack: Oracle stand-in → Hasura stand-in → Moped."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from devstack import ecapris_data
from tests.integration.conftest import run_dag, task_states, xcom_value

pytestmark = pytest.mark.integration

SIZE = 200  # 20 subprojects: quick to seed per test
SUBPROJECTS = max(20, SIZE // 10)
DAG_ID = "ecapris_statuses_sync"
TEXT_COLUMNS = ("subproject_name", "sub_project_status_desc", "subproject_status_impacts", "summary_description")


@pytest.fixture
def ecapris_dag(bundle_dags, devstack_state):
    ecapris_data.seed(devstack_state, SIZE)
    return bundle_dags[DAG_ID]


def _connect(state, database: str):
    from devstack.services import DATABASES, server_url

    return psycopg.connect(server_url(state["services"]["postgres"], DATABASES[database]), autocommit=True)


@pytest.fixture
def moped(devstack_state):
    with _connect(devstack_state, "moped") as conn:
        yield conn


@pytest.fixture
def oracle_standin(devstack_state):
    with _connect(devstack_state, "oracle_standin") as conn:
        yield conn


def moped_statuses(moped) -> dict[int, dict]:
    cursor = moped.cursor(row_factory=psycopg.rows.dict_row)
    rows = cursor.execute("SELECT * FROM ecapris_subproject_statuses").fetchall()
    return {row["subproject_status_id"]: row for row in rows}


def expected_status_ids(moped, oracle_standin, *, respect_sync_flag: bool = True) -> set[int]:
    """Oracle's statuses with a reviewer, for the numeric ids of Moped's live projects."""
    rows = moped.execute(
        "SELECT DISTINCT ecapris_subproject_id FROM moped_project"
        " WHERE NOT is_deleted AND ecapris_subproject_id IS NOT NULL"
        " AND (should_sync_ecapris_statuses OR NOT %s)",
        (respect_sync_flag,),
    ).fetchall()
    numbers = []
    for (moped_id,) in rows:
        try:
            numbers.append(Decimal(moped_id))
        except ArithmeticError:
            continue
    found = oracle_standin.execute(
        "SELECT sub_project_status_id FROM atd_sub_project_status_vw"
        " WHERE sp_number = ANY(%s) AND reviewed_by IS NOT NULL",
        (numbers,),
    ).fetchall()
    return {status_id for (status_id,) in found}


def sync_off_ids(moped) -> set[str]:
    rows = moped.execute(
        "SELECT ecapris_subproject_id FROM moped_project WHERE NOT should_sync_ecapris_statuses"
        " AND ecapris_subproject_id IS NOT NULL"
        " EXCEPT SELECT ecapris_subproject_id FROM moped_project WHERE should_sync_ecapris_statuses"
    ).fetchall()
    return {moped_id for (moped_id,) in rows}


def summary_of(run) -> dict:
    return xcom_value(run, DAG_ID, "upsert_statuses")


def test_first_run_lands_every_status_then_an_unchanged_rerun_changes_nothing(
    ecapris_dag, moped, oracle_standin, warehouse
):
    run = run_dag(ecapris_dag)
    assert run.state == "success", task_states(run)

    statuses = moped_statuses(moped)
    assert set(statuses) == expected_status_ids(moped, oracle_standin)
    summary = summary_of(run)
    assert summary["inserted"] == len(statuses) and summary["updated"] == 0
    assert summary["rejected"] == 1 and summary["ids_without_oracle_rows"] == 1 and summary["ids_not_numbers"] == 1

    # Nothing for a project with sync off or a deleted one.
    synced_ids = {row["ecapris_subproject_id"] for row in statuses.values()}
    assert sync_off_ids(moped) and not synced_ids & sync_off_ids(moped)
    assert ecapris_data.subproject_id(SUBPROJECTS) not in synced_ids
    # Trailing zeros survive: ids arrive as Moped spells them.
    assert ecapris_data.subproject_id(0) == "10000.000" and "10000.000" in synced_ids

    # Mojibake repaired in every text column; users matched by email whatever its case.
    for row in statuses.values():
        for column in TEXT_COLUMNS:
            assert not any(marker in (row[column] or "") for marker in ("\u00c3", "\u00c2", "\u00e2\u20ac", "\u00bf"))
        assert row["created_by_user_id"] is not None
    descriptions = {row["sub_project_status_desc"] for row in statuses.values()}
    assert "Caf\u00e9 frontage \u2014 phase 2" in descriptions
    assert "Per FDU\u2019s request, design is on hold" in descriptions

    # Central wall times at both DST changes land on the right instants.
    reviewed = {row["review_timestamp"].astimezone(UTC) for row in statuses.values()}
    assert datetime(2025, 11, 2, 6, 30, tzinfo=UTC) in reviewed  # 01:30 CDT, the first of the two
    assert datetime(2025, 3, 9, 8, 30, tzinfo=UTC) in reviewed  # 02:30 does not exist: read as CST

    # The row without a reviewer is quarantined with its field, not sent.
    rejects = warehouse.execute(
        "SELECT field, source_row FROM staging.ecapris_status_rejects WHERE run_id = %s", (run.run_id,)
    ).fetchall()
    assert [field for field, _ in rejects] == ["reviewed_by_name"]
    assert rejects[0][1]["SUB_PROJECT_STATUS_ID"] not in statuses

    stamps = {sid: row["updated_at"] for sid, row in statuses.items()}
    rerun = run_dag(ecapris_dag)
    assert rerun.state == "success"
    again = summary_of(rerun)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, len(statuses))
    assert {sid: row["updated_at"] for sid, row in moped_statuses(moped).items()} == stamps


def test_a_changed_status_is_updated_keeping_name_and_review_time(ecapris_dag, moped, oracle_standin):
    assert run_dag(ecapris_dag).state == "success"
    before = moped_statuses(moped)
    status_id = min(before)
    oracle_standin.execute(
        "UPDATE ecapris_sub_project_status SET sub_project_status_desc = %s,"
        " curr_status_fl = CASE curr_status_fl WHEN 'Y' THEN 'N' ELSE 'Y' END,"
        " sp_name = 'Renamed in eCapris', status_review_date = status_review_date + interval '1 day'"
        " WHERE sub_project_status_id = %s",
        ("Construction 90%", status_id),
    )

    run = run_dag(ecapris_dag)
    assert run.state == "success"
    summary = summary_of(run)
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 1, len(before) - 1)
    after = moped_statuses(moped)
    changed = after[status_id]
    assert changed["sub_project_status_desc"] == "Construction 90%"
    assert changed["current_status_fl"] is not before[status_id]["current_status_fl"]
    # Not in the mutation's update_columns: they keep their first values.
    assert changed["subproject_name"] == before[status_id]["subproject_name"]
    assert changed["review_timestamp"] == before[status_id]["review_timestamp"]
    assert changed["updated_at"] > before[status_id]["updated_at"]
    assert all(after[sid]["updated_at"] == row["updated_at"] for sid, row in before.items() if sid != status_id)


def test_dry_run_reports_the_plan_and_writes_nothing(ecapris_dag, moped, oracle_standin, warehouse):
    run = run_dag(ecapris_dag, dry_run=True)
    assert run.state == "success"
    assert task_states(run)["upsert_statuses"] == ["skipped"]
    plan = xcom_value(run, DAG_ID, "plan_changes")
    assert plan["summary"]["to_insert"] == len(expected_status_ids(moped, oracle_standin)) > 0
    assert moped_statuses(moped) == {}
    assert warehouse.execute(
        "SELECT count(*) FROM staging.ecapris_status_rejects WHERE run_id = %s", (run.run_id,)
    ).fetchone() == (0,)


def test_sync_flag_off_syncs_every_live_project_but_never_a_deleted_one(ecapris_dag, moped, oracle_standin):
    run = run_dag(ecapris_dag, respect_sync_flag=False)
    assert run.state == "success"
    statuses = moped_statuses(moped)
    assert set(statuses) == expected_status_ids(moped, oracle_standin, respect_sync_flag=False)
    synced_ids = {row["ecapris_subproject_id"] for row in statuses.values()}
    assert sync_off_ids(moped) <= synced_ids
    assert ecapris_data.subproject_id(SUBPROJECTS) not in synced_ids


def test_batch_size_does_not_change_what_lands(ecapris_dag, devstack_state, moped):
    def landed() -> dict[int, tuple]:
        ignored = {"id", "created_at", "updated_at"}
        return {
            sid: tuple(v for k, v in sorted(row.items()) if k not in ignored)
            for sid, row in moped_statuses(moped).items()
        }

    assert run_dag(ecapris_dag).state == "success"
    default_batches = landed()
    ecapris_data.seed(devstack_state, SIZE)
    run = run_dag(ecapris_dag, batch_size=3)
    assert run.state == "success"
    assert landed() == default_batches


def test_a_wrong_admin_secret_fails_clearly_and_never_shows_the_secret(ecapris_dag, moped, monkeypatch, capfd, caplog):
    from etl_bundle.ecapris.moped import HasuraError, MopedClient

    real = json.loads(os.environ["AIRFLOW_CONN_MOPED_HASURA"])
    wrong_secret = "wrong-secret-7f3a9c"
    monkeypatch.setenv("AIRFLOW_CONN_MOPED_HASURA", json.dumps({**real, "password": wrong_secret}))

    with pytest.raises(HasuraError, match="invalid x-hasura-admin-secret") as failure:
        MopedClient("moped_hasura").subproject_ids(respect_sync_flag=True)
    assert "admin secret" in str(failure.value)  # the hint names what to check

    run = run_dag(ecapris_dag)
    assert run.state == "failed"
    assert task_states(run)["list_subprojects"] == ["failed"]
    assert moped_statuses(moped) == {}
    output = "".join(capfd.readouterr()) + caplog.text
    assert "invalid x-hasura-admin-secret" in output  # the task's log says why, ...
    assert wrong_secret not in output and real["password"] not in output  # ... and shows no secret
    assert wrong_secret not in str(failure.value)


def test_a_mutation_hasura_rejects_fails_with_its_message_and_inserts_nothing(ecapris_dag, moped):
    from etl_bundle.ecapris.moped import HasuraError, MopedClient

    good = {
        "ecapris_subproject_id": "10000.000",
        "subproject_name": "Subproject 0",
        "subproject_status_id": 1,
        "current_status_fl": True,
        "sub_project_status_desc": "Design 30%",
        "review_timestamp": "2025-06-02T09:00:00-05:00",
        "subproject_status_impacts": None,
        "summary_description": None,
        "reviewed_by_name": "Garcia, Ana",
        "reviewed_by_email": "ana.garcia@austintexas.gov",
    }
    missing_reviewer = {**good, "subproject_status_id": 2, "reviewed_by_name": None}
    with pytest.raises(HasuraError, match="reviewed_by_name"):
        MopedClient("moped_hasura").upsert_statuses([good, missing_reviewer])
    assert moped_statuses(moped) == {}  # one request, one transaction: the good row is not kept either


def test_hasura_unavailable_is_retried_with_backoff_then_fails_as_transient(devstack_state):
    from devstack.services import hasura_secret_file
    from etl_bundle.common.http_retries import TransientHttpError
    from etl_bundle.ecapris.moped import MopedClient

    unavailable = hasura_secret_file().with_name("unavailable")
    client = MopedClient("moped_hasura", attempts=3)
    try:
        unavailable.write_text("2")
        assert client.subproject_ids(respect_sync_flag=True)  # answered on the third try
        assert unavailable.read_text() == "0"

        unavailable.write_text("5")
        with pytest.raises(TransientHttpError, match="HTTP 503"):
            client.subproject_ids(respect_sync_flag=True)
        assert unavailable.read_text() == "2"  # three tries, no more
    finally:
        unavailable.unlink(missing_ok=True)


def test_names_stored_garbled_are_repaired_and_nothing_else_changes(ecapris_dag, moped, oracle_standin):
    assert run_dag(ecapris_dag).state == "success"
    garbled_id, renamed_id = sorted(moped_statuses(moped))[:2]
    name = "Caf\u00e9 Street \u2013 phase 1"
    oracle_standin.execute(
        "UPDATE ecapris_sub_project_status SET sp_name = %s WHERE sub_project_status_id = %s", (name, garbled_id)
    )
    # As the original left them: the name garbled (UTF-8 read as cp1252), or an old name kept.
    moped.execute(
        "UPDATE ecapris_subproject_statuses SET subproject_name = %s WHERE subproject_status_id = %s",
        (name.encode("utf-8").decode("cp1252"), garbled_id),
    )
    moped.execute(
        "UPDATE ecapris_subproject_statuses SET subproject_name = 'Old name' WHERE subproject_status_id = %s",
        (renamed_id,),
    )
    before = moped_statuses(moped)

    run = run_dag(ecapris_dag)
    assert run.state == "success", task_states(run)
    summary = summary_of(run)
    assert (summary["names_to_repair"], summary["names_repaired"], summary["updated"]) == (1, 1, 0)
    after = moped_statuses(moped)
    assert after[garbled_id]["subproject_name"] == name
    assert after[renamed_id]["subproject_name"] == "Old name"  # a rename is not a repair: first insert kept
    for column in ("review_timestamp", "sub_project_status_desc", "reviewed_by_name", "created_by_user_id"):
        assert after[garbled_id][column] == before[garbled_id][column]
    assert {sid: row for sid, row in after.items() if sid != garbled_id} == {
        sid: row for sid, row in before.items() if sid != garbled_id
    }
