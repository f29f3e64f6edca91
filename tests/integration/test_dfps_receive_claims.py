"""Which period DPS's answer is taken for, on the devstack's SFTP server and warehouse: an unsuffixed
answer belongs to the period sent last before it, the claim is recorded before reconciling (by content),
a file claimed for one period is never taken for another, the two receive DAGs share one lock; a file
is taken only once old enough and not while its counts disagree; the stakeholders' mail goes once;
a database error is told without the row's values."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack import paths
from etl_bundle.common.fiscal import FiscalPeriod
from tests.integration.conftest import migrate_warehouse

pytestmark = pytest.mark.integration

Q4, FY = FiscalPeriod.parse("FY2019_Q4"), FiscalPeriod.parse("FY2019")
# Sends long before any the devstack makes, so no real send falls between them and the files.
Q4_SENT, FY_SENT = datetime(2019, 9, 10, tzinfo=UTC), datetime(2019, 9, 20, tzinfo=UTC)
BETWEEN, AFTER_BOTH = datetime(2019, 9, 15, tzinfo=UTC), datetime(2019, 9, 25, tzinfo=UTC)
RESULTS, COUNTS = "dfps-missing-person-results.txt", "dfps-missing-person-counts.txt"
HEADER = "CPS NAME:CPS DOB:LAST CONT:STS"
TEST_RUN = "test_dfps_receive_claims"


def lines(n: int) -> str:
    return HEADER + "\n" + "".join(f"ROW,N{i}:01/02/2012:08/04/2019:LOC:\n" for i in range(n))


@pytest.fixture
def answers(warehouse, devstack_state):
    """An empty TO_DFPS folder, FY2019_Q4 and FY2019 sent (audit rows), no claims of this test's runs."""
    from etl_bundle.dfps.periods import txt_name

    folder = paths.sftp_root() / "to_dfps"
    for old in folder.iterdir():
        old.unlink()
    migrate_warehouse("dfps")
    warehouse.execute("DELETE FROM dfps.dps_answer_claims")
    for period, sent_at in ((Q4, Q4_SENT), (FY, FY_SENT)):
        warehouse.execute(
            "INSERT INTO dfps.dps_exchanges (period, direction, file_name, sha256, size_bytes, row_count, sent_at,"
            " run_id) VALUES (%s, 'to_dps', %s, 'x', 1, 1, %s, %s)",
            (period.label, txt_name(period), sent_at, TEST_RUN),
        )
    yield folder
    warehouse.execute(
        "DELETE FROM dfps.dps_exchanges WHERE run_id = %s OR period IN ('FY2019_Q4', 'FY2019')", (TEST_RUN,)
    )
    warehouse.execute("DELETE FROM dfps.dps_answer_claims")
    for old in folder.iterdir():
        old.unlink()


def place(folder, name: str, text: str, written: datetime):
    path = folder / name
    path.write_text(text)
    os.utime(path, (written.timestamp(), written.timestamp()))
    return path


def check(period, **options):
    from etl_bundle.dfps.receive import check_answer

    settings = {"settle_seconds": 0.2, "counts_grace": timedelta(0), "now": datetime.now(UTC)} | options
    return check_answer("dps_sftp", "to_dfps", period, warehouse_conn_id="warehouse_postgres", **settings)


def collect(period, found, run_id):
    from etl_bundle.dfps.receive import collect_answer

    return collect_answer(
        period.label,
        found,
        sftp_conn_id="dps_sftp",
        warehouse_conn_id="warehouse_postgres",
        share_conn_id="network_share",
        remote_dir="to_dfps",
        run_id=run_id,
        stamp="20190926_060000",
    )


def as_found(readiness):
    return {"results": readiness.results.as_dict(), "counts": readiness.counts.as_dict() if readiness.counts else None}


def test_an_unsuffixed_answer_goes_to_the_period_sent_last_before_it(answers):
    place(answers, RESULTS, lines(2), BETWEEN)
    place(answers, COUNTS, "TOTAL RECORDS: 2\n", BETWEEN)
    quarter, year = check(Q4), check(FY)
    assert quarter.ready and quarter.results.name == RESULTS
    assert not year.ready and f"{RESULTS} answers FY2019_Q4 (the last send before it)" in year.reason

    for name in (RESULTS, COUNTS):  # DPS's answer to the yearly send, written after it
        os.utime(answers / name, (AFTER_BOTH.timestamp(), AFTER_BOTH.timestamp()))
    quarter, year = check(Q4), check(FY)
    assert year.ready and not quarter.ready and f"{RESULTS} answers FY2019 " in quarter.reason


