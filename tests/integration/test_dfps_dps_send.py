"""dfps_dps_send end to end on the devstack: Oracle stand-in → files → SFTP server, share, audit."""

from __future__ import annotations

import hashlib
import stat

import psycopg
import pytest

from devstack import dfps_data, paths
from tests.integration.conftest import run_dag, task_states, xcom_value

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_send"
PERIOD = "FY2025_Q2"
TXT = f"Children_in_care_{PERIOD}.txt"
XLSX = f"ReferenceData_{PERIOD}_doublebarrel.xlsx"


@pytest.fixture
def send_dag(bundle_dags, devstack_state, warehouse):
    from devstack.seed import seed_folders

    dfps_data.seed(devstack_state, 400)
    seed_folders(devstack_state, 0)
    warehouse.execute("CREATE SCHEMA IF NOT EXISTS dfps")
    warehouse.execute("DROP TABLE IF EXISTS dfps.dps_exchanges")
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
    assert len(lines) == summary["txt_lines"] == summary["reference_rows"] > 0
    assert all(len(line) == 41 for line in lines)
    assert stat.S_IMODE(uploaded.stat().st_mode) == 0o600
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
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in delivered)
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
    assert len(rows) == len(lines)
    assert {row[0] for row in rows} <= expected_children and len({row[0] for row in rows}) > 10
    # The txt is the workbook's Name, birth date and sex, line for line.
    assert [f"{r[1]:<30}{r[2].date().isoformat()}{r[3]}" for r in rows] == lines
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
