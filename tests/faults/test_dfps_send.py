"""dfps_dps_send under faults: a connection dropped mid-upload, a kill between the upload and
the audit, bad rows in the Oracle stand-in, reruns. Each upload and share copy happens once."""

from __future__ import annotations

import hashlib
import stat
from datetime import date

import psycopg
import pytest

from devstack import dfps_data, paths
from etl_bundle.dfps.send_tasks import REMOTE_DIR_TO_DPS, SFTP_CONN_ID
from tests.faults.conftest import airflow_dags_test, sigkill_when
from tests.integration.conftest import migrate_warehouse, second_sftp_server

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_send"
PERIOD = "FY2025_Q2"
TXT = f"Children_in_care_{PERIOD}.txt"
XLSX = f"ReferenceData_{PERIOD}_doublebarrel.xlsx"
BAD_PERSON_IDS = 99_000_000  # the bad rows' person ids start here (sorted after the seed's)


def remote_file():
    return paths.sftp_root() / REMOTE_DIR_TO_DPS / TXT


def share_copies() -> list:
    return sorted((paths.share_dir() / "dfps_dps" / "to_dps").glob(f"*{PERIOD}*"))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_rows(warehouse) -> list[tuple]:
    return warehouse.execute(
        "SELECT file_name, state, sha256, share_path FROM dfps.dps_exchanges WHERE period = %s ORDER BY file_name",
        (PERIOD,),
    ).fetchall()


@pytest.fixture
def clean_send(devstack_state, warehouse):
    """The Oracle stand-in freshly seeded, the period never sent: no audit row, no remote file or share copy."""
    from devstack.seed import seed_folders

    dfps_data.seed(devstack_state, 400)
    seed_folders(devstack_state, 0)
    migrate_warehouse("dfps")
    warehouse.execute("TRUNCATE dfps.dps_exchanges")
    for leftover in (remote_file(), remote_file().with_name(TXT + ".part")):
        leftover.unlink(missing_ok=True)
    for old in share_copies():
        old.unlink()
    yield
    dfps_data.seed(devstack_state, 400)  # the bad rows out again


def send(run_id: str, *, force: bool = False, stamp: str = "20250310_091500") -> dict:
    """One attempt of the send task, as the task makes it (a retry is the same run and stamp)."""
    from etl_bundle.dfps.send import send_period
    from etl_bundle.dfps.send_tasks import ORACLE_CONN_ID, SHARE_CONN_ID, WAREHOUSE_CONN_ID

    return send_period(
        PERIOD,
        oracle_conn_id=ORACLE_CONN_ID,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        remote_dir=REMOTE_DIR_TO_DPS,
        run_id=run_id,
        stamp=stamp,
        force=force,
    )


def upload_identity(path) -> tuple[int, int] | None:
    """(inode, mtime) of the remote file: every upload renames a new file into place, a new inode."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns


@pytest.mark.quick
def test_the_stand_in_renames_as_openssh_plain_refuses_a_target_posix_rename_replaces(devstack_state, tmp_path):
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    folder = paths.sftp_root() / REMOTE_DIR_TO_DPS
    old, new = folder / "rename-probe.txt", folder / "rename-probe.txt.part"
    old.write_text("old\n")
    new.write_text("new\n")
    try:
        with SFTPHook(ssh_conn_id=SFTP_CONN_ID).get_managed_conn() as sftp:
            with pytest.raises(OSError):
                sftp.rename(f"{REMOTE_DIR_TO_DPS}/{new.name}", f"{REMOTE_DIR_TO_DPS}/{old.name}")
            assert old.read_text() == "old\n"
            sftp.posix_rename(f"{REMOTE_DIR_TO_DPS}/{new.name}", f"{REMOTE_DIR_TO_DPS}/{old.name}")
        assert old.read_text() == "new\n" and not new.exists()
    finally:
        old.unlink(missing_ok=True)
        new.unlink(missing_ok=True)


@pytest.mark.quick
def test_a_connection_dropped_mid_upload_leaves_no_file_under_the_final_name_and_a_retry_uploads_once(
    clean_send, monkeypatch, warehouse, faults
):
    with faults.inject("dfps send: SFTP connection dropped mid-upload"):
        with second_sftp_server(monkeypatch, SFTP_CONN_ID, "--cut-after-bytes", "1000"):
            with pytest.raises(Exception):  # noqa: B017 - whatever paramiko makes of a cut connection
                send("manual__fault_drop")
            assert not remote_file().exists()  # DPS never sees a partial file
            partial = remote_file().with_name(TXT + ".part")
            # What the server took before the cut: owner-only from the start.
            assert stat.S_IMODE(partial.stat().st_mode) == 0o600 and partial.stat().st_size <= 1000
            assert [state for _, state, _, _ in audit_rows(warehouse)] == ["pending", "pending"]
            assert share_copies() == []

            summary = send("manual__fault_drop")  # the task's retry: same run, same stamp
        assert summary["uploaded_now"] and summary["resumed"]
        assert sha256(remote_file()) == summary["sha256"]
        assert stat.S_IMODE(remote_file().stat().st_mode) == 0o644
        assert not remote_file().with_name(TXT + ".part").exists()
        assert [(name, state) for name, state, _, _ in audit_rows(warehouse)] == [(TXT, "sent"), (XLSX, "sent")]
        assert len(share_copies()) == 2
        faults.side_effects("dps upload after a dropped connection", int(summary["uploaded_now"]))


def pending_rows_locked(locker) -> bool:
    """The period's two pending rows locked by ``locker`` (so the send cannot mark them sent)."""
    rows = locker.execute(
        "SELECT id FROM dfps.dps_exchanges WHERE period = %s AND state = 'pending' FOR UPDATE", (PERIOD,)
    ).fetchall()
    if len(rows) == 2:
        return True
    locker.rollback()
    return False


