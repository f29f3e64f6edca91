"""dfps_dps_send end to end on the devstack: Oracle stand-in → files → SFTP server, share, audit."""

from __future__ import annotations

import hashlib
import stat

import psycopg
import pytest

from devstack import dfps_data, paths
from etl_bundle.dfps.send import SHARE_FOLDER
from etl_bundle.dfps.switchover import ORIGINAL_SHARE_DIR
from tests.integration.conftest import (
    central_stamp,
    migrate_warehouse,
    run_dag,
    second_sftp_server,
    task_states,
    xcom_value,
)

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_send"
PERIOD = "FY2025_Q2"
TXT = f"Children_in_care_{PERIOD}.txt"
XLSX = f"ReferenceData_{PERIOD}_doublebarrel.xlsx"
# What a plain put creates on the stand-in (umask 022): the original never changed it.
SERVER_DEFAULT_MODE = 0o644


@pytest.fixture
def send_dag(bundle_dags, devstack_state, warehouse):
    from devstack.seed import seed_folders

    dfps_data.seed(devstack_state, 400)
    seed_folders(devstack_state, 0)
    migrate_warehouse("dfps")
    warehouse.execute("TRUNCATE dfps.dps_exchanges")
    (paths.sftp_root() / "to_dps" / TXT).unlink(missing_ok=True)
    for old in (paths.share_dir() / "dfps_dps" / "to_dps").glob(f"*{PERIOD}*"):
        old.unlink()
    return bundle_dags[DAG_ID]


def share_files() -> list:
    return sorted((paths.share_dir() / "dfps_dps" / "to_dps").glob(f"*{PERIOD}*"))


