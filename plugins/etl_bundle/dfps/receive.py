"""dfps_dps_receive's work: DPS's answer on SFTP → verified copies in the archive →
reconciliation against the reference send wrote and IMPACT's lookups → three workbooks on
the share and an email → the answer removed from the server → old archives purged.

Every file here carries children's names and birth dates: written owner-only, never
logged or put in XCom. Summaries hold counts, file names, checksums and line numbers.
Nothing is removed from the server until the period's workbooks are delivered.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_bundle.common.checksum import sha256_stream
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.common.mail import send_mail
from etl_bundle.common.private_files import open_private
from etl_bundle.dfps.answer_files import (
    Readiness,
    RemoteFile,
    Send,
    answers_for,
    pick_answers,
    readiness,
    stable,
)

log = logging.getLogger(__name__)

OUTPUT_FOLDER = "dfps_dps/to_cps"
ARCHIVE_FOLDER = "dfps_dps/archive"
ANSWER_ARCHIVE = f"{ARCHIVE_FOLDER}/from_dps"
REFERENCE_FOLDER = "dfps_dps/to_dps"
STAKEHOLDERS_VARIABLE = "dfps_dps_stakeholders"
DEFAULT_STAKEHOLDERS = "dfps-dps-stakeholders@example.org"
LATE_NOTICE_VARIABLE = "dfps_dps_late_notice_email"
REJECTS_SHOWN = 20


# --- waiting -----------------------------------------------------------------------------

# The answers' lock, shared by dfps_dps_receive and dfps_dps_receive_yearly (see claim_answer).
ANSWER_LOCK = "dfps_dps_receive: answers"


def answer_records(warehouse_conn_id: str) -> tuple[list[Send], dict[tuple[str, int, int], str]]:
    """Every send of the children's list to DPS, and the files already claimed (``(name, size, mtime)``
    → period): what decides which period an answer belongs to."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.sql import render_sql
    from etl_bundle.dfps.periods import txt_name

    # The home-made renderer: the sensor reads these on every poke, outside any templated field.
    with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn, conn.cursor() as cursor:
        sends = [
            Send(sent, sent_at)
            for period, file_name, sent_at in cursor.execute(render_sql("dfps/answer_sends.sql", dialect="postgres"))
            if file_name == txt_name(sent := FiscalPeriod.parse(period))
        ]
        claims = {
            (name, size, mtime): period
            for name, size, mtime, period, _run in cursor.execute(
                render_sql("dfps/answer_claims.sql", dialect="postgres")
            )
        }
        conn.commit()
    return sends, claims


def _listing(sftp, remote_dir: str, period: FiscalPeriod, sends, claims) -> tuple[dict[str, RemoteFile], list[str]]:
    files = [
        RemoteFile(name=entry.filename, size=entry.st_size, mtime=int(entry.st_mtime))
        for entry in sftp.listdir_attr(remote_dir)
    ]
    ours, notes = answers_for(files, period, sends, claims)
    return pick_answers(ours, period), notes


def _data_rows(sftp, path: str) -> int:
    """Non-blank lines after the header (what the counts file's total counts)."""
    with sftp.open(path, "rb") as remote:
        lines = sum(1 for line in remote if line.strip())
    return max(lines - 1, 0)


