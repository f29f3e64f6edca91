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

**Tasks:** `migrate_schema` (the quarantine's schema, Alembic) → `list_subprojects`
(TaskFlow: picks the ids to read) → `plan_changes` (`EcaprisStatusPlanOperator`: its
three statements are Airflow-rendered templates, see Rendered Template) →
`upsert_statuses` (`MopedStatusUpsertOperator`; its counts go on the Asset event of
`moped.ecapris_subproject_statuses`). Backfills are refused (`allowed_run_types`):
each run syncs the statuses as they are now.

#### Details

- **Moped side** (`etl_bundle.ecapris.moped`): `HttpHook` POSTs the GraphQL
  documents of `include/graphql/ecapris/` to `/v1/graphql` on `moped_hasura`, the
  admin secret (the connection's password) only in the `X-Hasura-Admin-Secret`
  header, and **only over `https` with the certificate verified, or plain HTTP to a
  loopback address** (127.0.0.0/8, `::1`, `localhost`) with no proxy in between:
  anything else (a connection without schema, which `HttpHook` sends as `http`;
  `verify`/`verify_ssl` false in the extra; a proxy for loopback HTTP) fails the task
  before any request, naming the connection, never the secret. Redirects are not
  followed (requests keeps custom headers across them). Distinct
  `ecapris_subproject_id`s of non-deleted projects with
  `should_sync_ecapris_statuses` on (the original ignored the flag); an id that is
  not a number (`CIP-LEGACY-7`) is logged and skipped. Reads are retried on HTTP 5xx,
  timeouts, dropped connections and Hasura's `database query error` (code `unexpected`
  or `postgres-error`: its database failed, nothing committed) with backoff
  (`etl_bundle.common.http_retries`, shared with TEC). A **mutation is never resent
  blindly**: after such a failure its statuses are read back from Moped and only those
  it lacks are sent again (an answer can be lost after Hasura committed). Any other
  GraphQL `errors` answer fails the task at once with Hasura's message, quoted values
  left out (an access-denied answer says to check the admin secret).
- **Oracle side** (`include/sql/ecapris/subproject_statuses.sql`): the reference's
  query with `SP_NUMBER` as `TO_CHAR(…, 'FM999999999999999.000')` so `10553.030` keeps its
  zeros, bound `batch_size` ids per statement (`IN (:sp_0, …)` on Oracle with
  `batch_size` binds, every batch padded to them so the text never changes;
  `= ANY(%(sp_numbers)s)` on the stand-in) instead of one query per id. Airflow
  renders it in the connection's dialect (Rendered Template shows it).
- **Transform** (`etl_bundle.ecapris.transforms`, pure): the reference's column
  mapping; `STATUS_REVIEW_DATE`, a naive Central time, to ISO 8601 with its
  offset (an ambiguous fall-back time is read as the first, CDT; a spring-forward
  time that does not exist as CST); `CURR_STATUS_FL` Y/N, 1/0, T/F, true/false to a
  boolean (anything else rejects the row); mojibake repaired in the four text
  columns (the reference's byte patterns, then `ftfy.fix_encoding`, then the
  `¿` left where a lost character was). A row missing `reviewed_by_name`,
  `subproject_name` or the timestamp, repeating a status id, with a status id that is
  not an integer or beyond Moped's `INTEGER`, or with a NUL character in a text
  (Oracle's VARCHAR2 holds one, Postgres text cannot) is **rejected**: logged with the
  view, status id, field and reason (never the text), and kept in
  `staging.ecapris_status_rejects` (ids, field, reason, the source row as JSON, a NUL
  shown as `␀`) **once per bad row**: a row is known by its content's SHA-256 and copy
  number (identical rows each kept); a later run that sees it again moves
  `last_seen_at`, `last_run_id` and `seen_count` on and keeps `first_seen_at` and
  `first_run_id`; a retry of the run that saw it last changes nothing (migration
  `0002_reject_sightings` folded the duplicates earlier runs and retries wrote).
  **Retention**: the source rows hold reviewers' names and emails, so a quarantined
  row that no run has seen for `quarantine_retention_days` (Param, 30) is deleted,
  in the same transaction; one still bad at the source stays and says since when.
- **Only changes are sent**: Moped's copy of the statuses is read (by status id,
  in batches) and compared on the mutation's update columns; an unchanged rerun
  sends nothing, so Moped's `updated_at` trigger never fires for nothing. The
  upsert is the reference's mutation (`on_conflict` on
  `ecapris_subproject_statuses_subproject_status_id_key`; `subproject_name` and
  `review_timestamp` are not updated), `batch_size` statuses per request; every
  object must come back in `returning`. **A retry of the upsert** gets the same plan
  (XCom): it reads Moped's copy of the planned statuses first and sends only those it
  does not hold yet, so nothing an earlier, killed or failed try applied is sent again.
  The log and the task's return value give
  ids synced, ids without Oracle rows, statuses inserted, updated, unchanged,
  already applied (by an earlier try) and rejected, and the quarantine's new, seen
  again and purged rows. Database errors are logged and raised through
  `etl_bundle.common.db_errors` (class, SQLSTATE, names; no row values). Emits the Asset
  `moped.ecapris_subproject_statuses`.
