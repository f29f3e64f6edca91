"""
### invoice_demand_refresh

Full refresh of the invoice transactions collector's demand data, daily at 15:25 UTC as
the original's EventBridge rule ran it. Replaces the original's warehouse in place: the
views keep its columns, order, types, row membership, indexes and read-only roles
(README, `## invoice_demand_refresh`, has the differences from the original).

**Tasks:** `migrate_schema` (Alembic over `include/sql/invoice/migrations/`; 0001 adopts the
original's database or creates it; 15 min timeout) → `load_raw_tables`
(`DynamoDBScanToPostgresOperator`) → `check_raw_counts` (`SQLCheckOperator`) →
`refresh_views` (`MaterializedViewRefreshOperator`). Each operator's doc says what it does
and its timeout; the SQL each runs is in the Rendered Template view.

**Reads** (connection `invoice_aws`, DynamoDB; cross-account through `role_arn` in its
extra): `exchange-{source_env}-documents` and `-documents-audit` (parallel scans,
`scan_segments` segments; audit filtered on `actionType = DemandArchived`, with
`payload` projected so archive reason and comment arrive), `-documents-metadata`
and `-templates` (paginated scans). `source_env` is the Param on a manual run, else the
`invoice_source_env` Variable, else `demo` (what the original's deployment read).
The Scan API is driven on `DynamoDBHook(...).client` (the hook has none): paginated to the
last `LastEvaluatedKey`, one thread per segment, pages handed over through a queue of 4
(bounded memory). Throttling is retried by botocore (the connection extra's
`config_kwargs`), then per page up to 8 more times (1, 2, 4, … 30 s plus jitter); any other
scan error fails the task: a partial scan is never loaded.

**Transform** (`etl_bundle.invoice.transforms`, pure): one builder per table, reading
nested values given as maps, JSON strings or DynamoDB-typed (`{"S"|"N"|"M"|"L": …}`);
integers stay integers (a fractional `version` is rejected, not rounded);
`assignedCaseCollaborator` a de-duplicated `text[]` in first-seen order; the last
`DocumentReceived`/`DocumentArchived` status wins; template configs exact JSON.

**Writes** (`warehouse_postgres`): `raw.cases`, `raw.metadata`, `raw.templates`,
`raw.audit` replaced **atomically in one transaction** (DELETE, then binary COPY streamed
page by page from the scans, then a count check, rows built == rows held; readers see
the old rows until commit; any failure leaves all four as they were; streaming into the
targets instead of DESIGN's staging tables gives the same atomicity without writing every
row twice, `benchmarks/bulk_load.py`). Then `check_raw_counts` repeats the count check
after the commit as a check result, and, in one transaction and the original's order,
`REFRESH MATERIALIZED VIEW CONCURRENTLY` of `curated.demands_archived`,
`curated.demands_uploaded`, `curated.verifyplus` (when Verify+'s view is there) and
`analytics.demands_summary` (months in the `invoice_summary_timezone` Variable's zone,
default UTC). The refresh returns each view's rows and the documents the template rule
left out (template id without a template; a "client" template).

**Quarantine:** an item missing a required field, of the wrong type, with malformed JSON,
an attribute over 10,000 characters, or a value Postgres would refuse or wrap (an integer
beyond its column's type, a NUL byte, an unpaired surrogate, NaN/Infinity in JSON, a set or
binary value, nesting beyond 32 levels) goes to `raw.load_rejects` (table, key, field,
reason, raw item as JSON, run id, first seen) on its own connection, so it is kept when the
load rolls back; once per (run, table, key). Rows older than `invoice_reject_retention_days`
(Variable, default 90; they hold personal data) are deleted at the start of each load.
Database errors are logged with class, SQLSTATE, table, column and constraint, never the
row values (`etl_bundle.common.db_errors`).

**Assets:** `warehouse.raw.{cases,metadata,templates,audit}` on the load, each event's
`extra` holding that table's counts (`rows`, `scanned`, `rejected`, `source`);
`warehouse.curated.demands_archived`, `warehouse.curated.demands_uploaded`,
`warehouse.analytics.demands_summary` on the refresh (reporting_seeder waits for these).

**Params:** a source table that yields no row fails the run unless `allow_empty` is set;
more than `max_bad_rows` rejected items in a table fail it, naming table, key and field.
`dry_run` scans, builds and validates, writes nothing, and ends the load task as skipped
with the counts (so no Asset event announces data that did not change).

**Schema** (`include/sql/invoice/migrations/`, Alembic through `migrate_schema`): `0001`
adopts the original's database or creates it on an empty one: raw tables as its DDL (an
adopted table is checked column by column; a missing column is added, another type stops the
migration), `raw.load_rejects`, the five `NOLOGIN` roles if absent with their grants and
default privileges, and the views built beside the old ones (`<view>__new`) and swapped in by
`include/sql/common/swap_matview.sql` in the same transaction (owner, the whole ACL, comment
and surviving extra indexes kept; readers wait on the lock, never see a view missing). The
template rule lives once, in the plain view `etl_invoice.latest_demands`. `curated.verifyplus`
gets `verifyplus_idx ("requestId")` where it exists (and is created where only
`raw.verifyplus` is).

**Production credentials:** `warehouse_postgres` from AWS Secrets Manager through Airflow's
secrets backend (`SecretsManagerBackend`, `connections_prefix` `airflow/connections`; the
original read `PG_SECRET_ARN` itself); the cross-account read (the original assumed
`role/DataScienceCrossAccountDDBAccess`) is `invoice_aws`'s extra: `{"role_arn": "…",
"assume_role_kwargs": {"RoleSessionName": "CrossAccountSession"}, "region_name": "us-east-1"}`.
Both are exercised against moto in `tests/integration/test_invoice_demand_refresh.py`.

**Devstack:** `devstack/originals/invoice.sql` is the original's DDL (its matviews, indexes,
roles, grants, a `raw.verifyplus` stand-in, a few rows); the seed loads it unless the warehouse
is migrated, and fills `exchange-demo-*` (`devstack/invoice_data.py`: every tenth document
with a second version, every fourth archived, three nested shapes, planted bad items).

**Backfill:** refused (`allowed_run_types`: scheduled and manual runs only). Each run is a
full snapshot of the source as of when it runs; rerun it instead. The logical date is not used.
"""

