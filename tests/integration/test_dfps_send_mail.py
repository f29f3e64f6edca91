"""dfps_dps_send's success summary mail on the devstack: one message per run, no child's data."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import run_dag, task_states, xcom_value
from tests.integration.test_dfps_dps_send import DAG_ID, PERIOD, send_dag  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

SUBJECT = f"DPS Data Upload - {PERIOD} (Uploaded to Network Drive)"


def summary_mails(maildir) -> dict[str, object]:
    return {key: maildir[key] for key in maildir.keys() if maildir[key]["Subject"] == SUBJECT}


def html_body(mail) -> str:
    return next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()


def test_a_send_mails_its_summary_once_and_a_retry_or_rerun_adds_none(send_dag, warehouse, maildir):  # noqa: F811
    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps.operators import DpsSendSummaryMailOperator
    from etl_bundle.dfps.send import read_children

    warehouse.execute("TRUNCATE dfps.dps_send_summary_mails")
    before = set(summary_mails(maildir))

    run = run_dag(send_dag, period=PERIOD)
    assert run.state == "success", task_states(run)
    assert task_states(run)["mail_send_summary"] == ["success"]
    new = {k: m for k, m in summary_mails(maildir).items() if k not in before}
    assert len(new) == 1
    (mail,) = new.values()
    assert not [p for p in mail.walk() if p.get_filename() or p.get_content_disposition() == "attachment"]
    body = html_body(mail)
    summary = xcom_value(run, DAG_ID, "send_to_dps")
    assert summary["sha256"] in body and summary["reference_sha256"] in body
    assert f"{summary['children_sent']} children sent" in body and f"{summary['txt_lines']} lines" in body
    # No child's name or person id (word-bounded: a checksum's hex digits are not an id).
    children = read_children("dfps_oracle", FiscalPeriod.parse(PERIOD))
    assert children
    for child in children:
        assert not re.search(rf"\b{child.person_id}\b", body), "a person id in the mail"
        for name in (child.first, child.middle, child.last):
            if name and len(name.strip()) > 2:
                assert not re.search(rf"\b{re.escape(name.strip())}\b", body, re.IGNORECASE), "a name in the mail"
    assert xcom_value(run, DAG_ID, "mail_send_summary") == {"period": PERIOD, "mailed_now": True}
    rows = warehouse.execute(
        "SELECT run_id, status FROM dfps.dps_send_summary_mails WHERE period = %s", (PERIOD,)
    ).fetchall()
    assert rows == [(run.run_id, "sent")]

    # The task again in the same run (a retry, a cleared task): recorded, so nothing is sent.
    task = DpsSendSummaryMailOperator(
        task_id="mail_again", summary=summary, warehouse_conn_id="warehouse_postgres", share_conn_id="network_share"
    )
    assert task.execute({"run_id": run.run_id}) == {"period": PERIOD, "mailed_now": False}

    # A rerun of the DAG: the period was sent, so the send and its mail are skipped.
    again = run_dag(send_dag, period=PERIOD)
    assert task_states(again)["send_to_dps"] == ["skipped"]
    assert task_states(again)["mail_send_summary"] == ["skipped"]
    assert len({k for k in summary_mails(maildir) if k not in before}) == 1