def check_answer(
    sftp_conn_id: str,
    remote_dir: str,
    period: FiscalPeriod,
    *,
    warehouse_conn_id: str,
    settle_seconds: float,
    counts_grace: timedelta,
    now,
    min_age: timedelta = timedelta(0),
    counts_tolerance: int = 0,
) -> Readiness:
    """Two listings ``settle_seconds`` apart: only this period's files (by name, by the send before
    them, not claimed for another period) whose size and time held still and that are ``min_age``
    old are taken; and not while the counts file announces more than ``counts_tolerance`` rows
    other than the results file holds (a truncated file: the wait goes on)."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from etl_bundle.dfps.results import counts_disagreement

    sends, claims = answer_records(warehouse_conn_id)
    folder = remote_dir.rstrip("/")
    with SFTPHook(ssh_conn_id=sftp_conn_id).get_managed_conn() as sftp:
        seen, notes = _listing(sftp, remote_dir, period, sends, claims)
        skipped = f" ({'; '.join(notes)})" if notes else ""
        if not seen:
            return Readiness(False, f"no DPS answer for {period.label} in {remote_dir} yet{skipped}")
        time.sleep(settle_seconds)
        again, _ = _listing(sftp, remote_dir, period, sends, claims)
        found = readiness(again, stable(seen, again), now, counts_grace, min_age)
        if not found.ready or found.counts is None:
            return found
        with sftp.open(f"{folder}/{found.counts.name}", "rb") as remote:
            counts_text = remote.read().decode("utf-8-sig", errors="replace")
        rows = _data_rows(sftp, f"{folder}/{found.results.name}")
    held = counts_disagreement(counts_text, found.results.name, rows, counts_tolerance)
    if held:
        return Readiness(False, held)
    return found


def latest_send(sends: list[Send], period: FiscalPeriod) -> datetime | None:
    times = [send.sent_at for send in sends if send.period == period]
    return max(times) if times else None


def notify_late_once(warehouse_conn_id: str, period: FiscalPeriod, run_id: str, waiting_since, reason: str) -> bool:
    """One email per run when DPS is late, recorded before and after the SMTP exchange."""
    from etl_bundle.common.mail import alert_recipients, recipients

    to = recipients(LATE_NOTICE_VARIABLE, ",".join(alert_recipients()))
    sent = send_recorded(
        warehouse_conn_id,
        "late_notice",
        period.label,
        run_id,
        to,
        f"[dfps_dps_receive] DPS answer for {period.label} is late",
        f"<p>DPS's answer for <b>{period.label}</b> has not arrived in the TO_DFPS folder; "
        f"waiting since {waiting_since.isoformat()} ({reason}).</p>"
        "<p>The run keeps waiting until its deadline; nothing is needed unless DPS is down.</p>",
        per_run=True,
    )
    if sent:
        log.warning("DPS answer for %s late (%s): notice sent to %d recipients", period.label, reason, len(to))
    return sent


# --- collecting ----------------------------------------------------------------------------


def download_verified(sftp, remote_path: str, local: Path, expected: RemoteFile) -> dict[str, Any]:
    """Copy ``remote_path`` to ``local`` and check it is the file the sensor saw, unchanged.

    An interrupted transfer or a file that changed meanwhile leaves no local copy, touches
    nothing on the server, and raises for the task to retry.
    """
    partial = local.with_name(local.name + ".part")
    try:
        with sftp.open(remote_path, "rb") as remote, open_private(partial) as out:
            sha, size = sha256_stream(remote, out)
        after = sftp.stat(remote_path)
    except Exception as err:
        partial.unlink(missing_ok=True)
        raise ConnectionError(
            f"{remote_path}: download interrupted ({type(err).__name__}: {err}); "
            "nothing removed from the server, the task retries"
        ) from err
    if size != expected.size or after.st_size != expected.size or int(after.st_mtime) != expected.mtime:
        partial.unlink(missing_ok=True)
        raise ConnectionError(
            f"{remote_path}: read {size} bytes but the server shows {after.st_size} "
            f"(expected {expected.size}); it changed during the download, the task retries"
        )
    partial.rename(local)
    return {"sha256": sha, "size_bytes": size}


def archived_name(kind: str, period: FiscalPeriod, stamp: str) -> str:
    return f"dfps-missing-person-{kind}_{period.label}_{stamp}.txt"


COLLECT_SQL = {
    "lock": "dfps/advisory_xact_lock.sql",
    "claims": "dfps/answer_claims.sql",
    "claim": "dfps/claim_answer.sql",
    "record": "dfps/record_answer_exchange.sql",
}


def claim_answer(
    cursor, period: FiscalPeriod, run_id: str, remote: RemoteFile, sha256: str, sql: dict[str, str] | None = None
) -> None:
    """Record that the results file is this period's answer, before anything is reconciled from it.

    In the collect's transaction, under the answers' lock: a file claimed for another period (by
    its content, or by its name, size and time on the server) fails the task, whichever run or DAG
    claimed it; the same period's earlier claim (a retry, a rerun) is taken as it is.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.common.sql import render_sql

    statements = sql or {key: render_sql(COLLECT_SQL[key], dialect="postgres") for key in ("claims", "claim")}
    for name, size, mtime, other, other_run in cursor.execute(statements["claims"]):
        if (name, size, mtime) == (remote.name, remote.size, remote.mtime) and other != period.label:
            raise AirflowFailException(
                f"{remote.name} was taken for {other} by run {other_run}: not reconciled under {period.label}; "
                "nothing removed from the server"
            )
    owner, owner_run, claimed_at = cursor.execute(
        statements["claim"],
        {
            "sha256": sha256,
            "period": period.label,
            "run_id": run_id,
            "file_name": remote.name,
            "size_bytes": remote.size,
            "remote_mtime": remote.mtime,
        },
    ).fetchone()
    if owner != period.label:
        raise AirflowFailException(
            f"{remote.name} (sha256 {sha256[:12]}…) has the content of {owner}'s answer, claimed by run "
            f"{owner_run} at {claimed_at.isoformat()}: not reconciled under {period.label}; nothing removed "
            "from the server (if DPS really sent the same file for both, rename it to name the period)"
        )
    if owner_run != run_id:
        log.info("%s: %s was claimed for this period by run %s; taken again", period.label, remote.name, owner_run)


