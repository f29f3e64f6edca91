"""Waiting for DPS's answer without holding a worker slot."""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator

log = logging.getLogger(__name__)


class DpsAnswerSensor(BaseSensorOperator):
    """Pokes DPS's TO_DFPS folder for one period's results and counts files, in reschedule mode.

    Done when the results file (and the counts file, or its grace period ran out) held
    still between two listings ``settle_seconds`` apart; the XCom names the files with
    their size and time (no content). ``late_after_hours`` after send delivered the
    period (the audit) one email says DPS is late; ``wait_hours`` after the run started
    the task fails, naming what never arrived or why it was held (from the run, not from send,
    so a backfill long after send still waits). A file is taken only once ``min_age_minutes``
    old, and not while the counts file announces more than ``counts_tolerance_rows`` rows other
    than the results file has. A service's blip during a poke (an SFTP drop, a Postgres
    restart) is logged and the wait goes on; a permanent error fails the try. All are Params. With
    ``reconcile_from_archive`` it waits for nothing: the run reconciles the answer already archived.
    """

    template_fields = ("period",)

    def __init__(
        self,
        *,
        period: str,
        sftp_conn_id: str,
        warehouse_conn_id: str,
        remote_dir: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", timedelta(days=14).total_seconds())  # backstop; wait_hours decides
        super().__init__(mode="reschedule", **kwargs)
        self.period = period
        self.sftp_conn_id = sftp_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.remote_dir = remote_dir

    def execute(self, context):
        if context["params"].get("reconcile_from_archive"):
            log.info("%s: reconcile_from_archive: the archived answer is used, nothing awaited", self.period)
            return {"from_archive": True, "results": None, "counts": None, "note": "reconcile_from_archive"}
        self.poke_interval = float(context["params"]["poke_interval_seconds"])
        return super().execute(context)

    def poke(self, context):
        from airflow.sdk import PokeReturnValue
        from airflow.sdk.exceptions import AirflowFailException

        from etl_bundle.common.db_errors import DatabaseError, describe
        from etl_bundle.common.fiscal import FiscalPeriod
        from etl_bundle.dfps.receive import answer_records, check_answer, latest_send, notify_late_once

        params = context["params"]
        period = FiscalPeriod.parse(self.period)
        # Wall-clock time decides only how long to wait, never what is reconciled.
        now = datetime.now(UTC)
        started = context["dag_run"].start_date
        deadline = started + timedelta(hours=float(params["wait_hours"]))
        try:
            found = check_answer(
                self.sftp_conn_id,
                self.remote_dir,
                period,
                warehouse_conn_id=self.warehouse_conn_id,
                settle_seconds=float(params["settle_seconds"]),
                counts_grace=timedelta(minutes=float(params["counts_grace_minutes"])),
                min_age=timedelta(minutes=float(params["min_age_minutes"])),
                counts_tolerance=int(params["counts_tolerance_rows"]),
                now=now,
            )
        except Exception as err:
            if not is_transient(err):
                raise
            found = None
            reason = f"the last poke met {describe(err)}"
            log.warning("%s: %s (transient); the wait goes on until %s", period.label, reason, deadline.isoformat())
        else:
            reason = found.reason
        if found is not None and found.ready:
            log.info("%s: %s", period.label, found.reason)
            return PokeReturnValue(
                is_done=True,
                xcom_value={
                    "results": found.results.as_dict(),
                    "counts": found.counts.as_dict() if found.counts else None,
                    "note": found.reason,
                },
            )
        if now >= deadline:
            raise AirflowFailException(
                f"DPS's answer for {period.label} never arrived in {self.remote_dir} "
                f"({params['wait_hours']} h since the run started at {started.isoformat()}): {reason}"
            )
        try:
            sent_at = latest_send(answer_records(self.warehouse_conn_id)[0], period)
            if sent_at is None:
                log.info("%s: %s; dfps_dps_send has not delivered this period yet", period.label, reason)
            elif now >= sent_at + timedelta(hours=float(params["late_after_hours"])):
                notify_late_once(self.warehouse_conn_id, period, context["run_id"], sent_at, reason)
        except Exception as err:
            # The notice's own record is written through values_kept_out, whose DatabaseError keeps no
            # SQLSTATE: any database failure there is taken as a blip (the answer's reads above decide).
            if not (is_transient(err) or isinstance(err, DatabaseError)):
                raise
            log.warning("%s: the late notice met %s (transient); tried at the next poke", period.label, describe(err))
        log.info("%s: %s; waiting", period.label, reason)
        return False


_PERMANENT_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR}


def is_transient(err: BaseException) -> bool:
    """Whether a poke's error is a blip of a service (the wait goes on) rather than a fault that waiting
    does not mend (wrong credentials or host key, a missing folder, a refused permission, a bad query)."""
    import smtplib

    import paramiko
    import psycopg

    if isinstance(err, paramiko.AuthenticationException | paramiko.BadHostKeyException):
        return False
    if isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
        state = getattr(getattr(err, "diag", None), "sqlstate", None) or ""
        return not state.startswith("28") and "authentication failed" not in str(err)
    if isinstance(err, psycopg.Error):
        return False  # the statement or the schema is wrong: every poke would fail the same way
    if isinstance(err, paramiko.SSHException | EOFError | smtplib.SMTPException | TimeoutError | ConnectionError):
        return True
    if isinstance(err, OSError):
        return err.errno not in _PERMANENT_ERRNOS
    return False
