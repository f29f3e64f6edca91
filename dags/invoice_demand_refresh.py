"""
### invoice_demand_refresh

Full refresh of the invoice transactions collector's demand data, daily at 15:25 UTC as
the original's EventBridge rule ran it. Replaces the original's warehouse in place: the
views keep its columns, order, types, row membership, indexes and read-only roles
(README, `## invoice_demand_refresh`, has the differences from the original).

**Tasks:** `migrate_schema` (Alembic over `include/sql/invoice/migrations/`; 0001 adopts the
original's database or creates it) → `load_raw_tables` → `refresh_views`.

**Reads** (connection `invoice_aws`, DynamoDB; cross-account through `role_arn` in its
extra): `exchange-{source_env}-documents` and `-documents-audit` (parallel scans,
`scan_segments` segments; audit filtered on `actionType = DemandArchived`, with
`payload` projected so archive reason and comment arrive), `-documents-metadata`
and `-templates` (paginated scans). `source_env` is the Param on a manual run, else the
`invoice_source_env` Variable, else `demo` (what the original's deployment read).

**Writes** (`warehouse_postgres`): `raw.cases`, `raw.metadata`, `raw.templates`,
`raw.audit` replaced **atomically in one transaction** (DELETE, then COPY streamed
page by page from the scans; readers see the old rows until commit; any failure
leaves all four as they were), items that fail validation in `raw.load_rejects`
(table, key, field, reason, raw item, run id, first seen; once per run and key, kept
`invoice_reject_retention_days` days, default 90), then, in one transaction and the
original's order, `REFRESH MATERIALIZED VIEW CONCURRENTLY` of `curated.demands_archived`,
`curated.demands_uploaded`, `curated.verifyplus` (when Verify+'s `raw.verifyplus` is
there) and `analytics.demands_summary` (months in the `invoice_summary_timezone`
Variable's zone, default UTC). The refresh returns each view's rows and the documents the
template rule left out (template id without a template; a "client" template). Emits an
Asset per raw table and per demand view.

A source table that yields no row fails the run unless `allow_empty` is set;
more than `max_bad_rows` rejected items in a table fail it, naming table, key and
field. `dry_run` scans, builds and validates, writes nothing, and ends the load
task as skipped with the counts (so no Asset event announces data that did not change).

**Backfill:** there is nothing to backfill — each run is a full snapshot of the
source as of when it runs; rerun it instead. The logical date is not used.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param, task

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
from etl_bundle.common.schema_task import migrate_schema
from etl_bundle.invoice.assets import RAW_ASSETS, VIEW_ASSETS

WAREHOUSE_CONN_ID = "warehouse_postgres"
AWS_CONN_ID = "invoice_aws"

with DAG(
    dag_id="invoice_demand_refresh",
    # The original's EventBridge rule: cron(25 15 * * ? *), UTC.
    schedule=CronTriggerTimetable("25 15 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=3),
    default_args=default_args(retries=2, retry_delay=pendulum.duration(minutes=5)),
    on_failure_callback=run_failure_alert(),
    params={
        "source_env": Param(
            None,
            type=["null", "string"],
            pattern="^[a-z0-9-]+$",
            description="exchange-{source_env}-*; empty: the invoice_source_env Variable (else demo)",
        ),
        "scan_segments": Param(4, type="integer", minimum=1, maximum=64),
        "page_size": Param(1000, type="integer", minimum=1, maximum=10000, description="Items per Scan page"),
        "dry_run": Param(False, type="boolean", description="Scan, build and validate; write nothing"),
        "max_bad_rows": Param(100, type="integer", minimum=0, description="Rejected items allowed per table"),
        "allow_empty": Param(False, type="boolean", description="Let an empty source table empty its target"),
    },
    tags=["invoice", "dynamodb", "postgres"],
    doc_md=__doc__,
):

    @task(outlets=RAW_ASSETS)
    def load_raw_tables(**context) -> dict:
        from airflow.sdk import Variable

        from etl_bundle.invoice.load import load_raw_tables, reject_retention_days
        from etl_bundle.invoice.transforms import resolve_source_env

        params = context["params"]
        source_env = resolve_source_env(params["source_env"], Variable.get("invoice_source_env", default=None))
        return load_raw_tables(
            aws_conn_id=AWS_CONN_ID,
            pg_conn_id=WAREHOUSE_CONN_ID,
            source_env=source_env,
            segments=params["scan_segments"],
            page_size=params["page_size"],
            run_id=context["run_id"],
            dry_run=params["dry_run"],
            max_bad_rows=params["max_bad_rows"],
            allow_empty=params["allow_empty"],
            reject_retention_days=reject_retention_days(Variable.get("invoice_reject_retention_days", default=None)),
        )

    @task(outlets=VIEW_ASSETS)
    def refresh_views() -> dict:
        from airflow.sdk import Variable

        from etl_bundle.invoice.load import refresh_views

        return refresh_views(
            WAREHOUSE_CONN_ID, summary_timezone=Variable.get("invoice_summary_timezone", default="UTC")
        )

    migrate_schema("invoice", WAREHOUSE_CONN_ID) >> load_raw_tables() >> refresh_views()