def collect_answer(
    period_label: str,
    found: dict[str, Any],
    *,
    sftp_conn_id: str,
    warehouse_conn_id: str,
    share_conn_id: str,
    remote_dir: str,
    run_id: str,
    stamp: str,
    sql: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Download the files the sensor took, verify them, claim, archive and audit them.

    Under the answers' lock (a transaction-scoped advisory lock in the warehouse, shared by the
    quarterly and the yearly DAG): one collect at a time; the claim and the audit rows commit together.
    ``sql``: the statements of ``COLLECT_SQL`` as Airflow rendered them; else rendered here.
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.share import open_share
    from etl_bundle.common.sql import render_sql

    period = FiscalPeriod.parse(period_label)
    if found.get("from_archive"):
        with open_share(share_conn_id) as share:
            return archived_answer(share, period)
    collected: dict[str, Any] = {"period": period.label, "counts": None}
    statements = sql or {key: render_sql(path, dialect="postgres") for key, path in COLLECT_SQL.items()}
    with (
        closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn,
        conn.cursor() as cursor,
        values_kept_out(f"claiming DPS's answer for {period.label}"),
    ):
        cursor.execute(statements["lock"], {"lock_name": ANSWER_LOCK})
        with (
            SFTPHook(ssh_conn_id=sftp_conn_id).get_managed_conn() as sftp,
            open_share(share_conn_id) as share,
            tempfile.TemporaryDirectory(prefix="dfps-collect-") as tmp,
        ):
            for kind in ("results", "counts"):
                if not found.get(kind):
                    continue
                remote = RemoteFile(**found[kind])
                # Verified locally, then into the archive on the share (private): the copy every worker reads.
                local = Path(tmp) / archived_name(kind, period, stamp)
                checked = download_verified(sftp, f"{remote_dir.rstrip('/')}/{remote.name}", local, remote)
                if kind == "results":
                    claim_answer(cursor, period, run_id, remote, checked["sha256"], statements)
                with open(local, "rb") as text:
                    lines = sum(1 for line in text if line.strip())
                collected[kind] = {
                    "remote": remote.as_dict(),
                    "archived": share.put(local, ANSWER_ARCHIVE, private=True),
                    "lines": lines,
                    **checked,
                }
        # The audit rows commit with the claim: a kill leaves both or neither.
        cursor.executemany(
            statements["record"],
            [
                {
                    "period": period.label,
                    "file_name": file["remote"]["name"],
                    "sha256": file["sha256"],
                    "size_bytes": file["size_bytes"],
                    # data rows: the results file's header is not one; the counts file has no header
                    "row_count": max(file["lines"] - (kind == "results"), 0),
                    "run_id": run_id,
                }
                for kind in ("results", "counts")
                if (file := collected.get(kind))
            ],
        )
        conn.commit()
    log.info(
        "collected DPS answer for %s: %s",
        period.label,
        {k: (v["archived"], v["sha256"]) for k, v in collected.items() if isinstance(v, dict)},
    )
    return collected


