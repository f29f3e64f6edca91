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

    Deferrable (``deferrable=True``, or the ``wait_mode`` Param "deferrable" when ``deferrable`` is
    None): between pokes ``DpsAnswerTrigger`` lists the folder from the triggerer with the same rules
    and hands back to a worker's poke when the answer looks ready, when the late notice falls due,
    and at the deadline; the poke's verdict is final, so both modes end the same way.
    """

    template_fields = ("period",)

    def __init__(
        self,
        *,
        period: str,
        sftp_conn_id: str,
        warehouse_conn_id: str,
        remote_dir: str,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", timedelta(days=14).total_seconds())  # backstop; wait_hours decides
        super().__init__(mode="reschedule", **kwargs)
        self.period = period
        self.sftp_conn_id = sftp_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.remote_dir = remote_dir
        self.deferrable = deferrable

    def execute(self, context):
        if context["params"].get("reconcile_from_archive"):
            log.info("%s: reconcile_from_archive: the archived answer is used, nothing awaited", self.period)
            return {"from_archive": True, "results": None, "counts": None, "note": "reconcile_from_archive"}
        self.poke_interval = float(context["params"]["poke_interval_seconds"])
        from etl_bundle.common.wait_mode import wants_deferral

        if not wants_deferral(self.deferrable, context["params"]):
            return super().execute(context)
        return self.execute_complete(context, {"status": "start"})

    def execute_complete(self, context, event: dict[str, Any]):
        """A worker's poke (the final say), then back to the trigger when it is not done."""
        from airflow.sdk.exceptions import AirflowFailException

        if event["status"] == "failed":
            raise AirflowFailException(event["message"])
        self.poke_interval = float(context["params"]["poke_interval_seconds"])
        done = self.poke(context)
        if done:
            return done.xcom_value
        self.defer_wait(context)

    def defer_wait(self, context) -> None:
        from etl_bundle.common.fiscal import FiscalPeriod
        from etl_bundle.dfps.receive import answer_records, latest_send
        from etl_bundle.dfps.triggers import DpsAnswerTrigger

        params = context["params"]
        period = FiscalPeriod.parse(self.period)
        now = datetime.now(UTC)  # how long to wait only
        deadline = context["dag_run"].start_date + timedelta(hours=float(params["wait_hours"]))
        sends, claims = answer_records(self.warehouse_conn_id)
        sent_at = latest_send(sends, period)
        # The worker wakes when the late notice falls due, or hourly while send has not delivered.
        if sent_at is None:
            wake_at = now + timedelta(hours=1)
        elif now < sent_at + timedelta(hours=float(params["late_after_hours"])):
            wake_at = sent_at + timedelta(hours=float(params["late_after_hours"]))
        else:
            wake_at = None
        self.defer(
            trigger=DpsAnswerTrigger(
                period=self.period,
                sftp_conn_id=self.sftp_conn_id,
                remote_dir=self.remote_dir,
                sends=[[send.period.label, send.sent_at.isoformat()] for send in sends],
                claims=[[name, size, mtime, label] for (name, size, mtime), label in claims.items()],
                settle_seconds=float(params["settle_seconds"]),
                min_age_seconds=float(params["min_age_minutes"]) * 60,
                counts_grace_seconds=float(params["counts_grace_minutes"]) * 60,
                poke_interval=self.poke_interval,
                deadline=deadline.isoformat(),
                wake_at=wake_at.isoformat() if wake_at else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

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

    import asyncssh
    import paramiko
    import psycopg

    if isinstance(err, paramiko.AuthenticationException | paramiko.BadHostKeyException):
        return False
    # The trigger's asyncssh: refused credentials or host key, a missing folder or a refused permission
    # do not mend by waiting; a dropped connection or another protocol error does.
    if isinstance(
        err,
        asyncssh.PermissionDenied
        | asyncssh.HostKeyNotVerifiable
        | asyncssh.KeyImportError
        | asyncssh.SFTPNoSuchFile
        | asyncssh.SFTPPermissionDenied,
    ):
        return False
    if isinstance(err, asyncssh.Error):
        return True
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
