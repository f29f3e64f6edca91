"""dfps_dps_receive under faults, on the devstack: the SFTP link dropped mid-download and mid-poke,
SIGKILL mid-reconcile and right after the stakeholders' mail (then a rerun), Postgres restarted during
the wait, and bad results files. Each ends in the old or the new state, one mail, nothing removed
from DPS's server before the period is done, and a clear error or warning naming file, line, field."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from devstack import dfps_data, paths
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.common.xlsx import read_workbook
from tests.faults.conftest import airflow_dags_test, restart_postgres, sigkill_when
from tests.integration.conftest import migrate_warehouse, run_dag, second_sftp_server, task_states, xcom_value
from tests.integration.test_dfps_dps_receive import (  # noqa: F401 - clean, oracle, sent_reference: its fixtures
    COUNTS,
    FAST,
    PERIOD,
    RESULTS,
    WINDOW_START,
    clean,
    dps_line,
    oracle,
    put_answer,
    sent_reference,
    to_dfps,
)

DAG_ID = "dfps_dps_receive"
STAMP = "20250311_060000"
NOTICE_SUBJECT = f"DPS Comparison Reports - {PERIOD} (Uploaded to Network Drive)"


def answer_lines(people, n: int, **options) -> list[str]:
    rows = list(people.values())[:n]
    return [dps_line(row["Name"], row["Date_of_Birth"], WINDOW_START, "LOC", **options) for row in rows]


def counts_for(lines: list[str]) -> str:
    return f"TOTAL RECORDS: {len(lines)}\n"


def server_files() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(to_dfps().iterdir())}


def ready_answer(sftp_conn_id: str = "dps_sftp"):
    from etl_bundle.dfps.receive import check_answer

    found = check_answer(
        sftp_conn_id,
        "to_dfps",
        FiscalPeriod.parse(PERIOD),
        warehouse_conn_id="warehouse_postgres",
        settle_seconds=0.2,
        counts_grace=timedelta(0),
        now=datetime.now(UTC),
    )
    assert found.ready, found.reason
    return {"results": found.results.as_dict(), "counts": found.counts.as_dict() if found.counts else None}


def collect(found, sftp_conn_id: str, run_id: str):
    from etl_bundle.dfps.receive import collect_answer

    return collect_answer(
        PERIOD,
        found,
        sftp_conn_id=sftp_conn_id,
        warehouse_conn_id="warehouse_postgres",
        share_conn_id="network_share",
        remote_dir="to_dfps",
        run_id=run_id,
        stamp=STAMP,
    )


def archived(stamp: str = STAMP):
    return sorted((paths.share_dir() / "dfps_dps" / "archive" / "from_dps").glob(f"*_{PERIOD}_{stamp}.txt"))


def sensor_context(started: datetime, **params):
    return {
        "params": {
            "wait_hours": 72,
            "settle_seconds": 0.2,
            "counts_grace_minutes": 0,
            "min_age_minutes": 0,
            "counts_tolerance_rows": 0,
            "late_after_hours": 6,
        }
        | params,
        "dag_run": SimpleNamespace(start_date=started),
        "run_id": "faults__dfps_receive",
    }


def sensor(period: str, sftp_conn_id: str = "dps_sftp"):
    from etl_bundle.dfps.sensors import DpsAnswerSensor

    return DpsAnswerSensor(
        task_id="wait_for_dps_answer",
        period=period,
        sftp_conn_id=sftp_conn_id,
        warehouse_conn_id="warehouse_postgres",
        remote_dir="to_dfps",
    )


@pytest.fixture
def answer_folder(devstack_state, warehouse):
    migrate_warehouse("dfps")
    for old in to_dfps().iterdir():
        old.unlink()
    warehouse.execute("TRUNCATE dfps.dps_answer_claims")
    for old in archived():
        old.unlink()
    yield to_dfps()
    for old in to_dfps().iterdir():
        old.unlink()
    for old in archived():
        old.unlink()


@pytest.mark.quick
def test_sftp_dropped_mid_download_and_mid_poke_leaves_nothing_and_the_retry_completes(
    answer_folder, warehouse, monkeypatch, faults, capfd, caplog
):
    lines = [dps_line(f"ROW,N{i:04d}", datetime(2012, 1, 2), WINDOW_START, "LOC") for i in range(400)]
    put_answer(lines, counts=counts_for(lines))
    on_server = server_files()
    assert (answer_folder / RESULTS).stat().st_size > 16384
    found = ready_answer()
    with second_sftp_server(monkeypatch, "dps_sftp_cut", "--drop-after-read-bytes", "8192"):
        with faults.inject("dfps receive: SFTP link dropped after 8 KiB of the results download"):
            with pytest.raises(ConnectionError, match="download interrupted.*nothing removed from the server"):
                collect(found, "dps_sftp_cut", "faults__cut")
            assert warehouse.execute("SELECT count(*) FROM dfps.dps_answer_claims").fetchone()[0] == 0
            assert archived() == [] and server_files() == on_server
            collected = collect(found, "dps_sftp", "faults__cut")  # the task's retry
            assert collected["results"]["sha256"] == on_server[RESULTS]
            assert [p.name for p in archived()] == [
                f"dfps-missing-person-counts_{PERIOD}_{STAMP}.txt",
                f"dfps-missing-person-results_{PERIOD}_{STAMP}.txt",
            ]
            faults.rows_lost(len(lines), collected["results"]["lines"] - 1)

        with faults.inject("dfps receive: SFTP link dropped while a poke reads the answer"):
            started = datetime.now(UTC)
            capfd.readouterr()
            assert sensor(PERIOD, "dps_sftp_cut").poke(sensor_context(started)) is False
            assert "(transient); the wait goes on until" in "".join(capfd.readouterr()) + caplog.text
            done = sensor(PERIOD).poke(sensor_context(started))
            assert done.is_done and done.xcom_value["results"]["name"] == RESULTS
            assert server_files() == on_server


@pytest.mark.quick
def test_a_results_file_cut_at_a_line_end_is_held_then_fails_at_the_deadline_saying_why(answer_folder, faults):
    from airflow.sdk.exceptions import AirflowFailException

    lines = [dps_line(f"ROW,N{i:04d}", datetime(2012, 1, 2), WINDOW_START, "LOC") for i in range(30)]
    put_answer(lines[:12], counts=counts_for(lines))  # DPS's upload stopped after 12 whole rows
    started = datetime.now(UTC)
    assert sensor(PERIOD).poke(sensor_context(started)) is False
    with pytest.raises(AirflowFailException) as failed:
        sensor(PERIOD).poke(sensor_context(started - timedelta(hours=73)))
    faults.bad_input(
        "dfps receive: truncated results file", str(failed.value), RESULTS, "TOTAL RECORDS = 30", "12 rows"
    )
    assert sorted(server_files()) == sorted([RESULTS, COUNTS])


def fail_killed_runs(dag_id: str) -> int:
    """What the scheduler does with a killed task (a zombie): its task instances and run marked failed.
    ``airflow dags test`` killed by SIGKILL leaves them 'running', which blocks e.g. ``dags delete``."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    with create_session() as session:
        killed = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.state == TaskInstanceState.RUNNING
        )
        count = 0
        for ti in killed:
            ti.state = TaskInstanceState.FAILED
            count += 1
        for run in session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.RUNNING):
            run.state = DagRunState.FAILED
    return count