def archived_answer(share, period: FiscalPeriod) -> dict[str, Any]:
    """The period's answer as last collected (the newest archived results, and the counts collected
    with them), for a run that reconciles again: nothing is downloaded, audited or removed."""
    import hashlib

    # Only this period's own names: FY2025's pattern must not take FY2025_Q1's copies.
    named = re.compile(re.escape(archived_name("results", period, "@")).replace("@", r"(\d{8}_\d{6})") + "$")
    entries = {entry.name: entry for entry in share.list(ANSWER_ARCHIVE)}
    stamps = sorted(found[1] for name in entries if (found := named.match(name)))
    if not stamps:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            f"reconcile_from_archive: no {archived_name('results', period, '<stamp>')} in "
            f"{share.location(ANSWER_ARCHIVE)}; run without it to wait for DPS's answer"
        )
    collected: dict[str, Any] = {"period": period.label, "counts": None, "from_archive": True}
    for kind in ("results", "counts"):
        entry = entries.get(archived_name(kind, period, stamps[-1]))
        if entry is not None:
            data = share.read_bytes(entry.path)
            collected[kind] = {
                "remote": None,
                "archived": entry.path,
                "lines": sum(1 for line in data.splitlines() if line.strip()),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_bytes": len(data),
            }
    log.info("%s: reconciling again from the archived answer of %s", period.label, stamps[-1])
    return collected


# --- reconciling ---------------------------------------------------------------------------


def latest_reference(share, period: FiscalPeriod) -> str:
    """The newest reference workbook send delivered for the period (timestamps sort as text)."""
    from fnmatch import fnmatchcase

    from etl_bundle.dfps.periods import reference_name

    stem = Path(reference_name(period)).stem
    found = sorted(entry.path for entry in share.list(REFERENCE_FOLDER) if fnmatchcase(entry.name, f"{stem}_*.xlsx"))
    if not found:
        raise FileNotFoundError(
            f"no {stem}_<timestamp>.xlsx in {share.location(REFERENCE_FOLDER)}: "
            f"dfps_dps_send has not delivered {period.label}'s reference; run it first"
        )
    return found[-1]


def snapshot_month(run_day: date) -> tuple[int, int]:
    """(calendar year, month) of the warehouse load the legal counties come from: the month before
    ``run_day``; January gives the previous December (the original asked for month 0 and failed)."""
    if run_day.month == 1:
        return run_day.year - 1, 12
    return run_day.year, run_day.month - 1


LOOKUP_SQL = {
    "sa98": "dfps/runaways_sa98.sql",
    "time_load": "dfps/time_load.sql",
    "legal": "dfps/legal_counties.sql",
    "regions": "dfps/county_regions.sql",
}


def read_lookups(oracle_conn_id: str, period: FiscalPeriod, sql: dict[str, str] | None = None) -> dict[str, Any]:
    """IMPACT's runaway list for the fiscal year (all its columns), each child's legal county and name
    in the warehouse load of the period's last month, county → region. ``sql``: the statements of
    ``LOOKUP_SQL`` as Airflow rendered them (the operator's templated fields); else rendered here."""
    from etl_bundle.common.source_db import dict_rows, source_cursor
    from etl_bundle.common.sql import render_sql

    year = FiscalPeriod(period.fiscal_year)
    # The original's on-time run is in the month after the period: its snapshot is the period's last month.
    calendar_year, calendar_month = snapshot_month(period.next_start)
    with source_cursor(oracle_conn_id) as (cursor, dialect):
        statements = sql or {key: render_sql(path, dialect=dialect) for key, path in LOOKUP_SQL.items()}
        cursor.execute(statements["sa98"], {"start_date": year.start, "end_date": year.end})
        sa98_columns = [column[0].upper() for column in cursor.description]
        impact = list(dict_rows(cursor))
        cursor.execute(
            statements["time_load"],
            {"calendar_year": calendar_year, "calendar_month": calendar_month},
        )
        load = cursor.fetchone()
        if load is None:
            raise LookupError(
                f"caps.time_dim has no load for {calendar_year}-{calendar_month:02d}: "
                f"the warehouse snapshot for {period.label}'s legal counties is not there yet"
            )
        cursor.fetchall()
        cursor.execute(statements["legal"], {"id_time_load": load[0]})
        legal = list(dict_rows(cursor))
        cursor.execute(statements["regions"])
        regions = list(dict_rows(cursor))
    return {
        "impact": impact,
        "sa98_columns": sa98_columns,
        "legal": legal,
        "regions": regions,
        "id_time_load": load[0],
        "snapshot_month": f"{calendar_year}-{calendar_month:02d}",
    }


def output_names(period: FiscalPeriod) -> dict[str, str]:
    return {
        "events": f"DPS_total_runaway_events_{period.label}.xlsx",
        "not_in_impact": f"DPS_not_in_IMPACT_{period.label}.xlsx",
        "impact_not_in_dps": f"IMPACT_not_in_DPS_{period.label}.xlsx",
    }


