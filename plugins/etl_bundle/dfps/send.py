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

from etl_bundle.common.checksum import sha256_of, sha256_stream
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

log = logging.getLogger(__name__)

SHARE_FOLDER = "dfps_dps/to_dps"
PARTIAL_MODE = 0o600  # the .part file on the DPS server, from its creation
# The mode the original's plain put got on an OpenSSH server with the usual umask 022:
# DPS's own account reads the file. [dfps_dps] upload_mode sets another.
DEFAULT_UPLOAD_MODE = 0o644


def reference_name(period: FiscalPeriod) -> str:
    return f"ReferenceData_{period.label}_doublebarrel.xlsx"


def txt_name(period: FiscalPeriod) -> str:
    return f"Children_in_care_{period.label}.txt"


def read_children(oracle_conn_id: str, period: FiscalPeriod) -> list[Child]:
    """The period's rows of caps.qtr_dps_cvs, numbered in the query's order (problems name the row)."""
    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.source_db import dict_rows, source_cursor
    from etl_bundle.common.sql import render_sql

    binds = {"fiscal_year": period.fiscal_year, "quarter": period.quarter}
    reading = f"reading caps.qtr_dps_cvs for {period.label}"
    with values_kept_out(reading), source_cursor(oracle_conn_id) as (cursor, dialect):
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
                row=number,
            )
            for number, row in enumerate(dict_rows(cursor), start=1)
        ]


def _create_owner_only(sftp, path: str):
    """``path`` created new on the server with mode 0600 sent in the OPEN itself, so no other
    account can read it at any moment of the upload (a chmod afterwards leaves a window).

    paramiko's ``open`` sends no attributes, hence its request made here as ``open`` makes it.
    """
    from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE, SFTPError
    from paramiko.sftp_attr import SFTPAttributes
    from paramiko.sftp_file import SFTPFile

    attributes = SFTPAttributes()
    attributes.st_mode = PARTIAL_MODE
    kind, message = sftp._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL, attributes)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(sftp, message.get_binary(), "wb", -1)


def _put_owner_only(sftp, local: Path, partial: str) -> None:
    """``local`` written to ``partial``, a new owner-only file (a leftover of an earlier attempt removed first)."""
    try:
        sftp.remove(partial)
    except FileNotFoundError:
        pass
    with open(local, "rb") as source, _create_owner_only(sftp, partial) as target:
        target.set_pipelined(True)
        while chunk := source.read(32768):
            target.write(chunk)


def _server_refuses(err: OSError) -> bool:
    """An SFTP status the server answers for a request it does not offer (paramiko gives no errno)."""
    return err.errno is None and "unsupported" in str(err).lower()


def _rename_into_place(sftp, partial: str, remote: str) -> str:
    """``partial`` renamed to ``remote`` atomically (posix-rename@openssh.com replaces an earlier
    file in one step); on a server without it, a plain rename, which refuses an existing
    target (SFTP's own rule), so the earlier file is removed first, as said in the log."""
    try:
        sftp.posix_rename(partial, remote)
        return "posix-rename"
    except OSError as err:
        if not _server_refuses(err):
            raise
        log.warning("%s: the server does not offer posix-rename (%s): a plain rename", remote, err)
    try:
        sftp.stat(remote)
    except FileNotFoundError:
        pass
    else:
        log.warning("%s: removing the earlier file first: DPS sees no file for a moment", remote)
        sftp.remove(remote)
    sftp.rename(partial, remote)
    return "rename"


def _read_back(sftp, path: str, expected_sha: str) -> tuple[str, str]:
    """(sha256 read back, how it was verified); a server that refuses reads: size only."""
    try:
        with sftp.open(path, "rb") as uploaded:
            return sha256_stream(uploaded)[0], "size and sha256 read back"
    except PermissionError as err:
        log.info("%s: the server refuses reads (%s): verified by size only", path, err)
        return expected_sha, "size only (the server refuses reads)"


def _in_place(sftp, remote: str, expected_size: int, expected_sha: str) -> str | None:
    """How ``remote`` was found to be the file already (an earlier attempt's upload), or None."""
    try:
        size = sftp.stat(remote).st_size
    except FileNotFoundError:
        return None
    if size != expected_size:
        return None
    read_back_sha, verified_by = _read_back(sftp, remote, expected_sha)
    return verified_by if read_back_sha == expected_sha else None


def upload_verified(
    sftp_conn_id: str, local: Path, remote_dir: str, *, mode: int | None = None, resume: bool = False
) -> dict[str, Any]:
    """Upload under a temporary owner-only name, verify it, set its mode, rename it into place.

    Verified by reading it back (size and SHA-256), or by its size alone on a server
    that refuses reads (an upload-only drop box), as the log says. ``mode`` is set just
    before the rename (a server that refuses it is logged, not fatal: the file keeps
    what the server gave it). With ``resume`` (an earlier attempt of this exchange
    may have uploaded it), a remote file already verified as this one is not uploaded again.
    """
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    remote = f"{remote_dir.rstrip('/')}/{local.name}"
    partial = f"{remote}.part"
    expected_size, expected_sha = local.stat().st_size, sha256_of(local)
    result = {"remote_path": remote, "size_bytes": expected_size, "sha256": expected_sha}
    hook = SFTPHook(ssh_conn_id=sftp_conn_id)
    with hook.get_managed_conn() as sftp:
        found = _in_place(sftp, remote, expected_size, expected_sha) if resume else None
        if found:
            log.info("%s is on the DPS server already (%s): an earlier attempt uploaded it; not again", remote, found)
            return result | {"verified_by": found, "uploaded": False, "renamed_by": None}
        _put_owner_only(sftp, local, partial)
        read_back_sha, verified_by = _read_back(sftp, partial, expected_sha)
        size = sftp.stat(partial).st_size
        if size != expected_size or read_back_sha != expected_sha:
            sftp.remove(partial)
            raise RuntimeError(
                f"{remote} read back as {size} bytes sha256 {read_back_sha}, "
                f"expected {expected_size} bytes sha256 {expected_sha}; removed, to be sent again"
            )
        if mode is not None:
            try:
                sftp.chmod(partial, mode)
            except PermissionError as err:
                log.warning(
                    "%s: the server refuses to set mode %04o (%s); it keeps the server's default", remote, mode, err
                )
        renamed_by = _rename_into_place(sftp, partial, remote)
    log.info(
        "uploaded %s to DPS: %d bytes, sha256 %s (verified by %s, %s)",
        remote,
        expected_size,
        expected_sha,
        verified_by,
        renamed_by,
    )
    return result | {"verified_by": verified_by, "uploaded": True, "renamed_by": renamed_by}


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
) -> dict[str, Any]:
    """One period's exchange: files built, recorded as pending, uploaded, copied to the share,
    marked sent. A retry or rerun after any failure resumes the pending exchange: what is in
    place already (verified) is not uploaded or copied again."""
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
    children = read_children(oracle_conn_id, period)
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