- **Names stored garbled are repaired**: where Moped holds a mojibake copy of a
  status's name (stored before the repair, as Moped's own backfill of
  atd-data-tech #23912 found), `update_ecapris_subproject_statuses_many` sets
  `subproject_name` alone (`include/graphql/ecapris/repair_subproject_names.graphql`);
  a renamed subproject keeps its first name, as the original's upsert.
- **Params:** `dry_run` (read both sides, log what would change, send nothing,
  quarantine nothing; the upsert ends *skipped* with the plan), `respect_sync_flag`
  (true), `batch_size` (200, at most 1000), `quarantine_retention_days` (30).

The devstack seed gives the Oracle stand-in the view over
`ecapris_sub_project_status` (NUMBER(18,3) ids, mojibake, nulls, timestamps at
both 2025 DST changes, a row without a reviewer; the status id is an Oracle NUMBER, so
fractions and values beyond Moped's INTEGER can be planted) and Moped projects with sync on
and off, a deleted one, two sharing an id, one id Oracle does not know and one
that is not a number. The Hasura stand-in logs every request to
`.devstack/hasura/requests.log` (root fields, the status ids each committed mutation
wrote; no header, no variable) and takes fault files beside its admin secret, each a
count of requests: `unavailable` (HTTP 503), `graphql_errors` (Hasura's 200 with
`database query error`), `mutation_errors` (the same for mutations, `K after S`),
`answers_lost` (a mutation committed, its answer never sent).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, task

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
from etl_bundle.ecapris.operators import EcaprisStatusPlanOperator, MopedStatusUpsertOperator
from etl_bundle.operators.migrations import SchemaMigrationOperator

HASURA_CONN_ID = "moped_hasura"
ORACLE_CONN_ID = "ecapris_oracle"
WAREHOUSE_CONN_ID = "warehouse_postgres"
STATUSES_ASSET = Asset(name="moped.ecapris_subproject_statuses")

with DAG(
    dag_id="ecapris_statuses_sync",
    description="eCapris subproject statuses from the finance warehouse (Oracle) to Moped, every 30 minutes",
    schedule=CronTriggerTimetable("*/30 * * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    # Nothing to backfill: a run syncs the statuses as they stand now.
    allowed_run_types=["scheduled", "manual"],
    dagrun_timeout=pendulum.duration(minutes=25),
    # migrate_schema takes this default: a migration blocked on a lock fails within 5 minutes.
    default_args=default_args(
        retries=2, retry_delay=pendulum.duration(minutes=1), execution_timeout=pendulum.duration(minutes=5)
    ),
    on_failure_callback=run_failure_alert(),
    params={
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Read both sides and log what would change; send nothing, quarantine nothing",
            section="Safety",
        ),
        "respect_sync_flag": Param(
            True,
            type="boolean",
            title="Only projects with statuses sync on",
            description="Off: every Moped project with an eCapris id, as the original did",
            section="Selection",
        ),
        "batch_size": Param(
            200,
            type="integer",
            minimum=1,
            maximum=1000,
            title="Batch size",
            description="Ids per Oracle query and statuses per GraphQL mutation",
            section="Limits",
        ),
        "quarantine_retention_days": Param(
            30,
            type="integer",
            minimum=1,
            title="Quarantine retention (days)",
            description="Days a quarantined row (reviewers' names and emails) is kept after a run last saw it",
            section="Limits",
        ),
    },
    tags=["moped", "hasura", "oracle"],
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    doc_md=__doc__,
):

    @task(execution_timeout=pendulum.duration(minutes=2))
    def list_subprojects(**context) -> dict:
        """Moped's eCapris subproject ids to sync (Hasura read); ids that are not numbers are logged.

        Glue (what to read), so TaskFlow. Times out after 2 minutes (one hung Hasura read).
        """
        from etl_bundle.ecapris.sync import list_subprojects

        return list_subprojects(HASURA_CONN_ID, respect_sync_flag=context["params"]["respect_sync_flag"])

    planned = EcaprisStatusPlanOperator(
        task_id="plan_changes",
        subprojects=list_subprojects(),
        oracle_conn_id=ORACLE_CONN_ID,
        hasura_conn_id=HASURA_CONN_ID,
        warehouse_conn_id=WAREHOUSE_CONN_ID,
        execution_timeout=pendulum.duration(minutes=10),
    )
    upsert = MopedStatusUpsertOperator(
        task_id="upsert_statuses",
        hasura_conn_id=HASURA_CONN_ID,
        plan_task_id=planned.task_id,
        outlets=[STATUSES_ASSET],
        execution_timeout=pendulum.duration(minutes=10),
    )
    SchemaMigrationOperator(pipeline="ecapris", postgres_conn_id=WAREHOUSE_CONN_ID) >> planned >> upsert