def build_workbooks(
    results,
    reference: list[dict[str, Any]],
    lookups: dict[str, Any],
    period: FiscalPeriod,
    window: tuple[date, date],
    folder: Path,
) -> tuple[dict[str, Path], dict[str, int]]:
    """The three workbooks of ``output_names`` in ``folder``; their paths and every step's count."""
    from etl_bundle.common.xlsx import write_workbook
    from etl_bundle.dfps.reconcile import (
        EVENT_COLUMNS,
        NOT_IN_IMPACT_COLUMNS,
        dps_not_in_impact,
        impact_columns,
        impact_not_in_dps,
        runaway_events,
    )

    events, counts = runaway_events(results.rows, reference, *window)
    not_in_impact = dps_not_in_impact(events, lookups["impact"], lookups["legal"], lookups["regions"])
    missing_in_dps = impact_not_in_dps(lookups["impact"], lookups["sa98_columns"], events)
    paths = {key: folder / name for key, name in output_names(period).items()}
    counts["events_rows"] = write_workbook(paths["events"], EVENT_COLUMNS, events)
    counts["not_in_impact_rows"] = write_workbook(paths["not_in_impact"], NOT_IN_IMPACT_COLUMNS, not_in_impact)
    counts["impact_not_in_dps_rows"] = write_workbook(
        paths["impact_not_in_dps"], impact_columns(lookups["sa98_columns"]), missing_in_dps
    )
    counts["impact_runaways"] = len(lookups["impact"])
    return paths, counts


def read_results(share, collected: dict[str, Any], period: FiscalPeriod):
    """The archived results file, parsed; a file that cannot be read fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.dfps.results import ResultsFileError, decode_results, parse_results

    results_file = collected["results"]["archived"]
    name = Path(results_file).name
    try:
        results = parse_results(decode_results(share.read_bytes(results_file), name), name)
    except ResultsFileError as err:
        # A bad file will not improve by retrying: stop, keep it on the server and in the archive.
        remote = (collected["results"].get("remote") or {}).get("name")
        source = f" ({remote} on DPS's server, archived as {name})" if remote else ""
        raise AirflowFailException(f"DPS results for {period.label}{source} not usable: {err}") from err
    return results


def reconcile_period(
    period_label: str,
    collected: dict[str, Any],
    *,
    oracle_conn_id: str,
    share_conn_id: str,
    stamp: str,
    q4_window: str = "fiscal_year",
    lookup_sql: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Parse the archived answer, reconcile it, deliver the workbooks to the share and archive them.
    ``lookup_sql``: IMPACT's lookups as Airflow rendered them (see :func:`read_lookups`)."""
    from etl_bundle.common.share import open_share

    with open_share(share_conn_id) as share:
        return reconcile_on_share(
            share, FiscalPeriod.parse(period_label), collected, oracle_conn_id, stamp, q4_window, lookup_sql
        )