def waiting_to_complete(warehouse) -> bool:
    """The send's UPDATE of its pending rows is waiting on the test's lock: upload and share copies are done."""
    (waiting,) = warehouse.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query LIKE %s",
        ("%UPDATE dfps.dps_exchanges SET state = 'sent'%",),
    ).fetchone()
    return waiting > 0


def test_a_kill_between_the_upload_and_the_audit_row_then_a_rerun_uploads_and_copies_once(
    clean_send, warehouse, devstack_state, faults
):
    import time

    from devstack.services import DATABASES, server_url

    url = server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])
    conf = {"period": PERIOD, "force": False}
    with faults.inject("dfps send: SIGKILL between the upload and the audit row"):
        with psycopg.connect(url) as locker:
            run = airflow_dags_test(DAG_ID, conf, "2025-03-05")
            deadline = time.monotonic() + 300
            while not pending_rows_locked(locker):
                assert run.poll() is None, f"the send ended before it recorded its exchange; log: {run.log_path}"
                assert time.monotonic() < deadline, f"no pending exchange; log: {run.log_path}"
                time.sleep(0.01)
            killed = sigkill_when(run, lambda: remote_file().exists() and waiting_to_complete(warehouse))
            locker.rollback()
        assert killed, f"the send ended before the kill point; log: {run.log_path}"
        first_upload = upload_identity(remote_file())
        first_copies = {copy.name: sha256(copy) for copy in share_copies()}
        first_writes = {copy.name: upload_identity(copy) for copy in share_copies()}
        assert len(first_copies) == 2
        assert {state for _, state, _, _ in audit_rows(warehouse)} == {"pending"}

        rerun = airflow_dags_test(DAG_ID, conf, "2025-03-06")
        assert rerun.wait(timeout=600) == 0, f"the rerun failed; log: {rerun.log_path}"
        log_text = rerun.log_path.read_text(errors="replace")
        assert "on the DPS server already" in log_text
        assert [(name, state) for name, state, _, _ in audit_rows(warehouse)] == [(TXT, "sent"), (XLSX, "sent")]
        assert {copy.name: sha256(copy) for copy in share_copies()} == first_copies
        assert log_text.count("is on the share already") == 2
        uploads = 1 + (upload_identity(remote_file()) != first_upload)
        faults.side_effects("dps upload across a kill and a rerun", uploads)
        # A copy written again is a new file renamed into place: another inode.
        copies_written = 2 + sum(upload_identity(copy) != first_writes.get(copy.name) for copy in share_copies())
        faults.side_effects("share copies across a kill and a rerun", copies_written, expected=2)