from __future__ import annotations

# Named here so the dag-processor pre-imports it in its parent, once, instead of in every parse's
# child (~0.5 s): etl_bundle.invoice.operators subclasses its SQLCheckOperator.
import airflow.providers.common.sql.operators.sql  # noqa: F401
import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
from etl_bundle.invoice.assets import RAW_ASSETS, VIEW_ASSETS
from etl_bundle.invoice.operators import (
    DynamoDBScanToPostgresOperator,
    InvoiceViewsRefreshOperator,
    RawCountsCheckOperator,
)
from etl_bundle.operators.migrations import SchemaMigrationOperator

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
    # Nothing to backfill: each run is a full snapshot of the source as it stands.
    allowed_run_types=["scheduled", "manual"],
    # execution_timeout: migrate_schema's; each operator below sets its own.
    default_args=default_args(
        retries=2, retry_delay=pendulum.duration(minutes=5), execution_timeout=pendulum.duration(minutes=15)
    ),
    on_failure_callback=run_failure_alert(),
    description="Daily full refresh: 4 DynamoDB tables → Postgres raw.* atomically, then the demand views",
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    params={
        "source_env": Param(
            None,
            type=["null", "string"],
            pattern="^[a-z0-9-]+$",
            title="Source environment",
            description="Reads exchange-{source_env}-*; empty: the invoice_source_env Variable (else demo)",
            section="Source",
        ),
        "scan_segments": Param(
            4,
            type="integer",
            minimum=1,
            maximum=64,
            title="Scan segments",
            description="Parallel Scan segments for the documents and audit tables",
            section="Source",
        ),
        "page_size": Param(
            1000,
            type="integer",
            minimum=1,
            maximum=10000,
            title="Page size",
            description="Items per Scan page",
            section="Source",
        ),
        "max_bad_rows": Param(
            100,
            type="integer",
            minimum=0,
            title="Max bad rows",
            description="Rejected items allowed per table before the load fails (nothing changes)",
            section="Limits",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Scan, build and validate; write nothing (the load ends skipped with the counts)",
            section="Safety",
        ),
        "allow_empty": Param(
            False,
            type="boolean",
            title="Allow empty",
            description="Let an empty source table empty its target (else the run fails, nothing changes)",
            section="Safety",
        ),
    },
    tags=["invoice", "dynamodb", "postgres"],
    doc_md=__doc__,
):
    load = DynamoDBScanToPostgresOperator(
        task_id="load_raw_tables",
        aws_conn_id=AWS_CONN_ID,
        postgres_conn_id=WAREHOUSE_CONN_ID,
        source_env="{{ params.source_env or '' }}",
        scan_segments="{{ params.scan_segments }}",
        page_size="{{ params.page_size }}",
        dry_run="{{ params.dry_run }}",
        max_bad_rows="{{ params.max_bad_rows }}",
        allow_empty="{{ params.allow_empty }}",
        outlets=RAW_ASSETS,
        execution_timeout=pendulum.duration(hours=1),
    )
    check = RawCountsCheckOperator(
        task_id="check_raw_counts",
        conn_id=WAREHOUSE_CONN_ID,
        sql="invoice/check_raw_counts.sql",
        load_task_id="load_raw_tables",
        execution_timeout=pendulum.duration(minutes=10),
    )
    refresh = InvoiceViewsRefreshOperator(
        task_id="refresh_views",
        conn_id=WAREHOUSE_CONN_ID,
        outlets=VIEW_ASSETS,
        execution_timeout=pendulum.duration(minutes=30),
    )

    SchemaMigrationOperator(pipeline="invoice", postgres_conn_id=WAREHOUSE_CONN_ID) >> load >> check >> refresh