def reconcile_on_share(
    share,
    period: FiscalPeriod,
    collected: dict[str, Any],
    oracle_conn_id: str,
    stamp: str,
    q4_window: str,
    lookup_sql: dict[str, str] | None = None,
) -> dict[str, Any]:
    from etl_bundle.common.share import stamped_name
    from etl_bundle.common.xlsx import read_workbook
    from etl_bundle.dfps.reconcile import event_window
    from etl_bundle.dfps.results import counts_warnings, unknown_statuses
    from etl_bundle.operators.share import deliver_file

    window = event_window(period, q4_window)
    results = read_results(share, collected, period)
    counts_text = None
    if collected.get("counts"):
        counts_text = share.read_text(collected["counts"]["archived"], encoding="utf-8-sig", errors="replace")
    warnings = counts_warnings(counts_text, results) + unknown_statuses(results)
    warnings += [
        f"{results.file_name} line {reject.line}, field {reject.field}: {reject.reason}"
        for reject in results.rejects[:REJECTS_SHOWN]
    ]
    if len(results.rejects) > REJECTS_SHOWN:
        warnings.append(f"... and {len(results.rejects) - REJECTS_SHOWN} more rejected rows (see the archived file)")
    for warning in warnings:
        log.warning("%s: %s", period.label, warning)

    reference_file = latest_reference(share, period)
    lookups = read_lookups(oracle_conn_id, period, lookup_sql)
    with tempfile.TemporaryDirectory(prefix="dfps-reconcile-") as tmp:
        reference_copy = share.download(reference_file, Path(tmp) / Path(reference_file).name)
        reference = read_workbook(reference_copy)
        built, counts = build_workbooks(results, reference, lookups, period, window, Path(tmp))
        delivered = []
        for path in built.values():
            # Readable deliveries for the stakeholders (verified, never repeated); private copies in the archive.
            delivered.append(deliver_file(share, path, OUTPUT_FOLDER, stamped_name(path.name, stamp)))
            share.put(path, f"{ARCHIVE_FOLDER}/to_cps", stamped_name(path.name, stamp), private=True)
        share.put(reference_copy, f"{ARCHIVE_FOLDER}/to_dps", stamped_name(reference_copy.name, stamp), private=True)
    counts.update(results_rows=len(results.rows), rejected_rows=len(results.rejects), reference_rows=len(reference))
    summary = {
        "period": period.label,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "snapshot_month": lookups["snapshot_month"],
        "from_archive": bool(collected.get("from_archive")),
        **counts,
        "warnings": warnings,
        "reference": reference_file,
        "share_folder": OUTPUT_FOLDER,
        "share_files": delivered,
    }
    log.info("%s reconciled: %s", period.label, {k: v for k, v in summary.items() if k != "warnings"})
    return summary


# --- loading DPS's results into IMPACT ---------------------------------------------------------

LOADED_COLUMNS = (
    "CPS_NAME",
    "FULL_NAME",
    "CPS_DOB",
    "S",
    "R",
    "E",
    "DOE",
    "LAST_CONT",
    "HR",
    "ORI",
    "ORI_DESC",
    "COUNTY_NAME",
    "ORI_PHONE",
    "NIC",
    "STS",
    "LOCATE_DT",
    "CLR_CAN_DT",
)


LOAD_SQL = {
    "loaded": "dfps/results_loaded.sql",
    "delete": "dfps/dps_results_delete.sql",
    "insert": "dfps/dps_results_insert.sql",
    "load": "dfps/load_msng_person.sql",
    "record": "dfps/record_results_load.sql",
}
WAREHOUSE_LOAD_SQL = frozenset({"loaded", "record"})


