"""The tasks of dfps_dps_send and dfps_dps_send_yearly: one definition, used by both DAGs.

Cheap to import (``airflow.sdk`` and the operator classes): the work is imported inside
each task. Operators do the exchange and the mail; TaskFlow only picks the period.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, Param, task

from etl_bundle.common.dag_defaults import TIMEZONE
from etl_bundle.dfps.operators import ChildrenInCareToDpsOperator, DpsSendSummaryMailOperator

ORACLE_CONN_ID = "dfps_oracle"
SFTP_CONN_ID = "dps_sftp"
WAREHOUSE_CONN_ID = "warehouse_postgres"
SHARE_CONN_ID = "network_share"
REMOTE_DIR_TO_DPS = "to_dps"
EXCHANGE_ASSET = Asset(name="dfps.children_in_care")
PERIOD_PATTERN = r"^FY[0-9]{4}(_Q[1-4])?$"
# Per task: the glue reads nothing (1 min); the exchange moves two small files (30 min, so a
# hung SFTP or share transfer fails and retries, resuming); the mail is one SMTP exchange.
RESOLVE_TIMEOUT = timedelta(minutes=1)
SEND_TIMEOUT = timedelta(minutes=30)
MAIL_TIMEOUT = timedelta(minutes=5)
MIGRATE_TIMEOUT = timedelta(minutes=10)  # the DAGs' default: their migrate_schema task


def period_param() -> Param:
    """The ``period`` Param of the quarterly DFPS DAGs (a new object per DAG)."""
    return Param(
        None,
        type=["null", "string"],
        pattern=PERIOD_PATTERN,
        title="Period",
        description="FY2025_Q2, or FY2025 for a whole year; empty: the run's quarter",
        section="Period",
    )


def year_param() -> Param:
    """The ``period`` Param of the yearly DFPS DAGs."""
    return Param(
        None,
        type=["null", "string"],
        pattern=r"^FY[0-9]{4}$",
        title="Fiscal year",
        description="FY2025; empty: the previous year",
        section="Period",
    )


def force_param(what: str) -> Param:
    """The ``force`` Param: send again what was sent already (off: a plain click skips it)."""
    return Param(
        False,
        type="boolean",
        title="Send again",
        description=f"Send again a {what} already sent (by the bundle or the original scripts); it mails again too",
        section="Safety",
    )


@task(execution_timeout=RESOLVE_TIMEOUT)
def resolve_quarter(**context) -> str:
    """The Param's period, else the fiscal quarter of the run's data interval (glue: TaskFlow).
    Timeout 1 minute: it reads nothing."""
    from etl_bundle.dfps.periods import period_for_run

    return period_for_run(context["params"].get("period"), context.get("data_interval_start"), TIMEZONE)


@task(execution_timeout=RESOLVE_TIMEOUT)
def resolve_previous_year(**context) -> str:
    """The Param's period, else the fiscal year that ended before the run's logical date (glue:
    TaskFlow). Timeout 1 minute: it reads nothing."""
    from etl_bundle.dfps.periods import previous_year_for_run

    return previous_year_for_run(context["params"].get("period"), context.get("logical_date"), TIMEZONE)


def send_to_dps(period) -> ChildrenInCareToDpsOperator:
    """The exchange (``send_to_dps``), followed by its success mail (``mail_send_summary``); the exchange."""
    send = ChildrenInCareToDpsOperator(
        task_id="send_to_dps",
        period=period,
        oracle_conn_id=ORACLE_CONN_ID,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        remote_dir=REMOTE_DIR_TO_DPS,
        outlets=[EXCHANGE_ASSET],
        execution_timeout=SEND_TIMEOUT,
    )
    DpsSendSummaryMailOperator(
        task_id="mail_send_summary",
        summary=send.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        execution_timeout=MAIL_TIMEOUT,
    )
    return send
