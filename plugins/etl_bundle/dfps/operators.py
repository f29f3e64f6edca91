"""The operators of the DFPS DAGs: the send's (dfps_dps_send, _yearly) and the receive's
(dfps_dps_receive, _yearly), the steps that write (DPS's server, the share, IMPACT, the mail
records, the archive).

Cheap to import (``airflow.sdk`` and the bundle's operator bases): the work, with openpyxl,
paramiko and the providers, is imported inside ``execute`` from ``etl_bundle.dfps.send`` and
``etl_bundle.dfps.receive``, whose functions stay callable without Airflow's task machinery.
Their ``.sql`` fields are rendered by Airflow (the UI's Rendered Template view shows them) in the
dialect of ``oracle_conn_id``: Oracle, or its Postgres stand-in on the devstack.
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


def _stamp(context: Any) -> str:
    from etl_bundle.dfps.periods import run_stamp

    return run_stamp(context)


class DpsAnswerCollectOperator(SqlTemplatedOperator):
    """Download DPS's files the sensor took, verify them, claim them for the period, archive and audit them.

    Each file is downloaded to a `.part` name and checked against the size and time the sensor saw;
    the claim (`dfps.dps_answer_claims`) and the audit rows (`dfps.dps_exchanges`) commit together under
    the answers' lock shared with the yearly DAG. With `reconcile_from_archive` it takes the period's
    archived answer instead. The lock, claim and audit statements are the `.sql` fields (Postgres, the
    warehouse). Timeout 30 minutes: a hung SFTP transfer fails and retries.
    """

    template_fields: Sequence[str] = (
        "period",
        "found",
        "remote_dir",
        "lock_sql",
        "claims_sql",
        "claim_sql",
        "record_sql",
    )
    dialect_conn_attr: ClassVar[str] = "warehouse_conn_id"

    def __init__(
        self,
        *,
        period: str,
        found: dict | None,
        sftp_conn_id: str,
        warehouse_conn_id: str,
        share_conn_id: str,
        remote_dir: str,
        lock_sql: str = "dfps/advisory_xact_lock.sql",
        claims_sql: str = "dfps/answer_claims.sql",
        claim_sql: str = "dfps/claim_answer.sql",
        record_sql: str = "dfps/record_answer_exchange.sql",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.period = period
        self.found = found
        self.lock_sql = lock_sql
        self.claims_sql = claims_sql
        self.claim_sql = claim_sql
        self.record_sql = record_sql
        self.sftp_conn_id = sftp_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.share_conn_id = share_conn_id
        self.remote_dir = remote_dir

    def execute(self, context: Any) -> dict:
        from etl_bundle.dfps.receive import collect_answer

        return collect_answer(
            self.period,
            self.found,
            sftp_conn_id=self.sftp_conn_id,
            warehouse_conn_id=self.warehouse_conn_id,
            share_conn_id=self.share_conn_id,
            remote_dir=self.remote_dir,
            run_id=context["run_id"],
            stamp=_stamp(context),
            sql={
                "lock": self.lock_sql.strip(),
                "claims": self.claims_sql.strip(),
                "claim": self.claim_sql.strip(),
                "record": self.record_sql.strip(),
            },
        )


class DpsReconciliationOperator(SqlTemplatedOperator):
    """Reconcile DPS's answer with the reference send delivered and IMPACT's lookups; three workbooks.

    Writes `DPS_total_runaway_events_<period>`, `DPS_not_in_IMPACT_<period>` and
    `IMPACT_not_in_DPS_<period>` (run-stamped) to the share's `dfps_dps/to_cps` (readable, each
    verified and never delivered twice) and private copies to the archive; the Asset event carries the
    period, the files and the rows of each workbook. IMPACT's lookups are the `.sql` fields below,
    rendered in `oracle_conn_id`'s dialect. Timeout 30 minutes (a whole year's lookups and workbooks).
    """

    template_fields: Sequence[str] = ("period", "collected", "sa98_sql", "time_load_sql", "legal_sql", "regions_sql")
    dialect_conn_attr: ClassVar[str] = "oracle_conn_id"

    def __init__(
        self,
        *,
        period: str,
        collected: dict,
        oracle_conn_id: str,
        share_conn_id: str,
        sa98_sql: str = "dfps/runaways_sa98.sql",
        time_load_sql: str = "dfps/time_load.sql",
        legal_sql: str = "dfps/legal_counties.sql",
        regions_sql: str = "dfps/county_regions.sql",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.period = period
        self.collected = collected
        self.oracle_conn_id = oracle_conn_id
        self.share_conn_id = share_conn_id
        self.sa98_sql = sa98_sql
        self.time_load_sql = time_load_sql
        self.legal_sql = legal_sql
        self.regions_sql = regions_sql

    def execute(self, context: Any) -> dict:
        from airflow.sdk import conf

        from etl_bundle.dfps.receive import reconcile_period

        summary = reconcile_period(
            self.period,
            self.collected,
            oracle_conn_id=self.oracle_conn_id,
            share_conn_id=self.share_conn_id,
            stamp=_stamp(context),
            q4_window=conf.get("dfps_dps", "q4_window", fallback="fiscal_year"),
            lookup_sql={
                "sa98": self.sa98_sql.strip(),
                "time_load": self.time_load_sql.strip(),
                "legal": self.legal_sql.strip(),
                "regions": self.regions_sql.strip(),
            },
        )
        for asset in self.outlets:
            context["outlet_events"][asset].extra = {
                "period": summary["period"],
                "files": summary["share_files"],
                "rows": {
                    key: summary[key]
                    for key in ("results_rows", "events_rows", "not_in_impact_rows", "impact_not_in_dps_rows")
                },
            }
        return summary


class DpsResultsLoadOperator(SqlTemplatedOperator):
    """Load DPS's results into IMPACT (`caps.dfps_msng_person_stg`) and run `caps.load_dfps_msng_person`.

    One transaction on `oracle_conn_id`: the period's earlier rows deleted, DPS's rows inserted (bind
    parameters, one statement per row batch), the procedure called; a results file the warehouse
    recorded as loaded for the period (`dfps.dps_results_loads`) is not loaded again. Timeout 30 minutes.
    """

    template_fields: Sequence[str] = (
        "period",
        "collected",
        "loaded_sql",
        "delete_sql",
        "insert_sql",
        "load_sql",
        "record_sql",
    )
    dialect_conn_attr: ClassVar[str] = "oracle_conn_id"

    def __init__(
        self,
        *,
        period: str,
        collected: dict,
        oracle_conn_id: str,
        warehouse_conn_id: str,
        share_conn_id: str,
        loaded_sql: str = "dfps/results_loaded.sql",
        delete_sql: str = "dfps/dps_results_delete.sql",
        insert_sql: str = "dfps/dps_results_insert.sql",
        load_sql: str = "dfps/load_msng_person.sql",
        record_sql: str = "dfps/record_results_load.sql",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.period = period
        self.collected = collected
        self.oracle_conn_id = oracle_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.share_conn_id = share_conn_id
        # results_loaded / record_results_load run on the warehouse and have no dialect branch.
        self.loaded_sql = loaded_sql
        self.delete_sql = delete_sql
        self.insert_sql = insert_sql
        self.load_sql = load_sql
        self.record_sql = record_sql

    def execute(self, context: Any) -> dict:
        from etl_bundle.dfps.receive import load_results

        return load_results(
            self.period,
            self.collected,
            oracle_conn_id=self.oracle_conn_id,
            warehouse_conn_id=self.warehouse_conn_id,
            share_conn_id=self.share_conn_id,
            run_id=context["run_id"],
            sql={
                "loaded": self.loaded_sql.strip(),
                "delete": self.delete_sql.strip(),
                "insert": self.insert_sql.strip(),
                "load": self.load_sql.strip(),
                "record": self.record_sql.strip(),
            },
        )


class DpsStakeholderNoticeOperator(BundleOperator):
    """Tell the `dfps_dps_stakeholders` Variable where the period's workbooks are, once per period.

    The original's subject and counts, no attachment (the workbooks hold children's data). Recorded in
    the warehouse before and after the SMTP exchange: a send whose outcome is unknown (a kill mid-send)
    is not repeated; `force_notice` sends again. Timeout 10 minutes (one SMTP exchange).
    """

    template_fields: Sequence[str] = ("summary",)

    def __init__(
        self,
        *,
        summary: dict,
        warehouse_conn_id: str,
        share_conn_id: str,
        force: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.summary = summary
        self.warehouse_conn_id = warehouse_conn_id
        self.share_conn_id = share_conn_id
        self.force = force  # None: the run's force_notice Param

    def execute(self, context: Any) -> bool:
        from etl_bundle.dfps.receive import notify_stakeholders

        force = self.force if self.force is not None else bool(context["params"]["force_notice"])
        return notify_stakeholders(
            self.summary,
            warehouse_conn_id=self.warehouse_conn_id,
            share_conn_id=self.share_conn_id,
            run_id=context["run_id"],
            force=force,
        )


class DpsAnswerRemoveOperator(BundleOperator):
    """Remove DPS's collected files from its server, only if they are still the files collected.

    Runs once the period is reconciled, loaded and told; a file changed since is left there (and
    logged). Nothing to do for an answer reconciled from the archive. Timeout 10 minutes (SFTP).
    """

    template_fields: Sequence[str] = ("collected", "remote_dir")

    def __init__(self, *, collected: dict, sftp_conn_id: str, remote_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.collected = collected
        self.sftp_conn_id = sftp_conn_id
        self.remote_dir = remote_dir

    def execute(self, context: Any) -> dict:
        from etl_bundle.dfps.receive import remove_answer

        return remove_answer(self.sftp_conn_id, self.remote_dir, self.collected)


class DpsArchivePurgeOperator(BundleOperator):
    """Delete the archive's copies (`dfps_dps/archive`) older than `retention_days` before the run started.

    `retention_days` is templated (default: the run's `archive_retention_days` Param). Timeout 30 minutes.
    """

    template_fields: Sequence[str] = ("retention_days",)

    def __init__(
        self,
        *,
        share_conn_id: str,
        retention_days: int | str = "{{ params.archive_retention_days }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.share_conn_id = share_conn_id
        self.retention_days = retention_days

    def execute(self, context: Any) -> dict:
        from etl_bundle.dfps.receive import purge_archive

        return purge_archive(self.share_conn_id, int(self.retention_days), context["dag_run"].start_date)
