"""dfps_dps_send's work: children in care for a period → reference xlsx + fixed-width txt →
SFTP to DPS (verified by reading it back) → the network share → the audit table.

Files carry children's names and birth dates: they are written owner-only, and no
name or birth date goes to a log line or XCom; the summary holds counts, names of
files and checksums only.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from etl_bundle.common.checksum import sha256_of, sha256_stream
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.common.private_files import open_private
from etl_bundle.dfps.children import REFERENCE_COLUMNS, Child, as_date, fixed_width_lines, prepare, validate_lines

log = logging.getLogger(__name__)

SHARE_FOLDER = "dfps_dps/to_dps"


def reference_name(period: FiscalPeriod) -> str:
    return f"ReferenceData_{period.label}_doublebarrel.xlsx"


def txt_name(period: FiscalPeriod) -> str:
    return f"Children_in_care_{period.label}.txt"


def read_children(oracle_conn_id: str, period: FiscalPeriod) -> list[Child]:
    from etl_bundle.common.source_db import dict_rows, source_cursor
    from etl_bundle.common.sql import render_sql

    binds = {"fiscal_year": period.fiscal_year, "quarter": period.quarter}
    with source_cursor(oracle_conn_id) as (cursor, dialect):
        cursor.execute(render_sql("dfps/children_in_care.sql", dialect=dialect), binds)
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
            )
            for row in dict_rows(cursor)
        ]


def upload_verified(sftp_conn_id: str, local: Path, remote_dir: str, *, mode: int | None = None) -> dict[str, Any]:
    """Upload under a temporary name, verify it, then rename it into place.

    Verified by reading it back (size and SHA-256), or by its size alone on a server
    that refuses reads (an upload-only drop box), as the log says. The file keeps the
    server's default mode (DPS's own account must read it, as when the original just
    put it) unless ``mode`` is given; a server that refuses to set it is logged, not fatal.
    """
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    remote = f"{remote_dir.rstrip('/')}/{local.name}"
    partial = f"{remote}.part"
    expected_size, expected_sha = local.stat().st_size, sha256_of(local)
    hook = SFTPHook(ssh_conn_id=sftp_conn_id)
    with hook.get_managed_conn() as sftp:
        sftp.put(str(local), partial, confirm=True)
        if mode is not None:
            try:
                sftp.chmod(partial, mode)
            except PermissionError as err:
                log.warning(
                    "%s: the server refuses to set mode %04o (%s); it keeps the server's default", remote, mode, err
                )
        try:
            with sftp.open(partial, "rb") as uploaded:
                read_back_sha = sha256_stream(uploaded)[0]
            verified_by = "size and sha256 read back"
        except PermissionError as err:
            read_back_sha, verified_by = expected_sha, "size only (the server refuses reads)"
            log.info("%s: the server refuses reads (%s): verified by size only", remote, err)
        size = sftp.stat(partial).st_size
        if size != expected_size or read_back_sha != expected_sha:
            sftp.remove(partial)
            raise RuntimeError(
                f"{remote} read back as {size} bytes sha256 {read_back_sha}, "
                f"expected {expected_size} bytes sha256 {expected_sha}; removed, to be sent again"
            )
        if remote in {f"{remote_dir.rstrip('/')}/{name}" for name in sftp.listdir(remote_dir)}:
            sftp.remove(remote)  # a forced resend replaces the earlier file
        sftp.rename(partial, remote)
    log.info(
        "uploaded %s to DPS: %d bytes, sha256 %s (verified by %s)", remote, expected_size, expected_sha, verified_by
    )
    return {"remote_path": remote, "size_bytes": expected_size, "sha256": expected_sha, "verified_by": verified_by}


def configured_upload_mode() -> int | None:
    """``[dfps_dps] upload_mode`` (octal, e.g. ``0640``), or None: the server's default."""
    from airflow.sdk import conf

    text = conf.get("dfps_dps", "upload_mode", fallback="").strip()
    if not text:
        return None
    try:
        return int(text, 8)
    except ValueError:
        raise ValueError(f"[dfps_dps] upload_mode must be an octal mode such as 0640, not {text!r}") from None


def deliver_to_share(files: list[Path], share_conn_id: str, stamp: str) -> list[str]:
    """The files on the share for the stakeholders (the share's default access), each named
    ``{stem}_{stamp}{ext}`` as the original, the period already in the stem."""
    from etl_bundle.common.share import open_share, stamped_name

    with open_share(share_conn_id) as share:
        return [share.put(file, SHARE_FOLDER, stamped_name(file.name, stamp)) for file in files]


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
) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowSkipException

    from etl_bundle.common.xlsx import write_workbook
    from etl_bundle.dfps.audit import already_sent, record_exchanges
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
    children = read_children(oracle_conn_id, period)
    prepared = prepare(children)
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
        uploaded = upload_verified(sftp_conn_id, text, remote_dir, mode=configured_upload_mode())
        delivered = deliver_to_share([workbook, text], share_conn_id, stamp)
        exchanges = [
            (text.name, uploaded["sha256"], uploaded["size_bytes"], len(lines)),
            (workbook.name, sha256_of(workbook), workbook.stat().st_size, len(prepared.rows)),
        ]
    record_exchanges(warehouse_conn_id, period, "to_dps", run_id, exchanges)
    summary = {
        "period": period.label,
        "children": len(children),
        "dropped": prepared.dropped,
        "reference_rows": len(prepared.rows),
        "txt_lines": len(lines),
        "uploaded": uploaded["remote_path"],
        "sha256": uploaded["sha256"],
        "share_files": delivered,
        "verified_by": uploaded["verified_by"],
        "forced": bool(previous or by_original),
    }
    log.info("%s sent: %s", period.label, summary)
    return summary
