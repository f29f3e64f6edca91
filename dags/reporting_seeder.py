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
Nothing to backfill (`allowed_run_types` refuses backfills): each run refreshes the
views as their sources stand. The differences from the original: README, `## reporting_seeder`.

**Tasks:** `migrate_schema` → `plan_views` (`ReportingPlanOperator`: reads the
manifest, picks what to map over, grants the reader its sources) → `refresh_view`
(`ReportingViewRefreshOperator`, mapped, one per view, named by its table) →
`check_outcome` (TaskFlow summary: fails the run naming each failed, rejected,
skipped or never-run view) and `check_no_view_emptied` (`ReportingEmptiedViewsCheckOperator`,
the provider's SQL check: fails naming each view refreshed empty where its previous
successful refresh had rows; Param `allow_emptied_views` for the original's behaviour).

#### Details

- **Tables**: the original's Django models (bms_reporting, reference §4.1) are the
  schema. `include/sql/reporting/migrations/0001_adopt_django_tables.sql` creates each
  of them, as Django 4.2 would (varchar(255)/(64), nullable job-status fields, no
  DB-side defaults, foreign keys `DEFERRABLE INITIALLY DEFERRED` with an index each,
  `public.agency` only if absent), **only where it is missing**: on the original's
  database it changes no column. It adds `seeder_job_status.query_hash` and
  `seeder_run_history.action` (nullable, no default, so the app's inserts are
  unchanged), an index on `seeder_run_history (run_id)` (built in the migration's
  transaction: on a very large history, create it `CONCURRENTLY` first and the
  migration skips it), the canned reports' record tables and the breaker's
  `seeder_circuit_breaker` / `seeder_breaker_failures`. Applied by `migrate_schema`
  (`etl_bundle.common.migrations`, version in `etl_migrations.reporting`).
- **Where rows go**: the Django history and job status hold `manifest_id` NOT NULL
  referencing the **custom** manifest and an `agency_id` referencing one agency. So
  custom views are recorded there, under the entry the view is built from (its
  manifest and agency); canned views in `seeder_canned_run_history` /
  `seeder_canned_job_status` (the same columns; `manifest_id` the canned manifest's,
  agency and slug NULL when several agencies' manifests name the view; foreign keys
  `ON DELETE SET NULL`, so the app deleting a manifest or agency still works).
- **Selection** (`etl_bundle.reporting.manifest`, pure): custom entries with
  `enabled`, every canned manifest row (the model has no `enabled`). Params: `scope` =
  `all` | `agency` (`agency_slug`; its own entries **and** NULL-slug ones where a
  database allows them) | `table` (`table_name`, checked against `schema.table` by
  the Param's pattern); `report_type` = `all` | `custom` | `canned`. A slug or table
  that no entry names fails `plan_views` at once. Each view is refreshed once per
  run, however many agencies' manifests name it; a custom entry wins over a canned
  report of the same table name.
- **Per view** (`etl_bundle.reporting.views`, one transaction, `statement_timeout`
  and `lock_timeout` from `[reporting_seeder] statement_timeout_seconds` (1800) and
  `lock_timeout_seconds` (60)): missing → `CREATE MATERIALIZED VIEW`; its manifest
  query's SHA-256 differs from the one stored at the last successful build (or
  none is stored, as for the original's views) → **rebuild** beside the old one
  (`<name>__seeder_new`, indexes and grants copied), then drop + rename in the same
  transaction under an advisory lock; otherwise `REFRESH … CONCURRENTLY` when a valid
  unique index allows it, else a plain `REFRESH`; then `ANALYZE`, rows and size.
- **The manifest's query** (`etl_bundle.reporting.query_check`, sqlglot in the Postgres
  dialect) must be exactly one `SELECT` (or `WITH … SELECT`, set operations): several
  statements, DDL/DML/`COPY`, a data-modifying CTE, `SELECT INTO` or `FOR UPDATE/SHARE`
  are refused before anything runs, as is a relation it reads that is missing or not a
  report source. Behind the parser, two more guards: the statement holding the query is
  sent with the extended protocol (the server refuses a second statement), and the query
  runs as `reporting_seeder_reader` (`SET LOCAL ROLE`; NOLOGIN, created by migration 0002,
  the seeder's role a member), which may read only the sources and create in `reporting`.
  A build (create or rebuild) runs the query as that role, then `ALTER … OWNER TO
  CURRENT_USER` gives the view to the seeder's role, as the original's views were owned
  (grants and indexes copied as before). A `REFRESH` runs a view's stored query as the
  view's owner (Postgres's rule), so the reader's privileges are first checked by
  `EXPLAIN` under that role. Sources: `plan_views` grants the reader `SELECT` on every
  table of `[reporting_seeder] source_schemas` (default `reporting_src`, with default
  privileges for tables created later) and on `source_tables` (default `public.agency`;
  not all of `public`, where the application keeps its own tables); sources elsewhere
  are granted by their owners. Such a row is recorded **`rejected`** (history and job
  status, `consecutive_failures` + 1), named in the error as `custom manifest 1301
  (agency metropolis, view reporting.x), field query: <why>`, counted by the breaker as
  that view's failure (a broken manifest is a failing view; five of them open it as five
  failing views would), not retried, and listed by `check_outcome` (`rejected` in its
  summary). A class-42 refusal by the server (syntax, privilege, unknown column) is
  `rejected` too.
