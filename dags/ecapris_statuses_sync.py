"""
### ecapris_statuses_sync

eCapris subproject statuses from the FSD finance data warehouse (Oracle) to Moped,
through Moped's Hasura GraphQL API, **every 30 minutes** (Moped's UI promises it).

**Reads:** Moped's distinct `ecapris_subproject_id`s of non-deleted projects with
`should_sync_ecapris_statuses` on (`moped_hasura`); their statuses from
`ATD_SUB_PROJECT_STATUS_VW` (`ecapris_oracle`), bound in batches of ids; Moped's current
copy of those statuses.

**Writes:** `ecapris_subproject_statuses` in Moped through
`insert_ecapris_subproject_statuses(on_conflict: subproject_status_id_key)`, **only new
and changed statuses** (Moped's `updated_at` trigger fires on every upsert), in batches
of `batch_size`. `subproject_name` and `review_timestamp` keep their first values, as in
the original. Rows that cannot be sent (a required field missing, a bad flag or date)
go to `staging.ecapris_status_rejects` in the warehouse with the field and reason, once
per bad row (first and last seen, by which runs, how often); a row no run has seen for
`quarantine_retention_days` is purged (its source row holds reviewers' names and emails).

**Transform:** review dates are Central wall times sent as ISO 8601 with their offset
(DST-correct); double-encoded text (mojibake) is repaired; the current flag is a boolean.

**Params:** `dry_run` reads both sides and logs what would change, sending nothing;
`respect_sync_flag` off syncs every project with an id (the original's behaviour);
`batch_size` is ids per Oracle query and statuses per mutation;
`quarantine_retention_days` (30) how long a quarantined row no run has seen again is kept.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, task

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
from etl_bundle.common.schema_task import migrate_schema

HASURA_CONN_ID = "moped_hasura"
ORACLE_CONN_ID = "ecapris_oracle"
WAREHOUSE_CONN_ID = "warehouse_postgres"
STATUSES_ASSET = Asset(name="moped.ecapris_subproject_statuses")

with DAG(
    dag_id="ecapris_statuses_sync",
    schedule=CronTriggerTimetable("*/30 * * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(minutes=25),
    default_args=default_args(retries=2, retry_delay=pendulum.duration(minutes=1)),
    on_failure_callback=run_failure_alert(),
    params={
        "dry_run": Param(False, type="boolean", description="Read and compare only; send nothing"),
        "respect_sync_flag": Param(True, type="boolean", description="Only projects with statuses sync on"),
        "batch_size": Param(
            200, type="integer", minimum=1, maximum=1000, description="Ids per Oracle query, statuses per mutation"
        ),
        "quarantine_retention_days": Param(
            30,
            type="integer",
            minimum=1,
            description="Days a quarantined row (reviewers' names and emails) is kept after a run last saw it",
        ),
    },
    tags=["moped", "hasura", "oracle"],
    doc_md=__doc__,
):

    @task
    def list_subprojects(**context) -> dict:
        from etl_bundle.ecapris.sync import list_subprojects

        return list_subprojects(HASURA_CONN_ID, respect_sync_flag=context["params"]["respect_sync_flag"])

    # The plan carries every status to send: too long for the log, kept in XCom only.
    @task(show_return_value_in_logs=False)
    def plan_changes(subprojects: dict, **context) -> dict:
        from etl_bundle.ecapris.sync import plan_sync

        params = context["params"]
        return plan_sync(
            subprojects,
            oracle_conn_id=ORACLE_CONN_ID,
            hasura_conn_id=HASURA_CONN_ID,
            warehouse_conn_id=WAREHOUSE_CONN_ID,
            batch_size=params["batch_size"],
            run_id=context["run_id"],
            dry_run=params["dry_run"],
            retention_days=params["quarantine_retention_days"],
        )

    @task(outlets=[STATUSES_ASSET])
    def upsert_statuses(planned: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from etl_bundle.ecapris.sync import send_changes

        params = context["params"]
        if params["dry_run"]:
            raise AirflowSkipException(f"dry run: nothing sent; planned {planned['summary']}")
        return send_changes(planned, hasura_conn_id=HASURA_CONN_ID, batch_size=params["batch_size"])

    planned = plan_changes(list_subprojects())
    migrate_schema("ecapris", WAREHOUSE_CONN_ID) >> planned
    upsert_statuses(planned)
