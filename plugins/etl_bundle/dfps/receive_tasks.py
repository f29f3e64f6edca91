"""The tasks of dfps_dps_receive and dfps_dps_receive_yearly: one definition, used by both
DAGs. Cheap to import (only ``airflow.sdk``): the work is imported inside each task."""

from __future__ import annotations

from airflow.sdk import Asset, Param, task

from etl_bundle.common.schema_task import migrate_schema
from etl_bundle.dfps.send_tasks import ORACLE_CONN_ID, SFTP_CONN_ID, SHARE_CONN_ID, WAREHOUSE_CONN_ID, run_stamp
from etl_bundle.dfps.sensors import DpsAnswerSensor

REMOTE_DIR_FROM_DPS = "to_dfps"
RECONCILIATION_ASSET = Asset(name="dfps.dps_reconciliation")


@task
def collect_answer(period: str, found: dict, **context) -> dict:
    """Download DPS's files, verify them against what the sensor saw, archive and audit them."""
    from etl_bundle.dfps.receive import collect_answer as collect

    return collect(
        period,
        found,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        remote_dir=REMOTE_DIR_FROM_DPS,
        run_id=context["run_id"],
        stamp=run_stamp(context),
    )


@task(outlets=[RECONCILIATION_ASSET])
def reconcile(period: str, collected: dict, **context) -> dict:
    """The three workbooks to the share and the archive."""
    from airflow.sdk import conf

    from etl_bundle.dfps.receive import reconcile_period

    summary = reconcile_period(
        period,
        collected,
        oracle_conn_id=ORACLE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        stamp=run_stamp(context),
        q4_window=conf.get("dfps_dps", "q4_window", fallback="fiscal_year"),
    )
    context["outlet_events"][RECONCILIATION_ASSET].extra = {"period": period, "files": summary["share_files"]}
    return summary


@task
def load_dps_results(period: str, collected: dict, **context) -> dict:
    """DPS's results into IMPACT and ``caps.load_dfps_msng_person``, one transaction, once per file."""
    from etl_bundle.dfps.receive import load_results

    return load_results(
        period,
        collected,
        oracle_conn_id=ORACLE_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        run_id=context["run_id"],
    )


@task
def notify_stakeholders(summary: dict, **context) -> bool:
    """The stakeholders' notice (counts and where the workbooks are, no attachment), once per period
    unless ``force_notice``; a send whose outcome is unknown (a kill mid-send) is not repeated."""
    from etl_bundle.dfps.receive import notify_stakeholders as notify

    return notify(
        summary,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        run_id=context["run_id"],
        force=bool(context["params"]["force_notice"]),
    )


@task
def remove_from_server(collected: dict) -> dict:
    """Only once the period is reconciled: DPS's files leave the server."""
    from etl_bundle.dfps.receive import remove_answer

    return remove_answer(SFTP_CONN_ID, REMOTE_DIR_FROM_DPS, collected)


@task
def purge_archive(**context) -> dict:
    from etl_bundle.dfps.receive import purge_archive as purge

    return purge(SHARE_CONN_ID, int(context["params"]["archive_retention_days"]), context["dag_run"].start_date)


def answer_params() -> dict[str, Param]:
    """The Params that tune waiting and retention (new objects for each DAG)."""
    return {
        "poke_interval_seconds": Param(600, type="integer", minimum=1),
        "wait_mode": Param(
            "deferrable",
            enum=["deferrable", "reschedule"],
            title="Wait mode",
            description="deferrable: the triggerer waits, no worker slot held; reschedule: a worker pokes",
            section="Waiting",
        ),
        "settle_seconds": Param(10, type="number", minimum=0, description="A file must hold still this long"),
        "min_age_minutes": Param(
            10, type="number", minimum=0, description="A file is taken only once it was last changed this long ago"
        ),
        "counts_tolerance_rows": Param(
            0,
            type="integer",
            minimum=0,
            description="Keep waiting while the counts file's total and the results' rows differ by more",
        ),
        "counts_grace_minutes": Param(60, type="number", minimum=0, description="Then go on without counts"),
        "late_after_hours": Param(6, type="number", minimum=0, description="Email once when DPS is this late"),
        "wait_hours": Param(72, type="number", minimum=0, description="Fail when nothing came by then"),
        "archive_retention_days": Param(365, type="integer", minimum=1),
        "force_notice": Param(
            False,
            type="boolean",
            description="Tell the stakeholders again although the period's notice was sent (or maybe sent)",
        ),
        "reconcile_from_archive": Param(
            False,
            type="boolean",
            description="Reconcile again from the period's archived answer instead of waiting for DPS",
        ),
    }


def receive_answer(period) -> None:
    """Wait → collect → reconcile → load into IMPACT → tell the stakeholders → clean the server → purge,
    for ``period``, in the DAG being defined."""
    answer = DpsAnswerSensor(
        task_id="wait_for_dps_answer",
        period=period,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        remote_dir=REMOTE_DIR_FROM_DPS,
    )
    migrate_schema("dfps", WAREHOUSE_CONN_ID) >> answer
    collected = collect_answer(period, answer.output)
    summary = reconcile(period, collected)
    loaded = load_dps_results(period, collected)
    summary >> loaded
    told = notify_stakeholders(summary)
    loaded >> told >> remove_from_server(collected) >> purge_archive()
