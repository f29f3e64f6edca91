"""
### reporting_seeder

Refreshes the reporting materialized views named in the original's Django manifest
tables (`reporting.seeder_custom_report_manifest` where `enabled`,
`reporting.seeder_canned_report` + `reporting.seeder_canned_report_manifest`), **daily
at 02:00 Central** and whenever the invoice pipeline has refreshed its views (the
Assets it emits).

**Schema:** `migrate_schema` applies `include/sql/reporting/migrations/` (Alembic,
under a lock); 0001 adopts the Django tables as they are, adding only `query_hash`,
`action`, the canned reports' record tables and the breaker's.

**Per view** (one mapped task each, each view once per run, at most as many at once
as the `reporting_seeder` pool has slots): create it if missing; rebuild it beside
the old one and swap them in one transaction when its manifest query changed since
the last build; else `REFRESH ... CONCURRENTLY` when a unique index allows it, else a
plain refresh; then `ANALYZE`. A manifest query must be one read-only SELECT of the
report sources: it runs as the `reporting_seeder_reader` role, and any other query is
recorded `rejected` (naming the manifest row and field `query`), never run. Every task
try is one history row (`running`, then `success`, `error` or `rejected`; a row left
`running` by a killed task is closed `abandoned` at the next start): custom views in
`reporting.seeder_run_history` /
`seeder_job_status` (the Django app's), canned views in
`reporting.seeder_canned_run_history` / `seeder_canned_job_status`.

**Circuit breaker** shared by all tasks and runs (`reporting.seeder_circuit_breaker`):
after `max_failures` consecutive view failures, views are skipped (recorded as
`skipped`) until `reset_seconds` have passed. The run fails, naming the views, when
any view failed or was skipped.

**Params** reproduce the original's jobs: `scope` all / agency (`agency_slug`, with
the shared entries) / table (`table_name`), and `report_type` all / custom / canned.
Nothing to backfill: each run refreshes the views as their sources stand. Details and
the differences from the original: README, `## reporting_seeder`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, Param, task

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
from etl_bundle.common.schema_task import migrate_schema
from etl_bundle.invoice.assets import VIEW_ASSETS
from etl_bundle.reporting.manifest import AGENCY_SLUG_PATTERN, REPORT_TYPES, SCOPES, TABLE_NAME_PATTERN

WAREHOUSE_CONN_ID = "warehouse_postgres"
POOL = "reporting_seeder"

with DAG(
    dag_id="reporting_seeder",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * *", timezone=TIMEZONE), assets=AssetAll(*VIEW_ASSETS)
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=3),
    default_args=default_args(retries=1, retry_delay=pendulum.duration(minutes=1)),
    on_failure_callback=run_failure_alert(),
    params={
        "scope": Param("all", enum=list(SCOPES), description="all views, one agency's, or one table"),
        "agency_slug": Param(
            None, type=["null", "string"], pattern=AGENCY_SLUG_PATTERN, description="for scope agency"
        ),
        "table_name": Param(
            None, type=["null", "string"], pattern=TABLE_NAME_PATTERN, description="schema.table, for scope table"
        ),
        "report_type": Param("all", enum=list(REPORT_TYPES)),
        "max_failures": Param(
            None, type=["null", "integer"], minimum=1, description="breaker limit; else Variable SEEDER_MAX_FAILURES, 5"
        ),
        "reset_seconds": Param(
            None, type=["null", "integer"], minimum=0, description="breaker cool-down; else SEEDER_RESET_SECONDS, 300"
        ),
    },
    tags=["reporting", "postgres"],
    doc_md=__doc__,
):

    @task
    def plan_views(**context) -> list[dict]:
        from etl_bundle.reporting.tasks import plan

        return plan(WAREHOUSE_CONN_ID, context["params"])

    @task(pool=POOL, map_index_template="{{ view_table_name }}")
    def refresh_view(view: dict) -> dict:
        from airflow.sdk import get_current_context

        from etl_bundle.reporting.tasks import refresh_one

        context = get_current_context()
        context["view_table_name"] = view["table_name"]  # names the mapped instance in the UI
        return refresh_one(WAREHOUSE_CONN_ID, view, context["run_id"])

    # Runs after every view was attempted, whatever their outcome; a skipped view must
    # not skip it (so not all_done_min_one_success). When planning failed it fails too.
    @task(trigger_rule="all_done", retries=0)
    def check_outcome(planned: list[dict], **context) -> dict:
        from etl_bundle.reporting.tasks import check_outcome

        return check_outcome(WAREHOUSE_CONN_ID, planned, context["run_id"])

    planned = plan_views()
    migrate_schema("reporting", WAREHOUSE_CONN_ID) >> planned
    refresh_view.expand(view=planned) >> check_outcome(planned)
