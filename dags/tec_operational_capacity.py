"""
### tec_operational_capacity

Transwestern's operationally available capacity from Energy Transfer, one run per
**gas day** (America/Chicago), one mapped task group per (endpoint, cycle).

**Reads:** `GET /ipost/TW/capacity/operationally-available?...&gasDay=MM/DD/YYYY&cycle=N`
on the `energy_transfer` connection, for the endpoints and cycles in
`include/tec/energy_transfer.yaml` (default cycles Evening, Intraday 1, 2, 3; Energy
Transfer's codes as evidenced: 0 Timely (its default), 1 Evening, 3/4/7 Intraday 1/2/3,
5 Final). Each run also re-checks the previous `lookback_days` (3) gas days once, so a
day missed in an outage loads and a republished file opens new history versions.

**Writes** (`warehouse_postgres`): `staging.operational_capacity`, the original's table
(adopted by `migrate_schema`, migrations in `include/sql/tec/migrations/`; its `id`,
`created_at`, unique key, check, indexes and grants kept), merged on its key `loc,
loc_name, measure_date, cycle_id` (`cycle_id` as the original's: `Intraday_1`, …,
`Evening`), only changed rows touched, the original's own rows never deleted;
`staging.operational_capacity_history` (SCD2: `version_id, valid_from, valid_to,
is_current, row_hash`), `staging.operational_capacity_rejects` (rows that failed
validation, with line, field and reason). Emits the Asset
`warehouse.staging.operational_capacity`. `measure_date` is the gas day; the
original's rows carry its download date (see the README's differences table).

**Per cycle:** wait until published (reschedule mode: no worker slot held; a 200
must carry that cycle's CSV file name for that date), load (COPY to staging, merge
and history in one transaction, under the slice's lock; a file downloaded before the slice's
newest loaded file is skipped, saying so; a rejected row's key keeps its previous row), then a
quality gate under the same lock (no null or duplicate keys, rows == what the slice's latest
load left == current versions). A transient fault while waiting (5xx, dropped connection,
timeout) is logged and the wait goes on; a file that cannot be read fails without retry,
naming file, line and field; a bad row goes to the rejects table. A cycle not published by
`publish_deadline_hours` after the gas day's midnight ends **skipped**, naming it. A
file naming another cycle (a wrong code) is a WARNING, and an alert mail if the deadline
passes with it; `check_cycles` fails the run when no cycle of the gas day was loaded.
HTTP 403/429 are retried with backoff (Retry-After honoured); other 4xx fail at once.

**Raw archive:** every loaded file is kept on the share (`network_share`, `tec_raw/`,
`retention_days` in the yaml). Replay without Energy Transfer: trigger with
`{"gas_day": "YYYY-MM-DD", "cycles": ["Evening"], "replay": true}`.

**Logical date → gas day:** a run's logical date is the Central midnight that
starts its gas day (schedule `0 0 * * *` America/Chicago), so
`airflow backfill create --dag-id tec_operational_capacity --from-date 2026-11-01 --to-date 2026-11-03`
loads exactly gas days Nov 1, 2 and 3. A manual run loads the `gas_day` Param, else
its logical date's Central day, else (no logical date) the day it was triggered.
Reruns are idempotent: unchanged data changes no row and opens no version.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, task, task_group

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
from etl_bundle.tec.sensors import CyclePublishedSensor

WAREHOUSE_CONN_ID = "warehouse_postgres"
ENERGY_TRANSFER_CONN_ID = "energy_transfer"
CAPACITY_ASSET = Asset(name="warehouse.staging.operational_capacity")

with DAG(
    dag_id="tec_operational_capacity",
    schedule=CronTriggerTimetable("0 0 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=3,
    dagrun_timeout=pendulum.duration(hours=40),
    default_args=default_args(retries=3, retry_delay=pendulum.duration(minutes=1)),
    on_failure_callback=run_failure_alert(),
    params={
        "gas_day": Param(None, type=["null", "string"], format="date", description="Gas day to load (YYYY-MM-DD)"),
        "endpoints": Param(None, type=["null", "array"], items={"type": "string"}, description="Endpoint keys"),
        "cycles": Param(
            None, type=["null", "array"], items={"type": "string"}, description="e.g. Intraday 1 (stored Intraday_1)"
        ),
        "dry_run": Param(False, type="boolean", description="Parse and validate only; load ends skipped"),
        "publish_deadline_hours": Param(30, type="number", minimum=0, description="Hours after gas-day start"),
        "poke_interval_seconds": Param(300, type="integer", minimum=1),
        "wait_mode": Param(
            "deferrable",
            enum=["deferrable", "reschedule"],
            title="Wait mode",
            description="deferrable: the triggerer waits, no worker slot held; reschedule: a worker pokes",
            section="Waiting",
        ),
        "max_rejected_rows": Param(50, type="integer", minimum=0),
        "lookback_days": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            description="Earlier gas days re-checked once (default: lookback_days in energy_transfer.yaml, 3)",
        ),
        "replay": Param(False, type="boolean", description="Load from the raw archive, not from Energy Transfer"),
    },
    tags=["tec", "http", "postgres"],
    doc_md=__doc__,
):

    @task
    def plan_cycles(**context) -> list[dict]:
        from etl_bundle.tec.load import plan_cycles

        return plan_cycles(context["params"], context.get("data_interval_start"), context["dag_run"].run_after)

    @task
    def migrate_schema(**context) -> dict[str, list[str]]:
        """Apply the pending migrations of each loaded endpoint's table (Alembic, under a lock)."""
        from etl_bundle.tec.schema import migrate_endpoints

        return migrate_endpoints(WAREHOUSE_CONN_ID, context["params"]["endpoints"])

    @task_group
    def cycle(target):
        published = CyclePublishedSensor(
            task_id="wait_until_published", target=target, http_conn_id=ENERGY_TRANSFER_CONN_ID
        )

        @task(outlets=[CAPACITY_ASSET])
        def load(published: dict, **context) -> dict:
            from etl_bundle.tec.load import load_published_cycle

            params = context["params"]
            return load_published_cycle(
                published,
                conn_id=WAREHOUSE_CONN_ID,
                http_conn_id=ENERGY_TRANSFER_CONN_ID,
                run_id=context["run_id"],
                dry_run=params["dry_run"],
                max_rejected_rows=params["max_rejected_rows"],
                replay=params["replay"],
            )

        @task
        def quality_gate(loaded: dict) -> dict:
            from etl_bundle.tec.load import check_loaded_cycle

            return check_loaded_cycle(loaded, conn_id=WAREHOUSE_CONN_ID)

        quality_gate(load(published.output))

    @task(trigger_rule="all_done", retries=0)  # its verdict does not change on retry
    def check_cycles(targets: list[dict], **context) -> dict:
        """The run's leaf: fails when a cycle failed, or when no cycle of the gas day was loaded."""
        from etl_bundle.tec.load import check_run_outcome

        return check_run_outcome(targets, context["ti"], dry_run=context["params"]["dry_run"])

    targets = plan_cycles()
    cycles = cycle.expand(target=targets)
    migrate_schema() >> cycles >> check_cycles(targets)