- **History and status**, on their own autocommit connection, as the original writes
  them: an attempt inserts a `running` history row and sets job status `running`
  (creating it with `duration_seconds` 0); it ends `success` (duration, rows, bytes,
  action, `consecutive_failures` 0, `last_errors` NULL) or `error` (the database error as
  `etl_bundle.common.db_errors.describe` tells it: class, SQLSTATE, table, column,
  constraint, type and the primary message with quoted values replaced by `…`; never
  DETAIL, CONTEXT or a row's value; logs and exceptions carry the same text;
  `consecutive_failures` + 1 on both, the last duration kept). **An attempt
  is one task try**: an Airflow retry is a new history row, as each retry of the
  original's job was. `consecutive_failures` carries over from job status, so it
  counts failed tries across runs until a success. Memory and CPU columns stay NULL.
- **Circuit breaker** (`etl_bundle.common.circuit_breaker`, pure rules; state in one
  row under a row lock, the database's clock): opens after `max_failures`
  consecutive view failures (Param, else Variable `SEEDER_MAX_FAILURES`, else 5),
  half-opens after `reset_seconds` (Param, else `SEEDER_RESET_SECONDS`, else 300); a
  success closes it. A view's failure counts **once per run** however many tries.
  While it is open each view is skipped and recorded with status `skipped`.
- **Errors**: a connection loss, lock or statement timeout or deadlock is retried
  (one retry; raised as `db_errors.DatabaseError`, not chained to psycopg's error);
  any other error fails the view's task at once.
- **Abandoned attempts**: an attempt's session holds an advisory lock while it runs,
  and its statements check every 2 s that the client is still there
  (`client_connection_check_interval`), so a killed task's refresh is rolled back within
  seconds. A history row left `running` whose lock is free (its task was killed or lost
  its worker) is closed **`abandoned`** (`consecutive_failures` + 1, job status too when it
  still shows that attempt) at the next run's start (`plan_views`, every view) and before
  a view's next try; the breaker counts it as that view's failure in the killed run. `check_outcome` runs
  after every view (`all_done`) and **fails the run** naming each failed, skipped or
  never-run view.
- **Parallelism**: the `reporting_seeder` pool's slots (8; change them at runtime
  with `airflow pools set reporting_seeder N "…"`).

The devstack seed loads the original's database (`devstack/originals/reporting.sql`:
its agency, canned reports 100–104 with manifests, custom manifests 300–302, two
views it built and the history and job status its SQL mode wrote) unless the
warehouse is already migrated, then adds the demo beside it (ids from 1000, removed
and re-added by a re-seed with their run state): four agencies, 100× `--size`
incidents, canned reports named by several agencies, one named by none, a disabled
custom entry, and one view created by hand with a unique index and a grant to
`reporting_reader` (the first run rebuilds it keeping both; later runs refresh it
concurrently).
"""

from __future__ import annotations

# Named here so the dag-processor pre-imports it in its parent, once, instead of in every parse's
# child: etl_bundle.reporting.operators subclasses its SQLCheckOperator.
import airflow.providers.common.sql.operators.sql  # noqa: F401
import pendulum
from airflow.sdk import DAG, AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, Param, task

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
from etl_bundle.invoice.assets import VIEW_ASSETS
from etl_bundle.operators.migrations import SchemaMigrationOperator
from etl_bundle.reporting.manifest import AGENCY_SLUG_PATTERN, REPORT_TYPES, SCOPES, TABLE_NAME_PATTERN
from etl_bundle.reporting.operators import (
    ReportingEmptiedViewsCheckOperator,
    ReportingPlanOperator,
    ReportingViewRefreshOperator,
)

WAREHOUSE_CONN_ID = "warehouse_postgres"
POOL = "reporting_seeder"

with DAG(
    dag_id="reporting_seeder",
    description="Refreshes the reporting materialized views the manifest names, daily and after the invoice views",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * *", timezone=TIMEZONE), assets=AssetAll(*VIEW_ASSETS)
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    # Nothing to backfill: a run refreshes the views as their sources stand now.
    allowed_run_types=["scheduled", "manual", "asset_triggered"],
    dagrun_timeout=pendulum.duration(hours=3),
    # migrate_schema takes this default: a migration blocked on a lock fails within 5 minutes.
    default_args=default_args(
        retries=1, retry_delay=pendulum.duration(minutes=1), execution_timeout=pendulum.duration(minutes=5)
    ),
    on_failure_callback=run_failure_alert(),
    params={
        "scope": Param(
            "all",
            enum=list(SCOPES),
            values_display={"all": "All views", "agency": "One agency's views", "table": "One view"},
            title="Scope",
            description="Every view, one agency's (with the shared ones), or one table",
            section="Selection",
        ),
        "agency_slug": Param(
            None,
            type=["null", "string"],
            pattern=AGENCY_SLUG_PATTERN,
            title="Agency slug",
            description="The agency, for scope agency",
            section="Selection",
        ),
        "table_name": Param(
            None,
            type=["null", "string"],
            pattern=TABLE_NAME_PATTERN,
            title="Table name",
            description="schema.table of the view, for scope table",
            section="Selection",
        ),
        "report_type": Param(
            "all",
            enum=list(REPORT_TYPES),
            values_display={"all": "Custom and canned", "custom": "Custom reports", "canned": "Canned reports"},
            title="Report type",
            description="Which manifest's views: the custom manifest, the canned reports, or both",
            section="Selection",
        ),
        "max_failures": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Breaker limit",
            description="Consecutive view failures that open the breaker; empty: Variable SEEDER_MAX_FAILURES, else 5",
            section="Circuit breaker",
        ),
        "reset_seconds": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            title="Breaker cool-down (seconds)",
            description="Seconds the open breaker skips views; empty: Variable SEEDER_RESET_SECONDS, else 300",
            section="Circuit breaker",
        ),
        "allow_emptied_views": Param(
            False,
            type="boolean",
            title="Allow emptied views",
            description="Let the run succeed when a view that had rows is refreshed empty (the original's behaviour)",
            section="Safety",
        ),
    },
    tags=["reporting", "postgres"],
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    doc_md=__doc__,
):
    planned = ReportingPlanOperator(
        task_id="plan_views", conn_id=WAREHOUSE_CONN_ID, execution_timeout=pendulum.duration(minutes=5)
    ).output
    refreshed = ReportingViewRefreshOperator.partial(
        task_id="refresh_view",
        conn_id=WAREHOUSE_CONN_ID,
        pool=POOL,
        map_index_template="{{ view_table_name }}",
        execution_timeout=pendulum.duration(minutes=45),
        doc_md=ReportingViewRefreshOperator.task_doc(),
    ).expand(view=planned)

    # Runs after every view was attempted, whatever their outcome; a skipped view must
    # not skip it (so not all_done_min_one_success). When planning failed it fails too.
    @task(trigger_rule="all_done", retries=0, execution_timeout=pendulum.duration(minutes=2))
    def check_outcome(planned: list[dict], **context) -> dict:
        """Fail the run, naming the views, when any view failed, was rejected, skipped or never ran.

        A summary over the run's history rows, so TaskFlow. Times out after 2 minutes.
        """
        from etl_bundle.reporting.tasks import check_outcome

        return check_outcome(WAREHOUSE_CONN_ID, planned, context["run_id"])

    SchemaMigrationOperator(pipeline="reporting", postgres_conn_id=WAREHOUSE_CONN_ID) >> planned
    refreshed >> check_outcome(planned)
    # After every view was attempted, whatever their outcome: the views that did refresh are checked.
    refreshed >> ReportingEmptiedViewsCheckOperator(
        task_id="check_no_view_emptied", conn_id=WAREHOUSE_CONN_ID, trigger_rule="all_done"
    )
