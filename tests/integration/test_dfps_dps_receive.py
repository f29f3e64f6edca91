"""dfps_dps_receive end to end on the devstack: DPS's answer on the SFTP server + the reference
send delivered + the Oracle stand-in's lookups → three workbooks, email, archive, server cleaned."""

from __future__ import annotations

import stat
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from devstack import dfps_data, paths
from etl_bundle.common.xlsx import read_workbook
from tests.integration.conftest import central_stamp, migrate_warehouse, run_dag, task_states, xcom_value

pytestmark = pytest.mark.integration

DAG_ID = "dfps_dps_receive"
PERIOD = "FY2025_Q2"
WINDOW_START, WINDOW_END = date(2024, 12, 1), date(2025, 2, 28)
RESULTS = f"dfps-missing-person-results_{PERIOD}.txt"
COUNTS = f"DFPS-Missing-Person-Counts_{PERIOD}.TXT"  # DPS's case varies
CUSTODY = ("TMC", "PMC/ Rts Not Term", "PMC/ Rts Term (All)", "PMC/ Rts Term (Mother)", "PMC/Rts Term (Father)")
FAST = {"settle_seconds": 0.5, "poke_interval_seconds": 1, "counts_grace_minutes": 0, "min_age_minutes": 0}


def to_dfps():
    return paths.sftp_root() / "to_dfps"


def mdy(day):
    return day.strftime("%m/%d/%Y") if day else ""


def dps_line(name, birth, contact, status, *, located=None, cleared=None, contact_text=None):
    cells = [name, "MADE UP", mdy(birth), "F", "W", "N", mdy(contact), contact_text or mdy(contact), "10"]
    cells += ["TX2270100", "AUSTIN PD", "TRAVIS", "512-555-0100", "M000000001", status, mdy(located), mdy(cleared)]
    return ":".join(cells) + ":"


def put_answer(lines, counts=None):
    """DPS places its answer (owner-only, as its SFTP account would)."""
    folder = to_dfps()
    for name, text in ((RESULTS, "\n".join([dfps_data.RESULTS_HEADER, *lines]) + "\n"), (COUNTS, counts)):
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
            (folder / name).chmod(0o600)


@pytest.fixture(scope="module")
def sent_reference(bundle_dags, devstack_state):
    """The period sent by dfps_dps_send (the reference workbook on the share), and its people."""
    from devstack.seed import seed_folders
    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.common.share import open_share
    from etl_bundle.dfps.receive import latest_reference

    dfps_data.seed(devstack_state, 400)
    seed_folders(devstack_state, 0)
    run = run_dag(bundle_dags["dfps_dps_send"], period=PERIOD, force=True)
    assert run.state == "success", task_states(run)
    with open_share("network_share") as share, tempfile.TemporaryDirectory() as tmp:
        # Read back over SMB, as the receive side does.
        found = latest_reference(share, FiscalPeriod.parse(PERIOD))
        reference = read_workbook(share.download(found, Path(tmp) / "reference.xlsx"))
    people: dict[int, dict] = {}
    for row in reference:
        people.setdefault(row["Person_ID"], row)
    return people


def pick(people, *, born_after=None, born_before=None, entered_before=None, exclude=()):
    for person, row in sorted(people.items()):
        birth, entered = row["Date_of_Birth"].date(), row["Entered_Care"].date()
        if person in exclude:
            continue
        if born_after and birth <= born_after or born_before and birth >= born_before:
            continue
        if entered_before and entered >= entered_before:
            continue
        return row
    raise AssertionError("the seeded reference has no such child; reseed with more rows")


@pytest.fixture
def oracle(devstack_state):
    from devstack.services import DATABASES, server_url

    with psycopg.connect(
        server_url(devstack_state["services"]["postgres"], DATABASES["oracle_standin"]), autocommit=True
    ) as conn:
        yield conn


@pytest.fixture
def clean(warehouse):
    for old in to_dfps().iterdir():
        old.unlink()
    migrate_warehouse("dfps")
    warehouse.execute("DELETE FROM dfps.dps_exchanges WHERE direction = 'from_dps'")
    warehouse.execute("TRUNCATE dfps.dps_late_notices")
    warehouse.execute("TRUNCATE dfps.dps_results_loads")
    warehouse.execute("TRUNCATE dfps.dps_stakeholder_mails")
    warehouse.execute("TRUNCATE dfps.dps_answer_claims")
    yield
    for old in to_dfps().iterdir():
        old.unlink()


