"""ecapris_statuses_sync under faults: Hasura's GraphQL errors and 503s, a kill mid-upsert, a Postgres
restart mid-run, and bad rows in the Oracle view. Every status is written to Moped once, whatever happens.

What reached Hasura is read from the stand-in's request log (``HasuraRequests``); a rerun is
checked against a checksum of Moped's rows that includes ``updated_at``, which the trigger moves on
every write, so a repeated mutation shows.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest

from devstack import ecapris_data
from tests.faults.conftest import airflow_dags_test, reset_airflow_connections, restart_postgres, sigkill_when
from tests.integration.conftest import run_dag, task_states
from tests.integration.test_ecapris_statuses_sync import (  # noqa: F401 - fixtures shared with the integration test
    DAG_ID,
    HasuraRequests,
    connect_database,
    ecapris_dag,
    moped,
    moped_statuses,
    oracle_standin,
)

LOGICAL_DATE = "2026-12-01T12:00:00+00:00"


def fault_file(name: str):
    from devstack.services import hasura_secret_file

    return hasura_secret_file().with_name(name)


@pytest.fixture
def hasura_faults():
    """Writes the stand-in's fault files; all removed afterwards."""
    written = []

    def inject(name: str, value: str) -> None:
        fault_file(name).write_text(value)
        written.append(fault_file(name))

    yield inject
    for path in written:
        path.unlink(missing_ok=True)


def moped_checksum(conn) -> str:
    """Every column of every status, ``updated_at`` included."""
    row = conn.execute(
        "SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY subproject_status_id), ''))"
        " FROM ecapris_subproject_statuses s"
    ).fetchone()
    return row[0]


def moped_connection(devstack_state):
    return connect_database(devstack_state, "moped")


def change_every_status(oracle) -> None:
    """A new description on every status: the next run updates them all."""
    oracle.execute(
        "UPDATE ecapris_sub_project_status SET sub_project_status_desc = sub_project_status_desc || ' (rev)'"
    )


def assert_each_row_old_or_new(middle: dict, before: dict, after: dict) -> None:
    for status_id, row in middle.items():
        assert row in (before.get(status_id), after[status_id]), (
            f"status {status_id} is neither its old nor its new state"
        )


def assert_written_once(faults, written: list[int], what: str) -> None:
    faults.side_effects(what, len(written), expected=len(set(written)))


# --- Hasura's 503 and GraphQL errors ----------------------------------------------------------


@pytest.mark.quick
def test_graphql_errors_that_persist_fail_clearly_without_the_secret(devstack_state, faults, hasura_faults):
    from etl_bundle.common.http_retries import TransientHttpError
    from etl_bundle.ecapris.moped import MopedClient

    secret = json.loads(os.environ["AIRFLOW_CONN_MOPED_HASURA"])["password"]
    with faults.inject("ecapris: Hasura answers 'database query error' three times"):
        hasura_faults("graphql_errors", "3")
        with pytest.raises(TransientHttpError) as failure:
            MopedClient("moped_hasura", attempts=3).subproject_ids(respect_sync_flag=True)
        text = str(failure.value)
        assert "subprojects" in text and "database query error" in text and "unexpected" in text
        assert secret not in text
        assert fault_file("graphql_errors").read_text() == "0", "three tries, no more"
        assert MopedClient("moped_hasura").subproject_ids(respect_sync_flag=True), "answered once Hasura is back"


def test_503s_and_graphql_errors_mid_upsert_are_ridden_out_and_nothing_is_written_twice(
    ecapris_dag, moped, faults, hasura_faults
):
    seen = HasuraRequests()
    with (
        faults.inject("ecapris: Hasura 503 twice"),
        faults.inject("ecapris: GraphQL errors on the 3rd and 4th mutation"),
    ):
        hasura_faults("unavailable", "2")
        hasura_faults("mutation_errors", "2 after 2")
        run = run_dag(ecapris_dag, batch_size=4)
        assert run.state == "success", task_states(run)
        requests = seen.all()
        assert sum(r["http_status"] == 503 for r in requests) == 2
        assert sum(1 for r in seen.mutations() if not r["committed"]) == 2
        written = seen.written_ids()
        assert_written_once(faults, written, "status upserts with 503s and GraphQL errors")
        assert set(written) == set(moped_statuses(moped))

    checksum = moped_checksum(moped)
    seen = HasuraRequests()
    rerun = run_dag(ecapris_dag, batch_size=4)
    assert rerun.state == "success"
    assert seen.mutations() == [] and moped_checksum(moped) == checksum
    faults.side_effects("mutations of an unchanged rerun", len(seen.mutations()), expected=0)