def add_bad_rows(devstack_state) -> dict[str, tuple]:
    """Bad rows for FY2025 Q2 in the Oracle stand-in: name -> (person id, what the send must name)."""
    from devstack.services import DATABASES, server_url

    entered = date(2024, 12, 15)
    cases = {
        # name: (first, last, birth, the field the problem names, how it ends)
        "blank last name": ("Kevin", "   ", date(2012, 5, 1), "NM_PERSON_LAST", "dropped (blank_first_or_last_name)"),
        "non-Latin last name only": ("Kevin", "☃☃", date(2012, 5, 1), "NM_PERSON_LAST", "(no_usable_last_name)"),
        "birth after care entry": ("Kevin", "Lee", date(2030, 1, 1), "DT_CHILD_BIRTH", "(implausible_birth_date)"),
        "placeholder birth date": ("Kevin", "Lee", date(1800, 1, 1), "DT_CHILD_BIRTH", "(implausible_birth_date)"),
        "control characters in a name": ("Ke\x01vin\n", "Lee", date(2012, 5, 1), "NM_PERSON_FIRST", "removed"),
        "first name too short": ("Al", "Lee", date(2012, 5, 1), "NM_PERSON_FIRST", "(no_usable_first_name)"),
    }
    rows = {}
    with psycopg.connect(server_url(devstack_state["services"]["postgres"], DATABASES["oracle_standin"])) as conn:
        for number, (name, (first, last, birth, column, ending)) in enumerate(cases.items()):
            person = BAD_PERSON_IDS + number
            conn.execute(
                "INSERT INTO caps.qtr_dps_cvs VALUES (%s, %s, NULL, %s, %s, %s, NULL, 'Male', 2025, 2)",
                (person, first, last, birth, entered),
            )
            rows[name] = (person, column, ending)
        # Two more: an overlong last name (cut to the Name field's 30 characters) and a second
        # record of one care entry (merged: the earliest exit kept, as the original).
        conn.execute(
            "INSERT INTO caps.qtr_dps_cvs VALUES (%s, 'Kevin', NULL, %s, '2012-05-01', %s, NULL, 'Male', 2025, 2),"
            " (%s, 'Kevin', NULL, 'Lee', '2012-05-01', %s, '2025-01-31', 'Male', 2025, 2),"
            " (%s, 'Kevin', NULL, 'Lee', '2012-05-01', %s, NULL, 'Male', 2025, 2)",
            (BAD_PERSON_IDS + 50, "W" * 60, entered, BAD_PERSON_IDS + 51, entered, BAD_PERSON_IDS + 51, entered),
        )
        in_period = conn.execute(
            "SELECT count(*) FROM caps.qtr_dps_cvs WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
        ).fetchone()[0]
        rows_before = {
            person: conn.execute(
                "SELECT count(*) FROM caps.qtr_dps_cvs WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
                " AND (id_pp_person, dt_enter_care) < (%s, %s)",
                (person, entered),
            ).fetchone()[0]
            for person, _, _ in rows.values()
        }
    return {
        "cases": {
            name: (person, rows_before[person] + 1, column, ending) for name, (person, column, ending) in rows.items()
        },
        "rows": in_period,
    }


def test_bad_rows_in_the_oracle_stand_in_are_counted_and_told_by_row_and_field_and_none_lost(
    clean_send, devstack_state, faults
):
    from openpyxl import load_workbook

    bad = add_bad_rows(devstack_state)
    summary = send("manual__fault_bad_rows")
    problems = summary["problems_listed"]
    for name, (person, row, column, ending) in bad["cases"].items():
        told = next((p for p in problems if f"(person {person})" in p), "")
        faults.bad_input(f"dfps send: {name}", told, f"row {row} ", f"field {column}", ending)
    assert summary["dropped"]["no_usable_last_name"] == 1 and summary["dropped"]["implausible_birth_date"] == 2

    # Nothing lost: every row read is sent, merged into its care entry's record, or dropped and told.
    accounted = summary["children_records_sent"] + summary["merged_care_records"] + sum(summary["dropped"].values())
    faults.rows_lost(bad["rows"], accounted)
    assert summary["children"] == bad["rows"] and summary["merged_care_records"] >= 1
    workbook = next(copy for copy in share_copies() if copy.suffix == ".xlsx")
    people = {
        str(row[0]) for row in load_workbook(workbook, read_only=True).active.iter_rows(min_row=2, values_only=True)
    }
    repaired = bad["cases"]["control characters in a name"][0]
    assert {str(repaired), str(BAD_PERSON_IDS + 50), str(BAD_PERSON_IDS + 51)} <= people
    lines = remote_file().read_text(encoding="ascii").splitlines()
    assert all(len(line) == 41 for line in lines) and "W" * 30 + "2012-05-01M" in lines