def share_outputs(stamp_glob="*"):
    return sorted((paths.share_dir() / "dfps_dps" / "to_cps").glob(f"*{PERIOD}_{stamp_glob}.xlsx"))


def new_mail(maildir, seen):
    return [maildir[key] for key in set(maildir.keys()) - seen]


def header(path):
    """A workbook's column names in order (also for a sheet without rows)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        return [cell for cell in next(book.worksheets[0].iter_rows(values_only=True))]
    finally:
        book.close()


def as_date(value):
    return value.date() if hasattr(value, "date") else value


def html_body(mail):
    return next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()


def workbooks(stamp):
    files = share_outputs(stamp)
    return [
        next(p for p in files if p.name.startswith(prefix))
        for prefix in ("DPS_total_runaway_events", "DPS_not_in_IMPACT", "IMPACT_not_in_DPS")
    ]


def test_a_period_is_reconciled_delivered_loaded_announced_archived_and_removed_from_the_server(
    bundle_dags, sent_reference, oracle, clean, warehouse, maildir, capfd, caplog
):
    people = sent_reference
    located = pick(people, born_after=date(2009, 1, 1))  # LOC in the window
    still_open = pick(people, born_after=date(2009, 1, 1), entered_before=WINDOW_START, exclude={located["Person_ID"]})
    twice = pick(
        people,
        born_after=date(2009, 1, 1),
        entered_before=WINDOW_START,
        exclude={located["Person_ID"], still_open["Person_ID"]},
    )
    adult = pick(people, born_before=date(2006, 11, 30))  # 18 before the window: dropped
    ids = [located["Person_ID"], still_open["Person_ID"], twice["Person_ID"]]
    lines = [
        dps_line(located["Name"], located["Date_of_Birth"], WINDOW_START, "LOC", located=WINDOW_START),
        dps_line(still_open["Name"], still_open["Date_of_Birth"], WINDOW_START - timedelta(days=1), "ACTV"),
        dps_line(twice["Name"], twice["Date_of_Birth"], WINDOW_START - timedelta(days=1), "CANC"),
        dps_line(twice["Name"], twice["Date_of_Birth"], WINDOW_START, "CLRD", cleared=WINDOW_START),
        dps_line(twice["Name"], twice["Date_of_Birth"], WINDOW_START, "LOC", located=WINDOW_START),
        dps_line(adult["Name"], adult["Date_of_Birth"], WINDOW_START, "LOC"),
        dps_line("NOBODY,SOMEONE", date(2012, 5, 5), WINDOW_START, "LOC"),
        dps_line(located["Name"], located["Date_of_Birth"], WINDOW_START, "LOC", contact_text="2025-13-45"),
    ]
    put_answer(lines, counts="TOTAL RECORDS: 999\nLOC: 5\n")
    # IMPACT lists the located child and the open one as runaways; not the third.
    oracle.execute("DELETE FROM caps.sa_98_runaways WHERE child_pid = ANY(%s)", (ids,))
    oracle.execute(
        "INSERT INTO caps.sa_98_runaways (child_pid, child_name, dt_run, legal_status, cnty_legal, txt_run_rsn)"
        " VALUES (%s, 'MADE UP', '2024-12-01', 'TMC', 'Travis', 'x'),"
        " (%s, 'MADE UP', '2024-11-02', 'TMC', 'Travis', 'x')",
        (located["Person_ID"], still_open["Person_ID"]),
    )
    calls_before = oracle.execute(
        "SELECT count(*) FROM caps.dfps_msng_person_loads WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
    ).fetchone()[0]
    seen = set(maildir.keys())

    # DPS's total disagrees with its file; within the tolerance the run goes on and warns.
    run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **FAST, counts_tolerance_rows=1000)
    assert run.state == "success", task_states(run)
    summary = xcom_value(run, DAG_ID, "reconcile")
    stamp = central_stamp(run.start_date)
    events_file, not_in_impact_file, impact_file = workbooks(stamp)
    assert [p.name for p in (events_file, not_in_impact_file, impact_file)] == [
        f"DPS_total_runaway_events_{PERIOD}_{stamp}.xlsx",
        f"DPS_not_in_IMPACT_{PERIOD}_{stamp}.xlsx",
        f"IMPACT_not_in_DPS_{PERIOD}_{stamp}.xlsx",
    ]
    events, not_in_impact, impact_not_in_dps = (
        read_workbook(p) for p in (events_file, not_in_impact_file, impact_file)
    )

    # The events workbook: the original's 17 columns in order, one row per child, the codes it wrote.
    event_columns = ["CPS_DOB", "S", "R", "E", "LAST_CONT", "HR", "ORI_DESC", "COUNTY_NAME", "ORI_PHONE", "NIC"]
    event_columns += ["STS", "LOCATE_DT", "CLR_CAN_DT", "Person_ID", "Entered_Care", "Exited_Care", "CombDate"]
    assert header(events_file) == event_columns
    by_person = {row["Person_ID"]: row for row in events}
    assert [row["Person_ID"] for row in events] == sorted(ids, key=str)
    assert by_person[twice["Person_ID"]]["STS"] == "1LOC"  # LOC beats CLRD on one day; the latest contact wins
    assert by_person[still_open["Person_ID"]]["STS"] == "2ACTV"  # open from before the window (clause B)
    row = by_person[located["Person_ID"]]
    exited = as_date(located["Exited_Care"]) or date(2200, 1, 1)
    assert {k: as_date(v) for k, v in row.items()} == {
        "CPS_DOB": as_date(located["Date_of_Birth"]),
        "S": "F",
        "R": "W",
        "E": "N",
        "LAST_CONT": WINDOW_START,
        "HR": "10",
        "ORI_DESC": "AUSTIN PD",
        "COUNTY_NAME": "TRAVIS",
        "ORI_PHONE": "512-555-0100",
        "NIC": "M000000001",
        "STS": "1LOC",
        "LOCATE_DT": WINDOW_START,
        "CLR_CAN_DT": None,
        "Person_ID": located["Person_ID"],
        "Entered_Care": as_date(located["Entered_Care"]),
        "Exited_Care": exited,
        "CombDate": WINDOW_START,
    }
    assert (summary["events_rows"], summary["unmatched"], summary["rejected_rows"]) == (3, 1, 1)
    assert any("line 9, field LAST_CONT" in w for w in summary["warnings"])
    assert any("TOTAL RECORDS = 999" in w for w in summary["warnings"])
    assert summary["snapshot_month"] == "2025-02" and summary["window"] == ["2024-12-01", "2025-02-28"]

    # DPS but not IMPACT: the third child, with the legal county and name of the Feb 2025 load.
    assert header(not_in_impact_file) == [*event_columns, "Legal_County", "Name", "Legal_Region", "Outcome"]
    assert [row["Person_ID"] for row in not_in_impact] == [twice["Person_ID"]]
    expected_legal = oracle.execute(
        "SELECT DISTINCT trim(c.decode), s.nm_person_name, r.sub_reg FROM caps.sa_sum s"
        " JOIN caps.time_dim t ON t.id_time_load = s.id_time_load"
        "  AND t.nbr_time_calendar_year = 2025 AND t.nbr_time_calendar_month = 2"
        " LEFT JOIN caps.ccount c ON c.code = s.cd_legal_cnty"
        " LEFT JOIN caps.cnty_reg_tableau r ON trim(r.cnty_name) = trim(c.decode)"
        " WHERE s.id_sa_person = %s",
        (int(twice["Person_ID"]),),
    ).fetchall()
    got = [(r["Legal_County"], r["Name"], r["Legal_Region"], r["Outcome"]) for r in not_in_impact]
    assert got == [(*legal, None) for legal in expected_legal]

    # IMPACT but not DPS: every get_sa_98 column in its order minus the twelve, plus Outcome; FY2025's
    # unrecovered runaways in custody, minus the still-missing DPS record, in the function's order.
    function = oracle.execute("SELECT * FROM qtr_dps_cvs_pkg.get_sa_98('2024-09-01', '2025-08-31')")
    sa98_columns = [column.name.upper() for column in function.description]
    dropped = {"DT_RECOVERED", "RETURNED_BY", "RECOVERY_INTERVW_CONDUCTED", "RSN_NOT_INTERVIEWED"}
    dropped |= {"RECOVERY_INTERVW_DT", "CONFIRMED_RSN_ABSENCE", "SEX_TRF", "LABOR_TRF", "PHAB", "SXAB", "OTHER"}
    dropped |= {"TXT_RUN_RSN"}
    kept_columns = [name for name in sa98_columns if name not in dropped]
    assert len(sa98_columns) >= 29 and header(impact_file) == [*kept_columns, "Outcome"]
    expected_rows = [
        {name: value for name, value in zip(sa98_columns, values, strict=True) if name not in dropped}
        | {"Outcome": None}
        for values in function.fetchall()
        if values[sa98_columns.index("DT_RECOVERED")] is None
        and values[sa98_columns.index("LEGAL_STATUS")] in (None, *CUSTODY)
        and str(values[sa98_columns.index("CHILD_PID")]) != str(still_open["Person_ID"])
    ]
    assert any(str(row["CHILD_PID"]) == str(located["Person_ID"]) for row in expected_rows)
    assert [{k: as_date(v) for k, v in row.items()} for row in impact_not_in_dps] == expected_rows

    # DPS's rows loaded into IMPACT with the period, and the procedure run once.
    loaded = oracle.execute(
        "SELECT sts, count(*) FROM caps.dfps_msng_person WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
        " GROUP BY sts ORDER BY sts"
    ).fetchall()
    assert loaded == [("ACTV", 1), ("CANC", 1), ("CLRD", 1), ("LOC", 4)]  # the 7 readable rows, DPS's codes

    def procedure_calls():
        return oracle.execute(
            "SELECT count(*) FROM caps.dfps_msng_person_loads WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
        ).fetchone()[0]

    assert procedure_calls() == calls_before + 1
    assert xcom_value(run, DAG_ID, "load_dps_results")["loaded"] is True

    # Archived inputs, outputs and the reference; the workbooks readable by the stakeholders (the
    # share's default); the archive's privacy on SMB is the share's ACL (README); the server is clean.
    archive = paths.share_dir() / "dfps_dps" / "archive"
    archived = sorted(p.relative_to(archive).parts[0] for p in archive.rglob(f"*{PERIOD}*"))
    assert archived.count("from_dps") >= 2 and archived.count("to_cps") >= 3 and "to_dps" in archived
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o044 == 0o044 for p in share_outputs(stamp))
    assert not [p for p in (paths.share_dir() / "dfps_dps").rglob("*.part")]
    assert sorted(p.name for p in to_dfps().iterdir()) == []
    assert xcom_value(run, DAG_ID, "remove_from_server")["removed"] == [RESULTS, COUNTS]
    audit = warehouse.execute(
        "SELECT file_name, row_count FROM dfps.dps_exchanges WHERE direction = 'from_dps' AND run_id = %s"
        " ORDER BY file_name",
        (run.run_id,),
    ).fetchall()
    assert audit == [(COUNTS, 2), (RESULTS, len(lines))]

    # The reconciliation is announced as an Asset event naming the period, the files and their rows.
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [e.extra for e in session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id)]
    rows = {
        key: summary[key] for key in ("results_rows", "events_rows", "not_in_impact_rows", "impact_not_in_dps_rows")
    }
    assert rows["events_rows"] == 3
    assert extras == [{"period": PERIOD, "files": summary["share_files"], "rows": rows}]

    # The stakeholders' notice as the original's: the subject, counts and where the files are; no attachment.
    mails = [m for m in new_mail(maildir, seen) if PERIOD in m["Subject"]]
    assert [m["Subject"] for m in mails] == [f"DPS Comparison Reports - {PERIOD} (Uploaded to Network Drive)"]
    assert not [p for p in mails[0].walk() if p.get_filename() or p.get_content_disposition() == "attachment"]
    body = html_body(mails[0])
    assert "3 runaway events" in body and "999" in body and PERIOD in body
    from etl_bundle.common.share import open_share

    with open_share("network_share") as share:
        assert share.location("dfps_dps/to_cps") in body  # where people find them (a UNC path on SMB)
    assert all(path.name in body for path in (events_file, not_in_impact_file, impact_file))
    told = warehouse.execute(
        "SELECT status, sent_at IS NOT NULL FROM dfps.dps_stakeholder_mails WHERE run_id = %s", (run.run_id,)
    )
    assert told.fetchall() == [("sent", True)]

    # A retry of the notice in the same run, or another run of the period, does not mail again.
    from etl_bundle.dfps.receive import notify_stakeholders

    seen = set(maildir.keys())
    args = {"warehouse_conn_id": "warehouse_postgres", "share_conn_id": "network_share"}
    assert notify_stakeholders(summary, **args, run_id=run.run_id) is False
    assert notify_stakeholders(summary, **args, run_id="manual__another_run") is False
    assert new_mail(maildir, seen) == []

    # Reconciled again from the archive: DPS sends nothing; new workbooks, the same values, a notice
    # only because it is forced, and DPS's rows are not loaded a second time.
    again = run_dag(bundle_dags[DAG_ID], period=PERIOD, reconcile_from_archive=True, force_notice=True, **FAST)
    assert again.state == "success", task_states(again)
    assert task_states(again)["remove_from_server"] == ["success"]
    assert xcom_value(again, DAG_ID, "collect_answer")["from_archive"] is True
    assert xcom_value(again, DAG_ID, "load_dps_results") == {
        "loaded": False,
        "by_run": run.run_id,
        "sha256": xcom_value(run, DAG_ID, "collect_answer")["results"]["sha256"],
    }
    assert procedure_calls() == calls_before + 1
    assert (
        oracle.execute(
            "SELECT count(*) FROM caps.dfps_msng_person WHERE rpt_fiscal_yr = 2025 AND rpt_qtr = 2"
        ).fetchone()[0]
        == 7
    )
    again_stamp = central_stamp(again.start_date)
    assert again_stamp != stamp
    for first, second in zip((events_file, not_in_impact_file, impact_file), workbooks(again_stamp), strict=True):
        assert header(first) == header(second) and read_workbook(first) == read_workbook(second)
    assert xcom_value(again, DAG_ID, "reconcile")["from_archive"] is True
    notices = [m for m in new_mail(maildir, seen) if PERIOD in m["Subject"]]
    assert len(notices) == 1 and again_stamp in html_body(notices[0])

    # No child's name or birth date in the logs, the XComs or the email body.
    output = "".join(capfd.readouterr()) + caplog.text + str(summary) + body + html_body(notices[0])
    for child in (located, still_open, twice, adult):
        assert child["Name"] not in output and mdy(child["Date_of_Birth"]) not in output
        assert child["Date_of_Birth"].date().isoformat() not in output


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["NOBODY,SOMEONE:MADE UP:01/02/2012:F:"], "line 2: 4 fields, the header has 17"),
        ([], "empty results file"),
    ],
)
def test_an_unusable_results_file_fails_naming_file_and_line_and_stays_on_the_server(
    bundle_dags, sent_reference, clean, lines, message, capfd, caplog
):
    if lines:
        put_answer(lines, counts="TOTAL RECORDS: 1\n")
    else:
        (to_dfps() / RESULTS).write_text("")
        (to_dfps() / COUNTS).write_text("TOTAL RECORDS: 0\n")
    run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **FAST)
    assert run.state == "failed"
    states = task_states(run)
    assert states["collect_answer"] == ["success"] and states["reconcile"] == ["failed"]
    assert states["remove_from_server"] == ["upstream_failed"]
    output = "".join(capfd.readouterr()) + caplog.text
    assert f"results_{PERIOD}_" in output and message in output
    assert sorted(p.name for p in to_dfps().iterdir()) == sorted([RESULTS, COUNTS])
    archived = list((paths.share_dir() / "dfps_dps" / "archive" / "from_dps").glob(f"*results_{PERIOD}_*"))
    assert archived, "the unusable file is kept in the archive for DPS to be asked about"


def test_without_a_counts_file_the_run_goes_on_after_the_grace_period_and_says_so(
    bundle_dags, sent_reference, clean, maildir
):
    row = next(iter(sent_reference.values()))
    put_answer([dps_line(row["Name"], row["Date_of_Birth"], WINDOW_START, "LOC")])
    seen = set(maildir.keys())
    run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **FAST)
    assert run.state == "success", task_states(run)
    found = xcom_value(run, DAG_ID, "wait_for_dps_answer")
    assert found["counts"] is None and "without it" in found["note"]
    summary = xcom_value(run, DAG_ID, "reconcile")
    assert summary["warnings"][0].startswith("no counts file arrived")
    mails = [m for m in new_mail(maildir, seen) if PERIOD in m["Subject"]]
    assert "no counts file arrived" in html_body(mails[0])


def test_a_late_answer_is_waited_for_with_one_late_notice(bundle_dags, sent_reference, clean, maildir, warehouse):
    row = next(iter(sent_reference.values()))
    seen = set(maildir.keys())

    def dps_answers_later():
        time.sleep(6)
        put_answer([dps_line(row["Name"], row["Date_of_Birth"], WINDOW_START, "LOC")], counts="TOTAL RECORDS: 1\n")

    late = threading.Thread(target=dps_answers_later)
    late.start()
    try:
        run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **{**FAST, "late_after_hours": 0})
    finally:
        late.join()
    assert run.state == "success", task_states(run)
    notices = [m for m in new_mail(maildir, seen) if "late" in m["Subject"]]
    assert len(notices) == 1 and PERIOD in notices[0]["Subject"]  # said once, though poked several times
    assert (
        warehouse.execute("SELECT count(*) FROM dfps.dps_late_notices WHERE run_id = %s", (run.run_id,)).fetchone()[0]
        == 1
    )


def test_an_answer_that_never_comes_fails_at_the_deadline_naming_what_is_missing(bundle_dags, sent_reference, clean):
    run = run_dag(bundle_dags[DAG_ID], period=PERIOD, **{**FAST, "wait_hours": 0})
    assert run.state == "failed"
    assert task_states(run)["wait_for_dps_answer"] == ["failed"]


def test_archived_copies_older_than_the_retention_are_purged(devstack_state):
    import os
    from datetime import UTC, datetime

    from etl_bundle.dfps.receive import purge_archive

    folder = paths.share_dir() / "dfps_dps" / "archive" / "from_dps"
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 12, 10, tzinfo=UTC)
    old, recent = folder / "dfps-missing-person-results_FY2024_Q1_old.txt", folder / "recent_FY2026_Q4.txt"
    for path, age in ((old, 400), (recent, 30)):
        path.write_text("x")
        stamp = (now - timedelta(days=age)).timestamp()
        os.utime(path, (stamp, stamp))
    purged = purge_archive("network_share", 365, now)
    assert purged["purged"] >= 1 and purged["cutoff"] == "2025-12-10"
    assert not old.exists() and recent.exists()
    recent.unlink()


def test_the_yearly_dag_reconciles_the_answer_to_the_yearly_send(bundle_dags, sent_reference, clean):
    """dfps_dps_send_yearly sends FY2025; DPS answers for the year (the seed's generator); the yearly
    receive reconciles the whole year and leaves the quarter's files alone."""
    sent = run_dag(bundle_dags["dfps_dps_send_yearly"], period="FY2025", force=True)
    assert sent.state == "success", task_states(sent)
    dfps_data.place_dps_answer("FY2025", size=400)  # the size the fixture seeded
    put_answer([], counts="TOTAL RECORDS: 0\n")  # the quarter's answer: not the yearly run's to take

    run = run_dag(bundle_dags["dfps_dps_receive_yearly"], period="FY2025", **FAST)
    assert run.state == "success", task_states(run)
    summary = xcom_value(run, "dfps_dps_receive_yearly", "reconcile")
    assert summary["period"] == "FY2025" and summary["events_rows"] > 0 and summary["rejected_rows"] == 0
    stamp = central_stamp(run.start_date)
    delivered = sorted((paths.share_dir() / "dfps_dps" / "to_cps").glob(f"*_FY2025_{stamp}.xlsx"))
    assert [p.name.split("_FY2025")[0] for p in delivered] == [
        "DPS_not_in_IMPACT",
        "DPS_total_runaway_events",
        "IMPACT_not_in_DPS",
    ]
    assert len(read_workbook(next(p for p in delivered if "events" in p.name))) == summary["events_rows"]
    assert sorted(p.name for p in to_dfps().iterdir()) == sorted([RESULTS, COUNTS])