def test_graphql_errors_that_outlast_the_retries_leave_whole_batches_and_the_rerun_completes(
    ecapris_dag, moped, faults, hasura_faults
):
    from etl_bundle.common.http_retries import TransientHttpError
    from etl_bundle.ecapris.sync import list_subprojects, plan_sync, send_changes

    with faults.inject("ecapris: GraphQL errors on every mutation after the first"):
        planned = plan_sync(
            list_subprojects("moped_hasura", respect_sync_flag=True),
            oracle_conn_id="ecapris_oracle",
            hasura_conn_id="moped_hasura",
            warehouse_conn_id="warehouse_postgres",
            batch_size=4,
            run_id="manual__graphql-errors",
            dry_run=False,
        )
        seen = HasuraRequests()
        hasura_faults("mutation_errors", "3 after 1")
        with pytest.raises(TransientHttpError, match="database query error"):
            send_changes(planned, hasura_conn_id="moped_hasura", batch_size=4)
        middle = moped_statuses(moped)
        assert len(middle) == 4, "the first batch, whole; the failed one not at all"

        run = run_dag(ecapris_dag, batch_size=4)
        assert run.state == "success", task_states(run)
        after = moped_statuses(moped)
        assert_each_row_old_or_new(middle, {}, after)
        assert {sid: after[sid] for sid in middle} == middle, "the first batch was not written again"
        assert_written_once(faults, seen.written_ids(), "status upserts around persistent GraphQL errors")
        assert set(seen.written_ids()) == set(after)


# --- SIGKILL in the middle of the upserts ----------------------------------------------------