def load_results(
    period_label: str,
    collected: dict[str, Any],
    *,
    oracle_conn_id: str,
    warehouse_conn_id: str,
    share_conn_id: str,
    run_id: str,
    sql: dict[str, str] | None = None,
) -> dict[str, Any]:
    """DPS's rows into ``caps.dfps_msng_person_stg`` and ``caps.load_dfps_msng_person(fy, quarter)``,
    in one transaction on the source; the period's earlier rows are replaced, and a results file
    already loaded for the period (the warehouse's record) is not loaded again. ``sql``: the statements
    of ``LOAD_SQL`` as Airflow rendered them (the operator's templated fields); else rendered here."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.sdk import BaseHook

    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.share import open_share
    from etl_bundle.common.sql import dialect_for_conn_type, render_sql

    period = FiscalPeriod.parse(period_label)
    sha256 = collected["results"]["sha256"]
    keys = {"period": period.label, "sha256": sha256}
    source = BaseHook.get_connection(oracle_conn_id)
    dialect = dialect_for_conn_type(source.conn_type)
    # The warehouse's two statements are Postgres whatever the source's dialect is.
    statements = sql or {
        key: render_sql(path, dialect="postgres" if key in WAREHOUSE_LOAD_SQL else dialect)
        for key, path in LOAD_SQL.items()
    }
    with (
        values_kept_out(f"reading the loads of {period.label}"),
        closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn,
        conn.cursor() as cursor,
    ):
        done = cursor.execute(statements["loaded"], keys).fetchone()
    if done is not None:
        log.info("%s: this results file was loaded by run %s at %s; not again", period.label, done[0], done[1])
        return {"loaded": False, "by_run": done[0], "sha256": sha256}

    with open_share(share_conn_id) as share:
        results = read_results(share, collected, period)
    bounds = {"fiscal_year": period.fiscal_year, "quarter": period.quarter}
    rows = [{name: row.get(name) for name in LOADED_COLUMNS} | bounds for row in results.rows]
    # DPS's rows hold children's names and birth dates: a database error is told without them.
    with (
        values_kept_out(f"loading DPS's results for {period.label} into caps.dfps_msng_person_stg"),
        closing(source.get_hook().get_conn()) as conn,
    ):
        cursor = conn.cursor()
        try:
            cursor.execute(statements["delete"], bounds)
            if rows:
                cursor.executemany(statements["insert"], rows)
            cursor.execute(statements["load"], bounds)
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        finally:
            cursor.close()
    with (
        values_kept_out(f"recording the load of {period.label}"),
        closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            statements["record"],
            keys | {"row_count": len(rows), "run_id": run_id},
        )
        conn.commit()
    log.info("%s: %d DPS rows loaded and caps.load_dfps_msng_person run", period.label, len(rows))
    return {"loaded": True, "rows": len(rows), "sha256": sha256}


# --- telling the stakeholders --------------------------------------------------------------------

STAKEHOLDER_SUBJECT = "DPS Comparison Reports - {period} (Uploaded to Network Drive)"


def notify_stakeholders(
    summary: dict[str, Any], *, warehouse_conn_id: str, share_conn_id: str, run_id: str, force: bool = False
) -> bool:
    """The original's notice (no attachments: the workbooks hold children's data), at most once per
    period unless ``force``: recorded before and after the SMTP exchange (:func:`send_recorded`)."""
    from etl_bundle.common.mail import recipients
    from etl_bundle.common.share import open_share

    to = recipients(STAKEHOLDERS_VARIABLE, DEFAULT_STAKEHOLDERS)
    with open_share(share_conn_id) as share:
        folder = share.location(summary["share_folder"])
    sent = send_recorded(
        warehouse_conn_id,
        "stakeholder_mail",
        summary["period"],
        run_id,
        to,
        STAKEHOLDER_SUBJECT.format(period=summary["period"]),
        summary_html(summary, folder),
        force=force,
    )
    if sent:
        log.info("%s: stakeholders told (%d recipients)", summary["period"], len(to))
    return sent


MAIL_LOCK = "dfps_dps_receive: mails"


def mail_decision(records: list[tuple], run_id: str, *, force: bool, per_run: bool) -> tuple[bool, str]:
    """Whether to send now, and why not: ``records`` are the period's ``(run_id, status, recorded_at,
    sent_at)``. A 'pending' record is a send whose outcome was never recorded (a kill between the
    SMTP exchange and the commit): maybe sent, so not sent again unless forced. ``per_run``: only
    this run's records count (the late notice is once per run)."""
    mine = [r for r in records if r[0] == run_id]
    if any(status == "sent" for _run, status, _at, _sent in mine):
        return False, "already sent by this run"
    if force:
        return True, "forced"
    considered = mine if per_run else records
    for other_run, status, _recorded_at, sent_at in considered:
        if status == "sent":
            return False, f"already sent by run {other_run} at {sent_at.isoformat()}; force_notice sends it again"
    for other_run, _status, recorded_at, _sent in considered:
        return False, (
            f"maybe sent: run {other_run} started sending at {recorded_at.isoformat()} and its outcome was never "
            "recorded (killed between the SMTP exchange and the record?); not sent again, force_notice sends it"
        )
    return True, "first send"


def send_recorded(
    warehouse_conn_id: str,
    kind: str,
    period_label: str,
    run_id: str,
    to: list[str],
    subject: str,
    html: str,
    *,
    force: bool = False,
    per_run: bool = False,
) -> bool:
    """Send a mail at most once (per period, or per run with ``per_run``) unless ``force``.

    ``kind`` names the record (``stakeholder_mail``: ``dfps.dps_stakeholder_mails``, ``late_notice``:
    ``dfps.dps_late_notices``). The record is committed as 'pending' before the SMTP exchange and
    marked 'sent' after it; a refused or failed exchange removes it (nothing went out: a retry sends).
    The decision is taken under an advisory lock per kind and period, so two runs cannot both send.
    """
    import hashlib

    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.sql import render_sql

    record = {
        "period": period_label,
        "run_id": run_id,
        "recipients_sha256": hashlib.sha256(",".join(sorted(to)).encode()).hexdigest(),
        "forced": force,
    }
    what = f"the {kind.replace('_', ' ')} of {period_label}"
    with (
        values_kept_out(f"recording {what}"),
        closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            render_sql("dfps/advisory_xact_lock.sql", dialect="postgres"),
            {"lock_name": f"{MAIL_LOCK} {kind} {period_label}"},
        )
        # The home-made renderer here: the statements are picked by ``kind`` at run time, and the
        # sensor's late notice (a poke, not a templated field) sends through this function too.
        records = cursor.execute(render_sql(f"dfps/{kind}_records.sql", dialect="postgres"), record).fetchall()
        send, why = mail_decision(records, run_id, force=force, per_run=per_run)
        if not send:
            conn.commit()
            (log.warning if why.startswith("maybe sent") else log.info)("%s not sent: %s", what, why)
            return False
        cursor.execute(render_sql(f"dfps/{kind}_pending.sql", dialect="postgres"), record)
        conn.commit()
        if force:
            log.warning("%s: sent again (force_notice) although it may have been sent before", what)
        try:
            send_mail(to, subject, html)
        except Exception:
            cursor.execute(render_sql(f"dfps/{kind}_not_sent.sql", dialect="postgres"), record)
            conn.commit()
            raise
        cursor.execute(render_sql(f"dfps/{kind}_sent.sql", dialect="postgres"), record)
        conn.commit()
    return True