def mails_for(maildir, subject: str) -> list[str]:
    return sorted(key for key in maildir.keys() if maildir[key]["Subject"] == subject)


def delivered_stamps() -> set[str]:
    """The stamps of the period's workbooks on the share (cheap: names only, a kill point)."""
    folder = paths.share_dir() / "dfps_dps" / "to_cps"
    return {path.stem.split(f"_{PERIOD}_")[1] for path in folder.glob(f"*_{PERIOD}_*.xlsx")}


def delivered_sets() -> dict[str, dict[str, list[dict]]]:
    """stamp -> workbook kind -> rows, of the period's workbooks on the share."""
    found: dict[str, dict[str, list[dict]]] = {}
    for path in sorted((paths.share_dir() / "dfps_dps" / "to_cps").glob(f"*_{PERIOD}_*.xlsx")):
        kind, stamp = path.stem.split(f"_{PERIOD}_")
        found.setdefault(stamp, {})[kind] = read_workbook(path)
    return found


def test_sigkill_mid_reconcile_and_after_the_mail_then_a_rerun_mails_once_with_the_same_workbooks(
    sent_reference,  # noqa: F811 - the imported fixture
    clean,  # noqa: F811 - the imported fixture
    warehouse,
    oracle,  # noqa: F811 - the imported fixture
    maildir,
    faults,
):
    fail_killed_runs(DAG_ID)  # an earlier session's kills
    lines = answer_lines(sent_reference, 12)
    put_answer(lines, counts=counts_for(lines))
    on_server = server_files()
    conf = {**FAST, "period": PERIOD}
    before_sets = set(delivered_sets())
    mails_before = mails_for(maildir, NOTICE_SUBJECT)
    loads_before = oracle.execute(
        "SELECT count(*) FROM caps.dfps_msng_person_loads WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
    ).fetchone()[0]

    with faults.inject("dfps receive: SIGKILL mid-reconcile"):
        first = airflow_dags_test(DAG_ID, conf)
        assert sigkill_when(first, lambda: delivered_stamps() - before_sets, timeout=600), first.log_path
        assert fail_killed_runs(DAG_ID) == 1  # the reconcile task the kill hit
        assert server_files() == on_server  # nothing removed before the period is done
        assert mails_for(maildir, NOTICE_SUBJECT) == mails_before

    with faults.inject("dfps receive: SIGKILL right after the stakeholders' mail"):
        second = airflow_dags_test(DAG_ID, conf)
        assert sigkill_when(second, lambda: len(mails_for(maildir, NOTICE_SUBJECT)) > len(mails_before), timeout=600)
        fail_killed_runs(DAG_ID)
        status = warehouse.execute("SELECT status FROM dfps.dps_stakeholder_mails WHERE period = %s", (PERIOD,))
        print(f"the killed run left its notice {status.fetchall()}")  # pending (killed before the record) or sent
        assert server_files() == on_server

        rerun = airflow_dags_test(DAG_ID, conf)
        assert rerun.wait(timeout=900) == 0, rerun.log_path
        log = rerun.log_path.read_text(errors="replace")
        assert "stakeholder mail of FY2025_Q2 not sent" in log

        faults.side_effects("stakeholder mail", len(mails_for(maildir, NOTICE_SUBJECT)) - len(mails_before))
        faults.side_effects(
            "IMPACT load",
            oracle.execute(
                "SELECT count(*) FROM caps.dfps_msng_person_loads WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
            ).fetchone()[0]
            - loads_before,
        )
        sets = {stamp: books for stamp, books in delivered_sets().items() if stamp not in before_sets}
        # Three runs, three stamps: the one killed mid-reconcile left some of its workbooks; the one
        # killed after the mail and the rerun each delivered a full set, the same rows in both.
        assert len(sets) == 3, {stamp: sorted(books) for stamp, books in sets.items()}
        partial, killed_after_mail, rerun_set = (sets[stamp] for stamp in sorted(sets))
        assert len(killed_after_mail) == len(rerun_set) == 3 and killed_after_mail == rerun_set
        assert all(partial[kind] == rerun_set[kind] for kind in partial)
        print(f"the run killed mid-reconcile left {len(partial)} of 3 workbooks under its stamp")
        # A kill mid-write leaves the share layer's temporary file (never a partial file under the
        # real name): counted, then removed so that later tests see only their own.
        leftovers = list((paths.share_dir() / "dfps_dps").rglob("*.part"))
        print(f"temporary share files left by the kills: {[p.name for p in leftovers]}")
        for leftover in leftovers:
            leftover.unlink()
        loaded = oracle.execute(
            "SELECT count(*) FROM caps.dfps_msng_person WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
        ).fetchone()[0]
        faults.rows_lost(len(lines), loaded)
        assert server_files() == {}  # the rerun finished the period and cleaned the server