def _plan_of(run_id: str) -> dict:
    """The plan_changes XCom a killed run left: what Airflow hands the retry of upsert_statuses."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run_id, key="return_value", task_ids="plan_changes", dag_ids=DAG_ID)
        return XComModel.deserialize_value(session.scalars(query).one())


def _latest_run_id() -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(select(DagRun.run_id).where(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc())).first()


def test_sigkill_mid_upsert_then_retry_and_rerun_write_each_status_once(ecapris_dag, moped, oracle_standin, faults):
    from etl_bundle.ecapris.sync import send_changes

    assert run_dag(ecapris_dag).state == "success"
    before = moped_statuses(moped)
    change_every_status(oracle_standin)

    with faults.inject("ecapris: SIGKILL after two upsert batches"):
        seen = HasuraRequests()
        process = airflow_dags_test(DAG_ID, conf={"batch_size": 3}, logical_date=LOGICAL_DATE)
        assert sigkill_when(process, lambda: len(seen.written_ids()) >= 6, timeout=240), process.log_path
        middle = moped_statuses(moped)
        assert 0 < sum(middle[sid] != before[sid] for sid in before) < len(before), "killed mid-way"

        # Airflow's retry of upsert_statuses: the same plan, from the killed run's XCom.
        summary = send_changes(_plan_of(_latest_run_id()), hasura_conn_id="moped_hasura", batch_size=3)
        assert summary["already_applied"] >= 6
        after = moped_statuses(moped)
        assert_each_row_old_or_new(middle, before, after)
        assert all(after[sid] != before[sid] for sid in before), "every status has its new state"
        checksum = moped_checksum(moped)

        rerun = airflow_dags_test(DAG_ID, conf={"batch_size": 3}, logical_date=LOGICAL_DATE)
        assert rerun.wait(timeout=300) == 0, rerun.log_path
        assert moped_checksum(moped) == checksum
        written = seen.written_ids()
        assert_written_once(faults, written, "status upserts across a kill, a retry and a rerun")
        assert set(written) == set(before)
        faults.rows_lost(len(before), len(moped_statuses(moped)))


# --- bad rows in the Oracle view --------------------------------------------------------------

BAD_ROWS = [
    # (case, status id, column changes, field the quarantine must name)
    ("fractional status id", Decimal("990001.5"), {}, "subproject_status_id"),
    ("status id beyond Moped's INTEGER", Decimal("3000000000"), {}, "subproject_status_id"),
    ("missing subproject name", Decimal("990003"), {"sp_name": None}, "subproject_name"),
    ("blank reviewer", Decimal("990004"), {"reviewed_by": "   "}, "reviewed_by_name"),
    ("flag not yes/no", Decimal("990005"), {"curr_status_fl": "X"}, "current_status_fl"),
    ("missing review date", Decimal("990006"), {"status_review_date": None}, "review_timestamp"),
]


@pytest.mark.quick
def test_bad_rows_in_the_view_are_quarantined_naming_row_and_field_and_the_rest_lands(
    ecapris_dag, moped, oracle_standin, warehouse, faults, caplog, capfd
):
    import logging

    caplog.set_level(logging.WARNING, logger="etl_bundle.ecapris.sync")
    number = Decimal(ecapris_data.subproject_id(0))
    [(good_before,)] = oracle_standin.execute(
        "SELECT count(*) FROM ecapris_sub_project_status WHERE sp_number = %s AND reviewed_by IS NOT NULL", (number,)
    ).fetchall()
    template = oracle_standin.execute(
        "SELECT * FROM ecapris_sub_project_status WHERE sp_number = %s ORDER BY sub_project_status_id LIMIT 1",
        (number,),
    ).fetchone()
    columns = [d.name for d in oracle_standin.execute("SELECT * FROM ecapris_sub_project_status LIMIT 0").description]
    good = dict(zip(columns, template, strict=True))
    rows = [{**good, "sub_project_status_id": status_id, **changes} for _, status_id, changes, _ in BAD_ROWS]
    # A duplicate key: the view repeats a row's status id; the first row is sent, the repeat quarantined.
    rows.append(dict(good))
    # Overlong text is not bad for Moped (TEXT): 4000 characters, many multibyte, must land whole.
    overlong = "Lamar Blvd \u2013 " + "é" * 3986
    rows.append({**good, "sub_project_status_id": Decimal("990007"), "sub_project_status_desc": overlong})
    placeholders = ", ".join(["%s"] * len(columns))
    oracle_standin.cursor().executemany(
        f"INSERT INTO ecapris_sub_project_status ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608 - test's own column names
        [tuple(row[c] for c in columns) for row in rows],
    )
    warehouse.execute("TRUNCATE staging.ecapris_status_rejects")

    run = run_dag(ecapris_dag)
    assert run.state == "success", task_states(run)
    quarantine = warehouse.execute(
        "SELECT subproject_status_id, field, reason FROM staging.ecapris_status_rejects WHERE last_run_id = %s",
        (run.run_id,),
    ).fetchall()
    cases = [(case, str(status_id), field) for case, status_id, _, field in BAD_ROWS]
    cases.append(("duplicate status id", str(good["sub_project_status_id"]), "subproject_status_id"))
    output = "".join(capfd.readouterr()) + caplog.text
    for case, status_id, field in cases:
        assert (status_id, field) in {(sid, f) for sid, f, _ in quarantine}, f"{case}: not quarantined"
        lines = [line for line in output.splitlines() if f"status {status_id} of" in line and field in line]
        faults.bad_input(
            f"ecapris: {case}", lines[0] if lines else "", "ATD_SUB_PROJECT_STATUS_VW", f"status {status_id}", field
        )
    statuses = moped_statuses(moped)
    assert int(good["sub_project_status_id"]) in statuses, "the first of the repeated rows is sent"
    assert statuses[990007]["sub_project_status_desc"] == overlong, "overlong text lands whole"
    landed = sum(1 for s in statuses.values() if s["ecapris_subproject_id"] == str(number))
    faults.rows_lost(good_before + 1, landed)


def test_a_nul_byte_from_oracle_is_quarantined_naming_the_field(warehouse, faults):
    """Oracle's VARCHAR2 can hold a NUL; the Postgres stand-in cannot, so the row comes as oracledb gives it."""
    from etl_bundle.ecapris.sync import quarantine_rejects
    from etl_bundle.ecapris.transforms import transform_rows

    warehouse.execute("TRUNCATE staging.ecapris_status_rejects")
    row = {
        "SP_NUMBER": "10000.000",
        "SP_NAME": "Subproject 0",
        "SUB_PROJECT_STATUS_ID": 990008,
        "CURR_STATUS_FL": "Y",
        "SUB_PROJECT_STATUS_DESC": "Design\x0030%",
        "STATUS_REVIEW_DATE": "2025-06-02 09:00:00",
        "REVIEWED_BY": "Garcia, Ana",
        "REVIEWED_BY_EMAIL": "ana.garcia@austintexas.gov",
    }
    result = transform_rows([row])
    assert result.statuses == []
    [reject] = result.rejects
    counts = quarantine_rejects(result.rejects, "warehouse_postgres", "manual__nul", retention_days=30, dry_run=False)
    assert counts["quarantined_new"] == 1
    [(field, stored)] = warehouse.execute("SELECT field, source_row FROM staging.ecapris_status_rejects").fetchall()
    assert field == "sub_project_status_desc" and stored["SUB_PROJECT_STATUS_DESC"] == "Design\u240030%"
    faults.bad_input("ecapris: NUL byte", reject.describe(), "ATD_SUB_PROJECT_STATUS_VW", "status 990008", field)


