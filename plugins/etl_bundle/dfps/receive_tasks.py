"""The tasks of dfps_dps_receive and dfps_dps_receive_yearly: one definition, used by both
DAGs. Cheap to import (only ``airflow.sdk``): the work is imported inside each task.

Every step that writes (the archive, the share, IMPACT, the mail records, DPS's server) is an
operator of ``etl_bundle.dfps.operators``; TaskFlow keeps only the glue (picking the period).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, Param

from etl_bundle.common.wait_mode import wait_mode_param
from etl_bundle.dfps.operators import (
    DpsAnswerCollectOperator,
    DpsAnswerRemoveOperator,
    DpsArchivePurgeOperator,
    DpsReconciliationOperator,
    DpsResultsLoadOperator,
    DpsStakeholderNoticeOperator,
)
from etl_bundle.dfps.send_tasks import ORACLE_CONN_ID, SFTP_CONN_ID, SHARE_CONN_ID, WAREHOUSE_CONN_ID
from etl_bundle.dfps.sensors import DpsAnswerSensor
from etl_bundle.operators.migrations import SchemaMigrationOperator

REMOTE_DIR_FROM_DPS = "to_dfps"
RECONCILIATION_ASSET = Asset(name="dfps.dps_reconciliation")


def answer_params() -> dict[str, Param]:
    """The Params that tune waiting and retention (new objects for each DAG); the defaults are the
    scheduled run's."""
    return {
        "poke_interval_seconds": Param(
            600,
            type="integer",
            minimum=1,
            title="Poke interval (seconds)",
            description="How often DPS's TO_DFPS folder is listed while waiting",
            section="Waiting",
        ),
        "wait_mode": wait_mode_param(),
        "settle_seconds": Param(
            10,
            type="number",
            minimum=0,
            title="Settle time (seconds)",
            description="A file must hold still this long",
            section="Waiting",
        ),
        "min_age_minutes": Param(
            10,
            type="number",
            minimum=0,
            title="Minimum file age (minutes)",
            description="A file is taken only once it was last changed this long ago",
            section="Waiting",
        ),
        "counts_tolerance_rows": Param(
            0,
            type="integer",
            minimum=0,
            title="Counts tolerance (rows)",
            description="Keep waiting while the counts file's total and the results' rows differ by more",
            section="Waiting",
        ),
        "counts_grace_minutes": Param(
            60,
            type="number",
            minimum=0,
            title="Counts grace (minutes)",
            description="Then go on without counts",
            section="Waiting",
        ),
        "late_after_hours": Param(
            6,
            type="number",
            minimum=0,
            title="Late after (hours)",
            description="Email once when DPS is this late",
            section="Waiting",
        ),
        "wait_hours": Param(
            72,
            type="number",
            minimum=0,
            title="Give up after (hours)",
            description="Fail when nothing came by then",
            section="Waiting",
        ),
        "archive_retention_days": Param(
            365,
            type="integer",
            minimum=1,
            title="Archive retention (days)",
            description="Archived copies older than this are deleted at the end of the run",
            section="Limits",
        ),
        "force_notice": Param(
            False,
            type="boolean",
            title="Send the notice again",
            description="Tell the stakeholders again although the period's notice was sent (or maybe sent)",
            section="Safety",
        ),
        "reconcile_from_archive": Param(
            False,
            type="boolean",
            title="Reconcile from the archive",
            description="Reconcile again from the period's archived answer instead of waiting for DPS",
            section="Safety",
        ),
    }


def receive_answer(period) -> None:
    """Wait → collect → reconcile → load into IMPACT → tell the stakeholders → clean the server → purge,
    for ``period``, in the DAG being defined. Each task's timeout is per try and says in its doc why."""
    answer = DpsAnswerSensor(
        task_id="wait_for_dps_answer",
        period=period,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        remote_dir=REMOTE_DIR_FROM_DPS,
        # Per poke (reschedule mode: each poke is its own try); the wait's own limit is wait_hours.
        execution_timeout=timedelta(minutes=15),
        doc_md=(
            "Waits (reschedule mode) for this period's DPS results and counts files in `to_dfps`, settled and "
            "old enough; emails once when DPS is late; fails after `wait_hours`. Each poke has 15 minutes "
            "(a hung listing fails and the next poke retries)."
        ),
    )
    SchemaMigrationOperator(pipeline="dfps", postgres_conn_id=WAREHOUSE_CONN_ID) >> answer
    collected = DpsAnswerCollectOperator(
        task_id="collect_answer",
        period=period,
        found=answer.output,
        sftp_conn_id=SFTP_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        remote_dir=REMOTE_DIR_FROM_DPS,
        execution_timeout=timedelta(minutes=30),
    )
    summary = DpsReconciliationOperator(
        task_id="reconcile",
        period=period,
        collected=collected.output,
        oracle_conn_id=ORACLE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        outlets=[RECONCILIATION_ASSET],
        execution_timeout=timedelta(minutes=30),
    )
    loaded = DpsResultsLoadOperator(
        task_id="load_dps_results",
        period=period,
        collected=collected.output,
        oracle_conn_id=ORACLE_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        execution_timeout=timedelta(minutes=30),
    )
    summary >> loaded
    told = DpsStakeholderNoticeOperator(
        task_id="notify_stakeholders",
        summary=summary.output,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        share_conn_id=SHARE_CONN_ID,
        execution_timeout=timedelta(minutes=10),
    )
    removed = DpsAnswerRemoveOperator(
        task_id="remove_from_server",
        collected=collected.output,
        sftp_conn_id=SFTP_CONN_ID,
        remote_dir=REMOTE_DIR_FROM_DPS,
        execution_timeout=timedelta(minutes=10),
    )
    purged = DpsArchivePurgeOperator(
        task_id="purge_archive", share_conn_id=SHARE_CONN_ID, execution_timeout=timedelta(minutes=30)
    )
    loaded >> told >> removed >> purged