FAILING = {
    "wrong field count": ["line 4: 4 fields, the header has 17"],
    "empty file": ["empty results file"],
    "row cut mid-line": ["line 5: a data row must end with ':'"],
    "non-UTF-8 byte": ["line 2, field ORI_DESC: byte 0xC9 is not UTF-8"],
}
WARNED = {
    "bad date": ["line 3, field LAST_CONT: not a date"],
    "blank name": ["line 2, field CPS_NAME: missing"],
}


def bad_results(people, case: str) -> bytes:
    """The results file of a bad-input case (made-up rows for the children sent)."""
    good = answer_lines(people, 4)
    header = dfps_data.RESULTS_HEADER
    if case == "wrong field count":
        lines = [header, *good[:2], "NOBODY,SOMEONE:MADE UP:01/02/2012:F:", good[2]]
    elif case == "empty file":
        return b""
    elif case == "row cut mid-line":
        lines = [header, *good[:3], good[3][:40].rstrip(":")]
    elif case == "non-UTF-8 byte":
        text = "\n".join([header, *good]) + "\n"
        return text.encode("ascii").replace(b"AUSTIN PD", b"AUSTIN P\xc9D", 1)
    elif case == "bad date":
        lines = [header, good[0], answer_lines(people, 2, contact_text="2025-13-45")[1], *good[2:]]
    elif case == "blank name":
        lines = [header, ":" + good[0].split(":", 1)[1], *good[1:]]
    else:
        raise AssertionError(case)
    return ("\n".join(lines) + "\n").encode("ascii")


