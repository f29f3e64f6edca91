"""The tasks of dfps_dps_send and dfps_dps_send_yearly: one definition, used by both DAGs.

Cheap to import (only ``airflow.sdk``): the work is imported inside each task.
"""

from __future__ import annotations

from airflow.sdk import Asset, Param, task

from etl_bundle.common.dag_defaults import TIMEZONE

ORACLE_CONN_ID = "dfps_oracle"
SFTP_CONN_ID = "dps_sftp"
WAREHOUSE_CONN_ID = "warehouse_postgres"
SHARE_CONN_ID = "network_share"
REMOTE_DIR_TO_DPS = "to_dps"
EXCHANGE_ASSET = Asset(name="dfps.children_in_care")
PERIOD_PATTERN = r"^FY[0-9]{4}(_Q[1-4])?$"


def period_param() -> Param:
    """The ``period`` Param of the quarterly DFPS DAGs (a new object per DAG)."""
    return Param(
        None,
        type=["null", "string"],
        pattern=PERIOD_PATTERN,
        description="FY2025_Q2, or FY2025 for a whole year; empty: the run's quarter",
    )


def year_param() -> Param:
    """The ``period`` Param of the yearly DFPS DAGs."""
    return Param(None, type=["null", "string"], pattern=r"^FY[0-9]{4}$", description="FY2025; empty: the previous year")


def run_stamp(context) -> str:
    """The run's timestamp in file names, ``YYYYmmdd_HHMMSS`` in Central time as the original's
    local clock: the run's start, so every retry names files alike."""
    import pendulum

    return pendulum.instance(context["dag_run"].start_date).in_timezone(TIMEZONE).strftime("%Y%m%d_%H%M%S")


@task
def resolve_quarter(**context) -> str:
    """The Param's period, else the fiscal quarter of the run's data interval."""
    from etl_bundle.dfps.periods import period_for_run

    return period_for_run(context["params"].get("period"), context.get("data_interval_start"), TIMEZONE)


@task
def resolve_previous_year(**context) -> str:
    """The Param's period, else the fiscal year that ended before the run's logical date."""
    from etl_bundle.dfps.periods import previous_year_for_run

    return previous_year_for_run(context["params"].get("period"), context.get("logical_date"), TIMEZONE)


@task(outlets=[EXCHANGE_ASSET])
def send_to_dps(period: str, **context) -> dict:
    from etl_bundle.dfps.send import send_period

    summary = send_period(
        period,
        oracle_conn_id=ORACLE_CONN_ID,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        remote_dir=REMOTE_DIR_TO_DPS,
        run_id=context["run_id"],
        stamp=run_stamp(context),
        force=context["params"]["force"],
    )
    context["outlet_events"][EXCHANGE_ASSET].extra = {"period": period, "sha256": summary["sha256"]}
    return summary
