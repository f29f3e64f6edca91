"""dfps_dps_send's work: children in care for a period → reference xlsx + fixed-width txt →
SFTP to DPS (verified by reading it back) → the network share → the audit table.

Files carry children's names and birth dates: they are written owner-only, and no
name or birth date goes to a log line or XCom; the summary holds counts, names of
files and checksums only.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from etl_bundle.common.checksum import sha256_of
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.common.private_files import open_private
from etl_bundle.dfps.audit import ExchangeFile
from etl_bundle.dfps.children import (
    PROBLEMS_KEPT,
    REFERENCE_COLUMNS,
    Child,
    as_date,
    fixed_width_lines,
    prepare,
    validate_lines,
)
from etl_bundle.dfps.periods import reference_name, txt_name

log = logging.getLogger(__name__)

SHARE_FOLDER = "dfps_dps/to_dps"
# The mode the original's plain put got on an OpenSSH server with the usual umask 022:
# DPS's own account reads the file. [dfps_dps] upload_mode sets another.
DEFAULT_UPLOAD_MODE = 0o644


def read_children(oracle_conn_id: str, period: FiscalPeriod, sql: str | None = None) -> list[Child]:
    """The period's rows of caps.qtr_dps_cvs, numbered in the query's order (problems name the row).

    ``sql``: the query as Airflow rendered it (the operator's templated field); without it
    (a call outside a task) ``dfps/children_in_care.sql`` is rendered here in the connection's dialect."""
    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.source_db import dict_rows, source_cursor
    from etl_bundle.common.sql import render_sql

    binds = {"fiscal_year": period.fiscal_year, "quarter": period.quarter}
    reading = f"reading caps.qtr_dps_cvs for {period.label}"
    with values_kept_out(reading), source_cursor(oracle_conn_id) as (cursor, dialect):
        cursor.execute(sql or render_sql("dfps/children_in_care.sql", dialect=dialect), binds)
        return [
            Child(
                person_id=int(row["ID_PP_PERSON"]),
                first=row["NM_PERSON_FIRST"],
                middle=row["NM_PERSON_MIDDLE"],
                last=row["NM_PERSON_LAST"],
                birth=as_date(row["DT_CHILD_BIRTH"]),
                entered=as_date(row["DT_ENTER_CARE"]),
                exited=as_date(row["DT_EXIT_CARE"]),
                gender=row["GENDER"],
                row=number,
            )
            for number, row in enumerate(dict_rows(cursor), start=1)
        ]


def upload_verified(
    sftp_conn_id: str, local: Path, remote_dir: str, *, mode: int | None = None, resume: bool = False
) -> dict[str, Any]:
    """The generic verified upload (:func:`etl_bundle.operators.sftp.upload_verified`), to DPS."""
    from etl_bundle.operators.sftp import upload_verified as upload

    return upload(sftp_conn_id, local, remote_dir, mode=mode, resume=resume, server_name="the DPS server")


def configured_upload_mode() -> int:
    """``[dfps_dps] upload_mode`` (octal, e.g. ``0640``), else 0644."""
    from airflow.sdk import conf

    text = conf.get("dfps_dps", "upload_mode", fallback="").strip()
    if not text:
        return DEFAULT_UPLOAD_MODE
    try:
        return int(text, 8)
    except ValueError:
        raise ValueError(f"[dfps_dps] upload_mode must be an octal mode such as 0640, not {text!r}") from None


def share_copy_path(file_name: str, stamp: str) -> str:
    """Where a file's copy for the stakeholders goes on the share: ``{stem}_{stamp}{ext}`` as the
    original, the period already in the stem."""
    from etl_bundle.common.share import share_path, stamped_name

    return share_path(SHARE_FOLDER, stamped_name(file_name, stamp))


def deliver_to_share(copies: dict[Path, str], share_conn_id: str) -> list[dict[str, Any]]:
    """Each local file to its path on the share (the share's default access), unless the copy is
    there already with the same bytes (an earlier attempt wrote it): then it is not written again."""
    from etl_bundle.common.share import open_share

    delivered = []
    with open_share(share_conn_id) as share:
        for local, path in copies.items():
            folder, name = path.rsplit("/", 1)
            existing = {entry.name: entry for entry in share.list(folder)}.get(name)
            if (
                existing
                and existing.size == local.stat().st_size
                and hashlib.sha256(share.read_bytes(path)).hexdigest() == sha256_of(local)
            ):
                log.info("%s is on the share already (an earlier attempt wrote it, same bytes): not again", path)
                delivered.append({"path": path, "written": False})
            else:
                delivered.append({"path": share.put(local, folder, name), "written": True})
    return delivered


def _exchange_files(
    period: FiscalPeriod, files: list[tuple[Path, int]], stamp: str, pending: dict[str, ExchangeFile]
) -> tuple[list[ExchangeFile], bool]:
    """The exchange's files as the audit records them, and whether it resumes an earlier attempt:
    when the files are those an attempt recorded as pending (same checksums), their share copies
    keep the names that attempt gave them; other content is a new exchange."""
    exchange = [
        ExchangeFile(local.name, sha256_of(local), local.stat().st_size, rows, share_copy_path(local.name, stamp))
        for local, rows in files
    ]
    earlier = [pending.get(file.file_name) for file in exchange]
    if all(e is not None and e.sha256 == f.sha256 and e.share_path for e, f in zip(earlier, exchange, strict=True)):
        return [replace(file, share_path=e.share_path) for file, e in zip(exchange, earlier, strict=True)], True
    if pending:
        log.warning(
            "%s: an earlier attempt left a pending exchange of other content (%s): replaced by this one",
            period.label,
            ", ".join(sorted(pending)),
        )
    return exchange, False


def send_period(
    period_label: str,
    *,
    oracle_conn_id: str,
    sftp_conn_id: str,
    warehouse_conn_id: str,
    share_conn_id: str,
    remote_dir: str,
    run_id: str,
    stamp: str,
    force: bool,
    children_sql: str | None = None,
) -> dict[str, Any]:
    """One period's exchange: files built, recorded as pending, uploaded, copied to the share,
    marked sent. A retry or rerun after any failure resumes the pending exchange: what is in
    place already (verified) is not uploaded or copied again. ``children_sql``: the extract
    as Airflow rendered it (see :func:`read_children`)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from etl_bundle.common.xlsx import write_workbook
    from etl_bundle.dfps.audit import already_sent, complete_exchanges, pending_exchanges, record_pending
    from etl_bundle.dfps.switchover import sent_by_original

    period = FiscalPeriod.parse(period_label)
    previous = already_sent(warehouse_conn_id, period)
    if previous and not force:
        raise AirflowSkipException(
            f"{period.label} was already sent to DPS ({previous['file_name']} on {previous['sent_at']}, "
            f"run {previous['run_id']}); set force to send it again"
        )
    by_original = None if previous else sent_by_original(period, share_conn_id)
    if by_original and not force:
        raise AirflowSkipException(
            f"{period.label} was already sent to DPS by the original scripts ({by_original}); "
            "set force to send it again"
        )
    children = read_children(oracle_conn_id, period, children_sql)
    prepared = prepare(children)
    for problem in prepared.problems:
        log.warning("%s: caps.qtr_dps_cvs %s", period.label, problem)
    if not prepared.rows:
        raise ValueError(f"no children in care for {period.label}: nothing to send (dropped {prepared.dropped})")
    with tempfile.TemporaryDirectory(prefix="dfps-send-") as tmp:
        folder = Path(tmp)  # mkdtemp: owner-only
        workbook = folder / reference_name(period)
        write_workbook(workbook, REFERENCE_COLUMNS, prepared.rows)
        lines = fixed_width_lines(prepared.rows)
        text = folder / txt_name(period)
        validate_lines(lines, text.name)
        with open_private(text, "w", encoding="ascii") as out:
            out.writelines(f"{line}\n" for line in lines)
        exchange, resumed = _exchange_files(
            period,
            [(text, len(lines)), (workbook, len(prepared.rows))],
            stamp,
            pending_exchanges(warehouse_conn_id, period),
        )
        if resumed:
            log.info("%s: resuming the exchange an earlier attempt recorded as pending (same checksums)", period.label)
        # Recorded before any side effect: a kill from here on leaves a pending exchange to resume.
        record_pending(warehouse_conn_id, period, run_id, exchange)
        uploaded = upload_verified(sftp_conn_id, text, remote_dir, mode=configured_upload_mode(), resume=resumed)
        delivered = deliver_to_share({text: exchange[0].share_path, workbook: exchange[1].share_path}, share_conn_id)
    completed = complete_exchanges(warehouse_conn_id, period, run_id, [file.file_name for file in exchange])
    if completed != len(exchange):
        raise RuntimeError(
            f"{period.label}: {completed} of {len(exchange)} pending exchange rows marked sent;"
            " another run completed or replaced them meanwhile"
        )
    summary = {
        "period": period.label,
        "children": len(children),
        "children_sent": prepared.persons,
        "children_records_sent": prepared.records,
        "dropped": prepared.dropped,
        "merged_care_records": prepared.merged,
        "problems": len(prepared.problems),
        "problems_listed": prepared.problems[:PROBLEMS_KEPT],
        "reference_rows": len(prepared.rows),
        "txt_lines": len(lines),
        "uploaded": uploaded["remote_path"],
        "uploaded_now": uploaded["uploaded"],
        "sha256": uploaded["sha256"],
        "reference_sha256": exchange[1].sha256,
        "share_files": [copy["path"] for copy in delivered],
        "share_files_written_now": sum(copy["written"] for copy in delivered),
        "verified_by": uploaded["verified_by"],
        "resumed": resumed,
        "forced": bool(previous or by_original),
    }
    log.info("%s sent: %s", period.label, summary)
    return summary


# --- the success summary mail ----------------------------------------------------------------

# The original's success mail (reference §2.4), to its success_email: the receive's stakeholders.
SUMMARY_SUBJECT = "DPS Data Upload - {period} (Uploaded to Network Drive)"
SUMMARY_MAIL_KIND = "send_summary_mail"  # dfps.dps_send_summary_mails, dfps/send_summary_mail_*.sql


def summary_mail_html(summary: dict[str, Any], folder: str) -> str:
    """The success mail's body: the period, the counts, the checksums and where the copies are
    (``folder`` as people reach it: a UNC path on SMB). No name, birth date or person id: the
    problems listed in the summary name person ids, so they are counted, not listed."""
    from html import escape

    files = "".join(f"<li>{escape(Path(path).name)}</li>" for path in summary["share_files"])
    dropped = summary["dropped"]
    reasons = ", ".join(f"{escape(reason)}: {count}" for reason, count in dropped.items() if count)
    return "\n".join(
        [
            f"<p>The children in care for <b>{escape(summary['period'])}</b> were uploaded to DPS "
            f"(<code>{escape(summary['uploaded'])}</code>) and copied to the network drive, in "
            f"<code>{escape(folder)}</code>:</p>",
            f"<ul>{files}</ul>",
            "<ul>",
            f"<li>{summary['children_sent']} children sent ({summary['children_records_sent']} care records, "
            f"{summary['txt_lines']} lines in the txt, {summary['reference_rows']} reference rows)</li>",
            f"<li>{summary['children']} rows read; {sum(dropped.values())} dropped by the name and date rules"
            f"{f' ({reasons})' if reasons else ''}; {summary['merged_care_records']} care records merged; "
            f"{summary['problems']} problems (told in the task's log)</li>",
            f"<li>txt sha256 <code>{escape(summary['sha256'])}</code> "
            f"(verified by {escape(summary['verified_by'])})</li>",
            f"<li>reference workbook sha256 <code>{escape(summary['reference_sha256'])}</code></li>",
            "</ul>",
        ]
    )


def mail_summary(summary: dict[str, Any], *, warehouse_conn_id: str, share_conn_id: str, run_id: str) -> bool:
    """The success summary to the stakeholders, once per run: recorded in ``dfps.dps_send_summary_mails``
    before and after the SMTP exchange (the receive's :func:`send_recorded`), so a retry, a rerun of
    the task or a kill after the exchange does not mail again. Whether it was sent now."""
    from etl_bundle.common.mail import recipients
    from etl_bundle.common.share import open_share
    from etl_bundle.dfps.receive import DEFAULT_STAKEHOLDERS, STAKEHOLDERS_VARIABLE, send_recorded

    to = recipients(STAKEHOLDERS_VARIABLE, DEFAULT_STAKEHOLDERS)
    with open_share(share_conn_id) as share:
        folder = share.location(SHARE_FOLDER)
    sent = send_recorded(
        warehouse_conn_id,
        SUMMARY_MAIL_KIND,
        summary["period"],
        run_id,
        to,
        SUMMARY_SUBJECT.format(period=summary["period"]),
        summary_mail_html(summary, folder),
        per_run=True,
    )
    if sent:
        log.info("%s: success summary mailed (%d recipients)", summary["period"], len(to))
    return sent
