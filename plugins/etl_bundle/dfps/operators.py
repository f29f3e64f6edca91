"""The operators of dfps_dps_send and dfps_dps_send_yearly.

Cheap to import (``airflow.sdk`` and the bundle's operator bases): the work, with
openpyxl, paramiko and the providers, is imported inside ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from etl_bundle.operators.base import BundleOperator, SqlTemplatedOperator

# The counts an Asset event of dfps.children_in_care carries (no child's data).
ASSET_COUNTS = ("children", "children_sent", "children_records_sent", "txt_lines", "reference_rows", "dropped")


class ChildrenInCareToDpsOperator(SqlTemplatedOperator):
    """Sends DPS the children in care of one fiscal period: Oracle extract → reference xlsx and
    fixed-width txt → verified SFTP upload to DPS → copies on the network share → audit.

    The extract is ``sql`` (``dfps/children_in_care.sql``, rendered by Airflow in the Oracle
    connection's dialect: see Rendered Template), with the period's fiscal year and quarter as
    bind parameters. The exchange is recorded ``pending`` in ``dfps.dps_exchanges`` before any
    upload and ``sent`` after, so a retry resumes it without uploading or copying a file twice.
    One task on purpose: the files carry children's names and birth dates, so they live only in
    this task's owner-only temporary folder, never on a worker between tasks. A period already
    sent (by the bundle or by the original scripts) is skipped unless ``force``.
    Returns counts, file names and checksums (no child's data); the Asset event carries the counts.
    Timeout: 30 minutes (the extract and both transfers take a few minutes), so a hung SFTP or
    share transfer fails and retries, resuming.
    """

    template_fields: Sequence[str] = ("period", "sql", "remote_dir")
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}
    dialect_conn_attr: ClassVar[str] = "oracle_conn_id"
    ui_color: ClassVar[str] = "#fdf0e6"

    def __init__(
        self,
        *,
        period: str,
        oracle_conn_id: str,
        sftp_conn_id: str,
        warehouse_conn_id: str,
        share_conn_id: str,
        remote_dir: str,
        sql: str = "dfps/children_in_care.sql",
        force: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.period = period
        self.oracle_conn_id = oracle_conn_id
        self.sftp_conn_id = sftp_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.share_conn_id = share_conn_id
        self.remote_dir = remote_dir
        self.sql = sql
        self.force = force

    def execute(self, context: Any) -> dict[str, Any]:
        from etl_bundle.dfps.periods import run_stamp
        from etl_bundle.dfps.send import send_period

        summary = send_period(
            self.period,
            oracle_conn_id=self.oracle_conn_id,
            sftp_conn_id=self.sftp_conn_id,
            warehouse_conn_id=self.warehouse_conn_id,
            share_conn_id=self.share_conn_id,
            remote_dir=self.remote_dir,
            run_id=context["run_id"],
            stamp=run_stamp(context),
            # None: the run's ``force`` Param.
            force=bool(context["params"].get("force")) if self.force is None else self.force,
            children_sql=self.sql,
        )
        for asset in self.outlets:
            context["outlet_events"][asset].extra = {
                "period": summary["period"],
                "sha256": summary["sha256"],
                **{name: summary[name] for name in ASSET_COUNTS},
            }
        return summary


class DpsSendSummaryMailOperator(BundleOperator):
    """Mails the stakeholders the send's success summary, as the original did after the share copy
    (``DPS Data Upload - <period> (Uploaded to Network Drive)``): the period, the counts, the
    checksums and where the copies are; no name, birth date or person id.

    Once per run: recorded in ``dfps.dps_send_summary_mails`` before and after the SMTP exchange,
    so a retry, a cleared task or a kill after the exchange sends nothing more. Skipped with the
    send (a period already sent mails nothing). Recipients: the Variable ``dfps_dps_stakeholders``.
    Timeout: 5 minutes (one SMTP exchange).
    """

    template_fields: Sequence[str] = ("summary",)
    ui_color: ClassVar[str] = "#eef7ee"

    def __init__(self, *, summary: Any, warehouse_conn_id: str, share_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summary = summary
        self.warehouse_conn_id = warehouse_conn_id
        self.share_conn_id = share_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from etl_bundle.dfps.send import mail_summary

        sent = mail_summary(
            self.summary,
            warehouse_conn_id=self.warehouse_conn_id,
            share_conn_id=self.share_conn_id,
            run_id=context["run_id"],
        )
        return {"period": self.summary["period"], "mailed_now": sent}