def summary_html(summary: dict[str, Any], folder: str) -> str:
    """The notice's body: the period, the counts, the warnings and where the workbooks are (``folder``,
    as people reach it: a UNC path on SMB). No names."""
    from html import escape

    lines = [
        f"<p>The DPS comparison reports for <b>{escape(summary['period'])}</b> "
        f"(events from {summary['window'][0]} to {summary['window'][1]}) are on the network drive, in "
        f"<code>{escape(folder)}</code>:</p>",
        "<ul>",
        f"<li>DPS_total_runaway_events: {summary['events_rows']} runaway events</li>",
        f"<li>DPS_not_in_IMPACT: {summary['not_in_impact_rows']} in DPS but not on IMPACT's runaway list</li>",
        f"<li>IMPACT_not_in_DPS: {summary['impact_not_in_dps_rows']} missing in IMPACT without an open DPS record</li>",
        "</ul>",
        "<p>Files:</p><ul>" + "".join(f"<li>{escape(Path(p).name)}</li>" for p in summary["share_files"]) + "</ul>",
        f"<p>{summary['results_rows']} DPS rows read, {summary['rejected_rows']} rejected, "
        f"{summary['unmatched']} not matching a child sent. The Outcome columns are for review.</p>",
    ]
    if summary["warnings"]:
        lines.append("<p>Warnings:</p><ul>")
        lines += [f"<li>{escape(w)}</li>" for w in summary["warnings"]]
        lines.append("</ul>")
    return "\n".join(lines)


# --- cleaning up ---------------------------------------------------------------------------


def remove_answer(sftp_conn_id: str, remote_dir: str, collected: dict[str, Any]) -> dict[str, Any]:
    """Remove from the server the files that were processed, if they are still the same files."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    removed, kept = [], []
    with SFTPHook(ssh_conn_id=sftp_conn_id).get_managed_conn() as sftp:
        for kind in ("results", "counts"):
            if not collected.get(kind) or not collected[kind]["remote"]:
                continue  # not collected from the server (reconciled from the archive)
            remote = RemoteFile(**collected[kind]["remote"])
            path = f"{remote_dir.rstrip('/')}/{remote.name}"
            try:
                now = sftp.stat(path)
            except FileNotFoundError:
                kept.append(f"{remote.name} (already gone)")
                continue
            if now.st_size != remote.size or int(now.st_mtime) != remote.mtime:
                log.warning("%s changed on the server after it was collected: left there", path)
                kept.append(remote.name)
                continue
            sftp.remove(path)
            removed.append(remote.name)
    return {"removed": removed, "kept": kept}


def purge_archive(share_conn_id: str, retention_days: int, now: datetime) -> dict[str, Any]:
    """Delete archived copies older than the retention (by modification time)."""
    from etl_bundle.common.share import open_share

    cutoff = (now - timedelta(days=retention_days)).timestamp()
    purged = 0
    with open_share(share_conn_id) as share:
        for entry in list(share.files_under(ARCHIVE_FOLDER)):
            if entry.mtime < cutoff:
                share.remove(entry.path)
                purged += 1
    log.info("purged %d archived files older than %d days", purged, retention_days)
    return {"purged": purged, "retention_days": retention_days, "cutoff": date.fromtimestamp(cutoff).isoformat()}