# --- Postgres restarting in the middle of a run (last: it cuts every session, the fixtures' too) --


@pytest.fixture
def airflow_sessions_renewed():
    """Afterwards, this process's metadata sessions are renewed: the suite's end (the XCom search
    for secrets) must not reuse one the restart cut."""
    yield
    reset_airflow_connections()


def test_a_postgres_restart_mid_upsert_then_a_rerun_writes_each_status_once(
    ecapris_dag, devstack_state, oracle_standin, faults, airflow_sessions_renewed
):
    with moped_connection(devstack_state) as conn:
        assert run_dag(ecapris_dag).state == "success"
        before = moped_statuses(conn)
    change_every_status(oracle_standin)

    with faults.inject("ecapris: Postgres restarted after the first upsert batch"):
        seen = HasuraRequests()
        process = airflow_dags_test(DAG_ID, conf={"batch_size": 3}, logical_date=LOGICAL_DATE)
        import time

        deadline = time.monotonic() + 240
        while not seen.written_ids():
            assert process.poll() is None and time.monotonic() < deadline, process.log_path
            time.sleep(0.05)
        restart_postgres()
        process.wait(timeout=400)  # it may end either way: its metadata sessions were cut too
        with moped_connection(devstack_state) as conn:
            middle = moped_statuses(conn)

        rerun = airflow_dags_test(DAG_ID, conf={"batch_size": 3}, logical_date=LOGICAL_DATE)
        assert rerun.wait(timeout=400) == 0, rerun.log_path
        with moped_connection(devstack_state) as conn:
            after = moped_statuses(conn)
            checksum = moped_checksum(conn)
        assert_each_row_old_or_new(middle, before, after)
        assert all(after[sid] != before[sid] for sid in before), "every status has its new state"
        written = seen.written_ids()
        assert_written_once(faults, written, "status upserts across a Postgres restart and a rerun")
        assert set(written) == set(before)

        again = airflow_dags_test(DAG_ID, conf={"batch_size": 3}, logical_date=LOGICAL_DATE)
        assert again.wait(timeout=400) == 0, again.log_path
        with moped_connection(devstack_state) as conn:
            assert moped_checksum(conn) == checksum, "a rerun for the same interval changes nothing"
        faults.rows_lost(len(before), len(after))