def test_the_claim_is_recorded_and_a_file_left_by_a_failed_run_never_serves_another_period(answers, warehouse):
    from airflow.sdk.exceptions import AirflowFailException

    place(answers, RESULTS, lines(3), BETWEEN)
    place(answers, COUNTS, "TOTAL RECORDS: 3\n", BETWEEN)
    found = check(Q4)
    collected = collect(Q4, as_found(found), "run_q4")
    claims = warehouse.execute("SELECT period, run_id, file_name, sha256 FROM dfps.dps_answer_claims").fetchall()
    assert claims == [("FY2019_Q4", "run_q4", RESULTS, collected["results"]["sha256"])]

    def audited(run_id):
        return warehouse.execute(
            "SELECT file_name, row_count FROM dfps.dps_exchanges WHERE direction = 'from_dps' AND run_id = %s"
            " ORDER BY file_name",
            (run_id,),
        ).fetchall()

    assert audited("run_q4") == [(COUNTS, 1), (RESULTS, 3)]
    collect(Q4, as_found(found), "run_q4")  # the task's retry (killed after the commit)
    assert audited("run_q4") == [(COUNTS, 1), (RESULTS, 3)]

    # The Q4 run failed after collecting: its file stays on the server; the yearly run passes it by.
    year = check(FY)
    assert not year.ready and f"{RESULTS} was taken for FY2019_Q4" in year.reason
    # Even when the file is touched after the yearly send (so its time points at FY2019), its
    # content is Q4's claim: the yearly run stops rather than reconcile Q4's answer.
    for name in (RESULTS, COUNTS):
        os.utime(answers / name, (AFTER_BOTH.timestamp(), AFTER_BOTH.timestamp()))
    touched = check(FY)
    assert touched.ready
    with pytest.raises(AirflowFailException, match=f"{RESULTS}.*has the content of FY2019_Q4's answer.*run_q4"):
        collect(FY, as_found(touched), "run_fy")
    assert warehouse.execute("SELECT count(*) FROM dfps.dps_answer_claims").fetchone()[0] == 1
    assert sorted(p.name for p in answers.iterdir()) == [COUNTS, RESULTS]  # nothing removed

    # Q4's rerun takes its own claimed file again.
    again = collect(Q4, as_found(touched), "run_q4_rerun")
    assert again["results"]["sha256"] == collected["results"]["sha256"]


def test_the_quarterly_and_yearly_dags_collect_under_one_lock(answers, warehouse, bundle_dags):
    from etl_bundle.dfps.receive import ANSWER_LOCK

    quarterly = bundle_dags["dfps_dps_receive"].get_task("collect_answer")
    yearly = bundle_dags["dfps_dps_receive_yearly"].get_task("collect_answer")
    # One collect, one lock key.
    assert type(quarterly) is type(yearly) and type(quarterly).__name__ == "DpsAnswerCollectOperator"

    place(answers, RESULTS, lines(1), BETWEEN)
    found = as_found(check(Q4))
    key = warehouse.execute("SELECT hashtextextended(%s, 0)", (ANSWER_LOCK,)).fetchone()[0]
    warehouse.execute("SELECT pg_advisory_lock(%s)", (key,))  # the other DAG's collect, holding the lock
    outcome: dict = {}
    collector = threading.Thread(target=lambda: outcome.update(collected=collect(Q4, found, "run_locked")))
    collector.start()
    try:
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and not warehouse.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]
        ):
            time.sleep(0.1)
        waiting = warehouse.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        assert waiting.fetchone()[0] == 1, "the collect did not wait for the lock"
        assert warehouse.execute("SELECT count(*) FROM dfps.dps_answer_claims").fetchone()[0] == 0
    finally:
        warehouse.execute("SELECT pg_advisory_unlock(%s)", (key,))
        collector.join()
    assert outcome["collected"]["results"]["remote"]["name"] == RESULTS
    assert warehouse.execute("SELECT run_id FROM dfps.dps_answer_claims").fetchall() == [("run_locked",)]


def test_a_young_file_and_a_file_short_of_its_counts_are_held(answers):
    now = datetime.now(UTC)
    place(answers, "dfps-missing-person-results_FY2019_Q4.txt", lines(5), now - timedelta(minutes=2))
    place(answers, "dfps-missing-person-counts_FY2019_Q4.txt", "TOTAL RECORDS: 8\n", now - timedelta(minutes=2))
    young = check(Q4, min_age=timedelta(minutes=10))
    assert not young.ready and "was last changed" in young.reason and "taken once 0:10:00 old" in young.reason

    short = check(Q4, min_age=timedelta(minutes=1))
    assert not short.ready
    assert short.reason == (
        "the counts file says TOTAL RECORDS = 8 but dfps-missing-person-results_FY2019_Q4.txt has 5 rows "
        "(more than 0 apart: truncated or still coming?)"
    )
    assert check(Q4, min_age=timedelta(minutes=1), counts_tolerance=3).ready
    with open(answers / "dfps-missing-person-results_FY2019_Q4.txt", "a") as out:  # the rest arrives
        out.write("".join(f"ROW,M{i}:01/02/2012:08/04/2019:LOC:\n" for i in range(3)))
    for name in ("results", "counts"):
        stamp = (now - timedelta(minutes=2)).timestamp()
        os.utime(answers / f"dfps-missing-person-{name}_FY2019_Q4.txt", (stamp, stamp))
    assert check(Q4, min_age=timedelta(minutes=1)).ready


