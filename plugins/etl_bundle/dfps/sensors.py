"""Waiting for DPS's answer without holding a worker slot."""

from __future__ import annotations

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
    the task fails, naming what never arrived (from the run, not from send, so a backfill
    long after send still waits). All four are Params. With ``reconcile_from_archive`` it waits
    for nothing: the run reconciles the answer already archived.
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

        from etl_bundle.common.fiscal import FiscalPeriod
        from etl_bundle.dfps.audit import already_sent
        from etl_bundle.dfps.receive import check_answer, notify_late_once

        params = context["params"]
        period = FiscalPeriod.parse(self.period)
        # Wall-clock time decides only how long to wait, never what is reconciled.
        now = datetime.now(UTC)
        found = check_answer(
            self.sftp_conn_id,
            self.remote_dir,
            period,
            settle_seconds=float(params["settle_seconds"]),
            counts_grace=timedelta(minutes=float(params["counts_grace_minutes"])),
            now=now,
        )
        if found.ready:
            log.info("%s: %s", period.label, found.reason)
            return PokeReturnValue(
                is_done=True,
                xcom_value={
                    "results": found.results.as_dict(),
                    "counts": found.counts.as_dict() if found.counts else None,
                    "note": found.reason,
                },
            )
        started = context["dag_run"].start_date
        if now >= started + timedelta(hours=float(params["wait_hours"])):
            raise AirflowFailException(
                f"DPS's answer for {period.label} never arrived in {self.remote_dir} "
                f"({params['wait_hours']} h since the run started at {started.isoformat()}): {found.reason}"
            )
        sent = already_sent(self.warehouse_conn_id, period)
        sent_at = sent["sent_at"] if sent else None
        if sent_at is None:
            log.info("%s: %s; dfps_dps_send has not delivered this period yet", period.label, found.reason)
        elif now >= sent_at + timedelta(hours=float(params["late_after_hours"])):
            notify_late_once(self.warehouse_conn_id, period, context["run_id"], sent_at, found.reason)
        log.info("%s: %s; waiting", period.label, found.reason)
        return False