@pytest.mark.parametrize("case", [*FAILING, *WARNED])
def test_bad_results_fail_or_warn_naming_file_line_and_field_and_nothing_is_lost(
    bundle_dags,
    sent_reference,  # noqa: F811 - the imported fixture
    clean,  # noqa: F811 - the imported fixture
    faults,
    capfd,
    caplog,
    case,
):
    content = bad_results(sent_reference, case)
    (to_dfps() / RESULTS).write_bytes(content)
    rows = [line for line in content.splitlines()[1:] if line.strip()]
    (to_dfps() / COUNTS).write_text(f"TOTAL RECORDS: {len(rows)}\n")
    on_server = server_files()

    run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **FAST)
    states = task_states(run)
    stored = f"dfps-missing-person-results_{PERIOD}_"  # the archived copy's name: DPS's, period, stamp
    if case in FAILING:
        assert run.state == "failed" and states["reconcile"] == ["failed"], states
        assert states["remove_from_server"] == ["upstream_failed"]
        output = "".join(capfd.readouterr()) + caplog.text
        error = next((line for line in output.splitlines() if f"DPS results for {PERIOD} (" in line), output[-2000:])
        faults.bad_input(f"dfps receive: {case}", error, RESULTS, stored, *FAILING[case])
        assert server_files() == on_server  # nothing removed: DPS can be asked about it
        archived_copy = (paths.share_dir() / "dfps_dps" / "archive" / "from_dps").glob(f"{stored}*.txt")
        assert any(p.read_bytes() == content for p in archived_copy)
    else:
        assert run.state == "success", states
        summary = xcom_value(run, DAG_ID, "reconcile")
        warning = next((w for w in summary["warnings"] if WARNED[case][0] in w), str(summary["warnings"]))
        faults.bad_input(f"dfps receive: {case}", warning, stored, *WARNED[case])
        assert summary["rejected_rows"] == 1
        faults.rows_lost(len(rows), summary["results_rows"] + summary["rejected_rows"])  # counted, kept archived


def test_postgres_restarted_during_the_wait_keeps_waiting_and_sends_no_second_late_notice(
    answer_folder, devstack_state, maildir, monkeypatch, faults, capfd, caplog
):
    """The restart cuts the poke's session right after the late notice went out: the poke logs it and
    the wait goes on; the notice is left 'pending' (maybe sent), so later pokes do not send it again.
    Last in this module: the restart also cuts the session-scoped ``warehouse`` fixture's connection."""
    import psycopg

    from devstack.services import DATABASES, server_url
    from etl_bundle.dfps import receive
    from etl_bundle.dfps.periods import txt_name

    period = FiscalPeriod.parse("FY2019_Q3")
    url = server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])
    subject = f"[dfps_dps_receive] DPS answer for {period.label} is late"

    def tidy():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM dfps.dps_exchanges WHERE run_id = 'faults__dfps_receive_restart'")
            conn.execute("DELETE FROM dfps.dps_late_notices WHERE period = %s", (period.label,))

    tidy()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dfps.dps_exchanges (period, direction, file_name, sha256, size_bytes, row_count, sent_at,"
            " run_id) VALUES (%s, 'to_dps', %s, 'x', 1, 1, now() - interval '1 day', 'faults__dfps_receive_restart')",
            (period.label, txt_name(period)),
        )
    real_send = receive.send_mail

    def send_then_restart(*args, **kwargs):
        real_send(*args, **kwargs)
        restart_postgres()

    late_before = mails_for(maildir, subject)
    context = sensor_context(datetime.now(UTC), late_after_hours=0)
    try:
        with faults.inject("dfps receive: Postgres restarted mid-poke, after the late notice's SMTP exchange"):
            monkeypatch.setattr(receive, "send_mail", send_then_restart)
            capfd.readouterr()
            assert sensor(period.label).poke(context) is False
            said = "".join(capfd.readouterr()) + caplog.text
            assert "the late notice met" in said and "(transient)" in said
            monkeypatch.setattr(receive, "send_mail", real_send)
            with psycopg.connect(url) as conn:
                recorded = conn.execute(
                    "SELECT status FROM dfps.dps_late_notices WHERE period = %s", (period.label,)
                ).fetchall()
            assert recorded == [("pending",)]
            assert sensor(period.label).poke(context) is False
            assert "maybe sent" in "".join(capfd.readouterr()) + caplog.text
            results, counts = dfps_data.answer_names(period.label)
            (answer_folder / results).write_text("CPS NAME:CPS DOB:LAST CONT:STS\nA,B:01/02/2012:04/04/2019:LOC:\n")
            (answer_folder / counts).write_text("TOTAL RECORDS: 1\n")
            done = sensor(period.label).poke(context)
            assert done.is_done and done.xcom_value["results"]["name"] == results
            faults.side_effects("late notice", len(mails_for(maildir, subject)) - len(late_before))
    finally:
        tidy()