def test_a_rerun_for_the_same_period_gives_identical_files_and_no_second_upload(clean_send, warehouse, faults):
    with faults.inject("dfps send: rerun of a period already sent"):
        first = send("manual__fault_rerun_1")
        uploaded = upload_identity(remote_file())
        copies = {copy.name: sha256(copy) for copy in share_copies()}
        from airflow.sdk.exceptions import AirflowSkipException

        with pytest.raises(AirflowSkipException, match="already sent"):
            send("manual__fault_rerun_2", stamp="20250311_091500")
        assert upload_identity(remote_file()) == uploaded and sha256(remote_file()) == first["sha256"]
        assert {copy.name: sha256(copy) for copy in share_copies()} == copies
        faults.side_effects("dps upload on a rerun", 1 + (upload_identity(remote_file()) != uploaded))

        # Forced, the same period builds the same bytes again (the files are a function of the data).
        forced = send("manual__fault_rerun_3", force=True, stamp="20250312_091500")
        assert forced["sha256"] == first["sha256"] and forced["reference_sha256"] == first["reference_sha256"]
        assert [state for _, state, _, _ in audit_rows(warehouse)] == ["sent"] * 4


def test_the_share_refusing_writes_after_the_upload_then_a_retry_on_an_upload_only_server_uploads_once(
    clean_send, monkeypatch, warehouse, faults
):
    # A folder where the txt's copy goes: the share refuses to rename the copy into place.
    in_the_way = paths.share_dir() / "dfps_dps" / "to_dps" / f"Children_in_care_{PERIOD}_20250310_091500.txt"
    in_the_way.mkdir(parents=True)
    with faults.inject("dfps send: the share refuses writes after the upload (upload-only server)"):
        with second_sftp_server(monkeypatch, SFTP_CONN_ID, "--upload-only"):
            try:
                with pytest.raises(Exception):  # noqa: B017 - whatever the SMB client makes of the refusal
                    send("manual__fault_share")
            finally:
                in_the_way.rmdir()
            uploaded = upload_identity(remote_file())
            assert uploaded is not None and share_copies() == []
            assert {state for _, state, _, _ in audit_rows(warehouse)} == {"pending"}

            summary = send("manual__fault_share")  # the retry
        assert not summary["uploaded_now"] and summary["verified_by"] == "size only (the server refuses reads)"
        assert upload_identity(remote_file()) == uploaded and sha256(remote_file()) == summary["sha256"]
        assert [(name, state) for name, state, _, _ in audit_rows(warehouse)] == [(TXT, "sent"), (XLSX, "sent")]
        faults.side_effects("dps upload across a share refusal", 1 + (upload_identity(remote_file()) != uploaded))
        faults.side_effects("share copies across a share refusal", len(share_copies()), expected=2)


def test_a_kill_in_the_middle_of_the_upload_then_a_rerun_uploads_once(clean_send, monkeypatch, warehouse, faults):
    import os

    partial = remote_file().with_name(TXT + ".part")
    conf = {"period": PERIOD, "force": False}
    own_server = os.environ["AIRFLOW_CONN_DPS_SFTP"]
    with faults.inject("dfps send: SIGKILL in the middle of the upload"):
        with second_sftp_server(monkeypatch, SFTP_CONN_ID, "--stall-after-bytes", "1000"):
            run = airflow_dags_test(DAG_ID, conf, "2025-03-07")
            killed = sigkill_when(run, lambda: partial.exists() and partial.stat().st_size >= 1000)
            assert killed, f"the send ended before the kill point; log: {run.log_path}"
            assert not remote_file().exists() and stat.S_IMODE(partial.stat().st_mode) == 0o600
            assert {state for _, state, _, _ in audit_rows(warehouse)} == {"pending"}
        monkeypatch.setenv("AIRFLOW_CONN_DPS_SFTP", own_server)  # the rerun on the devstack's own server
        rerun = airflow_dags_test(DAG_ID, conf, "2025-03-08")
        assert rerun.wait(timeout=600) == 0, f"the rerun failed; log: {rerun.log_path}"
        assert "resuming the exchange" in rerun.log_path.read_text(errors="replace")
        assert not partial.exists()
        assert [(name, state) for name, state, _, _ in audit_rows(warehouse)] == [(TXT, "sent"), (XLSX, "sent")]
        (sent_sha,) = {sha for name, _, sha, _ in audit_rows(warehouse) if name == TXT}
        assert sha256(remote_file()) == sent_sha
        faults.side_effects("share copies across a kill mid-upload", len(share_copies()), expected=2)