SUMMARY = {
    "period": "FY2019_Q4",
    "window": ["2018-09-01", "2019-08-31"],
    "share_folder": "dfps_dps/to_cps",
    "share_files": [],
    "events_rows": 0,
    "not_in_impact_rows": 0,
    "impact_not_in_dps_rows": 0,
    "results_rows": 0,
    "rejected_rows": 0,
    "unmatched": 0,
    "warnings": [],
}


@pytest.fixture
def mails(warehouse, maildir):
    migrate_warehouse("dfps")
    warehouse.execute("DELETE FROM dfps.dps_stakeholder_mails WHERE period = 'FY2019_Q4'")
    yield lambda: [key for key in maildir.keys() if "FY2019_Q4" in (maildir[key]["Subject"] or "")]
    warehouse.execute("DELETE FROM dfps.dps_stakeholder_mails WHERE period = 'FY2019_Q4'")


def notify(run_id, **options):
    from etl_bundle.dfps.receive import notify_stakeholders

    return notify_stakeholders(
        SUMMARY, warehouse_conn_id="warehouse_postgres", share_conn_id="network_share", run_id=run_id, **options
    )


def test_a_refused_smtp_exchange_leaves_no_record_and_the_retry_sends_once(mails, warehouse, monkeypatch):
    import json

    from devstack import net

    before = mails()
    smtp = os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(json.loads(smtp) | {"port": net.free_port()}))
    with pytest.raises(OSError):
        notify("run_a")
    assert (
        warehouse.execute("SELECT count(*) FROM dfps.dps_stakeholder_mails WHERE period = 'FY2019_Q4'").fetchone()[0]
        == 0
    )
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp)
    assert notify("run_a") is True  # the task's retry
    assert notify("run_a") is False and notify("run_b") is False  # a retry, another run of the period
    assert len(mails()) == len(before) + 1
    rows = warehouse.execute(
        "SELECT run_id, status, sent_at IS NOT NULL, recipients_sha256 <> '' FROM dfps.dps_stakeholder_mails"
        " WHERE period = 'FY2019_Q4'"
    ).fetchall()
    assert rows == [("run_a", "sent", True, True)]


def test_a_send_of_unknown_outcome_is_not_repeated_unless_forced(mails, warehouse, caplog):
    before = mails()
    warehouse.execute(
        "INSERT INTO dfps.dps_stakeholder_mails (period, run_id, recipients_sha256, status)"
        " VALUES ('FY2019_Q4', 'run_killed', 'x', 'pending')"
    )
    assert notify("run_killed") is False and notify("run_later") is False
    assert "maybe sent: run run_killed started sending at" in caplog.text and "force_notice" in caplog.text
    assert len(mails()) == len(before)
    assert notify("run_forced", force=True) is True
    assert notify("run_forced", force=True) is False  # the forced run's own retry
    assert len(mails()) == len(before) + 1
    rows = warehouse.execute(
        "SELECT run_id, status, forced FROM dfps.dps_stakeholder_mails WHERE period = 'FY2019_Q4' ORDER BY run_id"
    ).fetchall()
    assert rows == [("run_forced", "sent", True), ("run_killed", "pending", False)]


def test_a_row_impact_refuses_fails_the_load_once_told_without_its_values(devstack_state, warehouse):
    """DPS writes ``FEMALE`` where IMPACT's column holds two characters: the load stops without a retry
    (a data rule: the same row fails again) and the error names the table, SQLSTATE and type, never the
    row; nothing is loaded or recorded."""
    import uuid

    from airflow.sdk.exceptions import AirflowFailException

    from devstack import dfps_data
    from etl_bundle.dfps.receive import load_results

    cells = ["ROE,JANE", "JANE ROE", "01/02/2012", "FEMALE", "W", "N", "", "08/04/2019", "10", "TX2270100"]
    cells += ["AUSTIN PD", "TRAVIS", "512-555-0100", "M000000001", "LOC", "", ""]
    folder = paths.share_dir() / "dfps_dps" / "archive" / "from_dps"
    folder.mkdir(parents=True, exist_ok=True)
    archived = folder / "dfps-missing-person-results_FY2019_Q4_20190926_070000.txt"
    archived.write_text(f"{dfps_data.RESULTS_HEADER}\n{':'.join(cells)}:\n")
    sha256 = f"test-{uuid.uuid4().hex}"
    collected = {"results": {"archived": f"dfps_dps/archive/from_dps/{archived.name}", "sha256": sha256}}
    try:
        with pytest.raises(AirflowFailException) as failed:
            load_results(
                "FY2019_Q4",
                collected,
                oracle_conn_id="dfps_oracle",
                warehouse_conn_id="warehouse_postgres",
                share_conn_id="network_share",
                run_id=TEST_RUN,
            )
    finally:
        archived.unlink()
    message = str(failed.value)
    assert message.startswith("loading DPS's results for FY2019_Q4 into caps.dfps_msng_person_stg: ")
    assert "SQLSTATE 22001" in message and "character varying(2)" in message
    assert not any(value in message for value in ("ROE", "JANE", "FEMALE", "01/02/2012", "2012-01-02"))
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    recorded = warehouse.execute("SELECT count(*) FROM dfps.dps_results_loads WHERE sha256 = %s", (sha256,))
    assert recorded.fetchone()[0] == 0