def test_a_quarter_is_sent_verified_delivered_and_audited_once(send_dag, warehouse, devstack_state, capfd, caplog):
    from openpyxl import load_workbook

    run = run_dag(send_dag, period=PERIOD)
    assert run.state == "success", task_states(run)
    summary = xcom_value(run, DAG_ID, "send_to_dps")

    uploaded = paths.sftp_root() / "to_dps" / TXT
    lines = uploaded.read_text(encoding="ascii").splitlines()
    assert len(lines) == summary["txt_lines"] > 0
    assert len(set(lines)) == len(lines)  # one line per (Name, birth date, sex)
    assert all(len(line) == 41 for line in lines)
    # The server's default mode (DPS's own account reads it), as the original's plain put.
    assert stat.S_IMODE(uploaded.stat().st_mode) == SERVER_DEFAULT_MODE
    assert hashlib.sha256(uploaded.read_bytes()).hexdigest() == summary["sha256"]

    # The quarter's children, as Oracle holds them, minus the rows without dates.
    from devstack.services import DATABASES, server_url

    with psycopg.connect(server_url(devstack_state["services"]["postgres"], DATABASES["oracle_standin"])) as oracle:
        expected_children = {
            person
            for (person,) in oracle.execute(
                "SELECT id_pp_person FROM caps.qtr_dps_cvs WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
                " AND dt_child_birth IS NOT NULL AND dt_enter_care IS NOT NULL"
            )
        }
    delivered = share_files()
    assert len(delivered) == 2
    workbook_file = next(f for f in delivered if f.suffix == ".xlsx")
    assert workbook_file.name.startswith(XLSX.removesuffix(".xlsx") + "_")
    # For the stakeholders: the share's default access (the stand-in's folder shows it as read for all).
    assert all(stat.S_IMODE(f.stat().st_mode) & 0o044 == 0o044 for f in delivered)
    # Delivered over SMB: the connection is the stand-in's share, which serves the same bytes back.
    from etl_bundle.common.share import open_share

    with open_share("network_share") as share:
        assert share.conn_id == "network_share" and share.location().startswith("\\\\127.0.0.1\\")
        over_smb = {entry.name: share.read_bytes(entry.path) for entry in share.list(SHARE_FOLDER)}
    assert all(over_smb[f.name] == f.read_bytes() for f in delivered)
    sheet = load_workbook(workbook_file, read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == (
        "Person_ID",
        "Name",
        "Date_of_Birth",
        "Sex",
        "Last_Name",
        "First_Name",
        "Middle_Name",
        "Entered_Care",
        "Exited_Care",
    )
    assert len(rows) == summary["reference_rows"] >= len(lines)
    assert all(isinstance(row[0], str) for row in rows)  # Person_ID is text, as the original wrote it
    assert {int(row[0]) for row in rows} <= expected_children and len({row[0] for row in rows}) > 10
    # The txt is the workbook's Name, birth date and sex, each first occurrence, in order.
    workbook_lines = [f"{r[1]:<30}{r[2].date().isoformat()}{r[3]}" for r in rows]
    assert list(dict.fromkeys(workbook_lines)) == lines
    share_txt = next(f for f in delivered if f.suffix == ".txt")
    assert share_txt.read_bytes() == uploaded.read_bytes()

    audit = warehouse.execute(
        "SELECT file_name, sha256, row_count, run_id FROM dfps.dps_exchanges WHERE period = %s ORDER BY file_name",
        (PERIOD,),
    ).fetchall()
    assert [(name, count) for name, _, count, _ in audit] == [(TXT, len(lines)), (XLSX, len(rows))]
    assert audit[0][1] == summary["sha256"] and {r[3] for r in audit} == {run.run_id}

    # No child's name or birth date in the logs or the summary.
    output = "".join(capfd.readouterr()) + caplog.text + str(summary)
    assert "sent" in output
    for line in lines[:20]:
        assert line[:30].strip() not in output and line[30:40] not in output

    # Sent once: a second run skips, naming the earlier exchange; force sends again.
    again = run_dag(send_dag, period=PERIOD)
    assert again.state == "success" and task_states(again)["send_to_dps"] == ["skipped"]
    assert warehouse.execute("SELECT count(*) FROM dfps.dps_exchanges").fetchone() == (2,)
    forced = run_dag(send_dag, period=PERIOD, force=True)
    assert forced.state == "success" and task_states(forced)["send_to_dps"] == ["success"]
    assert warehouse.execute("SELECT count(DISTINCT run_id) FROM dfps.dps_exchanges").fetchone() == (2,)


def test_without_the_param_a_run_sends_the_quarter_of_its_data_interval(send_dag):
    import pendulum

    # dags test infers the data interval as the last quarter that ended: Q2 for a run on Mar 5.
    run = send_dag.test(
        logical_date=pendulum.datetime(2025, 3, 5, tz="America/Chicago"),
        run_conf={"period": None, "force": False},
    )
    assert run.state == "success", task_states(run)
    assert xcom_value(run, DAG_ID, "resolve_quarter") == PERIOD
    assert (paths.sftp_root() / "to_dps" / TXT).exists()


def test_a_full_year_period_sends_every_quarter_of_the_year(send_dag):
    run = run_dag(send_dag, period="FY2025")
    assert run.state == "success"
    year = xcom_value(run, DAG_ID, "send_to_dps")
    quarter = xcom_value(run_dag(send_dag, period=PERIOD), DAG_ID, "send_to_dps")
    assert year["children"] > 3 * quarter["children"]
    assert (paths.sftp_root() / "to_dps" / "Children_in_care_FY2025.txt").exists()


def test_the_yearly_dag_sends_the_previous_fiscal_year(send_dag, bundle_dags):
    import pendulum

    yearly = bundle_dags["dfps_dps_send_yearly"]
    run = yearly.test(
        logical_date=pendulum.datetime(2025, 9, 20, 6, tz="America/Chicago"),
        run_conf={"period": None, "force": True},
    )
    assert run.state == "success", task_states(run)
    assert xcom_value(run, "dfps_dps_send_yearly", "resolve_previous_year") == "FY2025"
    assert (paths.sftp_root() / "to_dps" / "Children_in_care_FY2025.txt").exists()


def test_share_copies_carry_the_run_start_in_central_time(send_dag):
    run = run_dag(send_dag, period=PERIOD, force=True)
    assert run.state == "success", task_states(run)
    stamp = central_stamp(run.start_date)
    assert {f.name for f in share_files() if stamp in f.name} == {
        f"ReferenceData_{PERIOD}_doublebarrel_{stamp}.xlsx",
        f"Children_in_care_{PERIOD}_{stamp}.txt",
    }


@pytest.fixture
def original_share_folder(devstack_state):
    folder = paths.share_dir() / ORIGINAL_SHARE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    for old in folder.iterdir():
        old.unlink()


def test_a_period_the_original_already_sent_is_not_sent_again_unless_forced(
    send_dag, original_share_folder, warehouse, monkeypatch
):
    uploaded = paths.sftp_root() / "to_dps" / TXT
    # The original's copy of the whole year does not stand for one of its quarters.
    (original_share_folder / "Children_in_care_FY2025_20250920_101500.txt").write_text("")
    run = run_dag(send_dag, period=PERIOD)
    assert task_states(run)["send_to_dps"] == ["success"]
    uploaded.unlink()
    warehouse.execute("TRUNCATE dfps.dps_exchanges")  # as before the bundle's first send

    (original_share_folder / f"Children_in_care_{PERIOD}_20250310_091500.txt").write_text("")
    run = run_dag(send_dag, period=PERIOD)
    assert run.state == "success" and task_states(run)["send_to_dps"] == ["skipped"]
    assert not uploaded.exists()
    (original_share_folder / f"Children_in_care_{PERIOD}_20250310_091500.txt").unlink()

    monkeypatch.setenv("AIRFLOW_VAR_DFPS_DPS_SENT_BY_ORIGINAL", f"FY2024_Q4, {PERIOD}")
    run = run_dag(send_dag, period=PERIOD)
    assert task_states(run)["send_to_dps"] == ["skipped"] and not uploaded.exists()
    forced = run_dag(send_dag, period=PERIOD, force=True)
    assert task_states(forced)["send_to_dps"] == ["success"] and uploaded.exists()


@pytest.fixture
def upload_only_sftp(monkeypatch, devstack_state):
    """A second SFTP server on the same folders that refuses reads and SETSTAT, as ``dps_sftp``."""
    with second_sftp_server(monkeypatch, "dps_sftp", "--upload-only") as server:
        yield server


def test_an_upload_only_server_gets_the_file_verified_by_size(send_dag, upload_only_sftp, monkeypatch, capfd, caplog):
    monkeypatch.setenv("AIRFLOW__DFPS_DPS__UPLOAD_MODE", "0640")  # refused there: logged, not fatal
    run = run_dag(send_dag, period=PERIOD, force=True)
    assert run.state == "success", task_states(run)
    summary = xcom_value(run, DAG_ID, "send_to_dps")
    assert summary["verified_by"] == "size only (the server refuses reads)"
    uploaded = paths.sftp_root() / "to_dps" / TXT
    assert uploaded.stat().st_size > 0 and stat.S_IMODE(uploaded.stat().st_mode) == SERVER_DEFAULT_MODE
    assert "refuses to set mode 0640" in "".join(capfd.readouterr()) + caplog.text


def test_a_configured_upload_mode_is_set(send_dag, monkeypatch):
    monkeypatch.setenv("AIRFLOW__DFPS_DPS__UPLOAD_MODE", "0640")
    run = run_dag(send_dag, period=PERIOD, force=True)
    assert run.state == "success", task_states(run)
    assert xcom_value(run, DAG_ID, "send_to_dps")["verified_by"] == "size and sha256 read back"
    assert stat.S_IMODE((paths.sftp_root() / "to_dps" / TXT).stat().st_mode) == 0o640


@pytest.fixture
def oracle_standin(devstack_state):
    from devstack.services import DATABASES, server_url

    with psycopg.connect(
        server_url(devstack_state["services"]["postgres"], DATABASES["oracle_standin"]), autocommit=True
    ) as conn:
        yield conn


def test_a_child_without_a_usable_last_name_is_counted_and_told_not_lost(send_dag, oracle_standin, capfd, caplog):
    # Only signs with no Latin spelling: nothing is left after the name rules.
    oracle_standin.execute(
        "INSERT INTO caps.qtr_dps_cvs VALUES"
        " (98000001, 'Kevin', NULL, '☃☃', '2012-05-01', '2024-12-15', NULL, 'Male', 2025, 2),"
        " (98000002, 'Kevin', NULL, '   ', '2012-05-01', '2024-12-15', NULL, 'Male', 2025, 2)"
    )
    run = run_dag(send_dag, period=PERIOD)
    assert run.state == "success", task_states(run)
    summary = xcom_value(run, DAG_ID, "send_to_dps")
    assert summary["dropped"]["no_usable_last_name"] == 1 and summary["dropped"]["blank_first_or_last_name"] >= 1
    told = [problem for problem in summary["problems_listed"] if "(person 9800000" in problem]
    assert len(told) == 2 and all("field NM_PERSON_LAST" in problem for problem in told)
    accounted = summary["children_records_sent"] + summary["merged_care_records"] + sum(summary["dropped"].values())
    assert accounted == summary["children"]
    assert "(person 98000001): field NM_PERSON_LAST has no letter or digit left" in "".join(capfd.readouterr()) + (
        caplog.text
    )


def test_an_audit_write_the_table_refuses_fails_naming_the_constraint_not_the_values(devstack_state, send_dag):
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps.audit import ExchangeFile, record_pending

    # No checksum: the NOT NULL violation's DETAIL ("Failing row contains ...") would show the file name.
    refused = ExchangeFile("Children_in_care_GARCIA_JOSE_2010-02-28.txt", None, 1, 1)
    with pytest.raises(AirflowFailException) as failed:
        record_pending("warehouse_postgres", FiscalPeriod.parse(PERIOD), "run", [refused])
    message = str(failed.value)
    assert "NotNullViolation" in message and "table dfps.dps_exchanges" in message and "column sha256" in message
    assert "GARCIA" not in message and failed.value.__cause__ is None and failed.value.__suppress_context__


def test_a_source_read_the_database_refuses_is_told_without_its_text_and_stays_retryable(
    devstack_state, monkeypatch, scratch_warehouse
):
    import json
    import os

    from etl_bundle.common.db_errors import DatabaseError
    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps.send import read_children

    # The "Oracle" connection on an empty database: the view is not there.
    empty = json.loads(os.environ["AIRFLOW_CONN_DFPS_ORACLE"]) | {"schema": scratch_warehouse.url.rsplit("/", 1)[1]}
    monkeypatch.setenv("AIRFLOW_CONN_DFPS_ORACLE", json.dumps(empty))
    with pytest.raises(DatabaseError) as failed:
        read_children("dfps_oracle", FiscalPeriod.parse(PERIOD))
    message = str(failed.value)
    assert message.startswith(f"reading caps.qtr_dps_cvs for {PERIOD}: UndefinedTable, SQLSTATE 42P01")
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
