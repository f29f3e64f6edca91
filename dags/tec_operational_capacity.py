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

**Per cycle:** wait until published (deferred to the triggerer by default: no worker slot held; a 200
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

#### In detail

- **Schedule and gas day.** `CronTriggerTimetable("0 0 * * *", America/Chicago)`:
  the run for gas day D starts at D's Central midnight (its logical date), so
  intraday cycles load during the day as they are published. A run loads the
  `gas_day` Param if given, else its data interval's Central date, else (a
  manual run with no logical date) the Central date it was triggered for.
  `catchup=False`, `max_active_runs=3`.
- **Self-healing after downtime (3-day look-back, as the original's `history: 3`).**
  Each run also plans the same cycles of the previous `lookback_days` (3, in the
  yaml; a Param overrides) gas days, asked **once** each, not waited for: a day an
  outage of up to 3 days missed loads on the first run after it, and a republished
  file of a recent day opens new SCD2 versions (an unchanged one changes nothing).
  Chosen over `catchup=True`: a static `start_date` cannot stay "recent", catchup
  would not see republications, and one mechanism covers both.
- **Configuration, not code** (`include/tec/energy_transfer.yaml`): endpoints
  (asset id, endpoint, target schema and table — a new asset is a new entry and
  gets its own tables on the first run), cycles with Energy Transfer's numeric
  `cycle=` codes as evidenced (reference §3.2: **0 Timely** (the site's default),
  **1 Evening, 3/4/7 Intraday 1/2/3, 5 Final**; 2, 6, 8 unknown; enabled by
  default: Evening, Intraday 1–3), the file-name patterns that give the cycle and
  the date, the request timeout, retries and minimum body size, the raw archive
  and the look-back.
- **Params:** `gas_day`, `endpoints`, `cycles`, `dry_run` (download, parse,
  validate; write nothing), `publish_deadline_hours` (30: elapsed hours after
  the gas day's Central midnight), `poke_interval_seconds` (300),
  `max_rejected_rows` (50), `lookback_days` (yaml: 3), `replay` (load from the
  raw archive, Energy Transfer not asked).
- **Waiting** is a sensor (`CyclePublishedSensor`) that by default (`wait_mode`
  `deferrable`) pokes once, then waits in the triggerer (`etl_bundle.tec.triggers`,
  the same rules and deadline); `wait_mode: reschedule` pokes from a worker. No worker
  slot is held between pokes either way. A cycle counts as published only when the answer
  is 200, carries a CSV `Content-Disposition` file name naming that cycle and
  that date, and has a real body; an HTML error page with 200, another cycle's
  file or an empty body keep it waiting. **The file name is the truth** (as the
  original): a file naming another cycle (a wrong code is answered with the
  site's default, Timely) logs a WARNING at once naming the code, the expected
  and the found cycle; past the deadline the task ends **skipped**, naming the
  cycle, and if the last answer was another cycle's file an **alert mail** goes
  to the `alert_email` Variable. `check_cycles` (the run's leaf, so its state is
  the run's) **fails** when a cycle's wait, load or gate failed, or when no cycle
  of the gas day was loaded, naming each and why (all skipped is not green).
  HTTP 5xx, timeouts, **403 and 429** (firewall, rate limit) are retried with
  exponential backoff, honouring `Retry-After` (up to 60 s; a longer one ends
  the tries at once rather than sleep through it); a 403/429 that outlasts them
  is "not yet" for the sensor (next poke) and a task retry for the load.
    Another 4xx fails at once with the URL. Any other transient fault during a poke (a
  5xx that outlasts the retries, a dropped connection, a timeout, a lost
  database connection) is one WARNING line (`etl_bundle.common.db_errors.describe`,
  no secrets) and the wait goes on until its deadline, instead of costing a try;
  past the deadline the cycle ends skipped naming the last error. A bad
  configuration still fails.
- **Raw archive** (`archive` in the yaml): every file loaded is kept owner-only
  on the share (`network_share`, folder `tec_raw/<endpoint>/<gas day>/<cycle_id>/`,
  time-stamped), gas days older than `retention_days` (90) before the archived
  day pruned. Only `etl_bundle.tec.archive.archive_root` knows where it lives.
  Replay without Energy Transfer: trigger with
  `{"gas_day": "2026-11-15", "cycles": ["Evening"], "replay": true}` (the newest
  archived file of each cycle is loaded; none archived → skipped).
- **Parsing** (pure functions in `etl_bundle.tec.transforms`): headers sanitised
  as the original (`Loc/QTI` → `loc_qti`); quantities as exact decimals; a
  `qty_reason` mentioning "unavailable" becomes `Unavailable`; `measure_date` and
  `cycle_id` from the file name; download time and source system as lineage.
  **A file that cannot be read fails** (nothing loaded, the previous rows kept, no
  retry: `AirflowFailException` naming file, line and field): an unknown or missing
  column (line 1), a field over the csv module's limit (an unclosed quote: nothing
  after it can be trusted), a byte that neither UTF-8 nor the Windows-1252 fallback
  decodes (the file's encoding is unknown, so none of its text is trusted). **A bad
  row is quarantined** in `staging.operational_capacity_rejects` (file, line,
  field, reason, the raw record): a non-numeric, negative or out-of-range quantity
  (beyond Postgres numeric, e.g. `1e20000000`), a NUL byte in any field (kept in
  the raw record as `\\x00`), a missing key, a duplicate key, a wrong field count;
  more than `max_rejected_rows` fails the task.
- **Loading** (one transaction per cycle): the first load of a day and cycle
  COPYs straight into `staging.operational_capacity` and opens the first
  versions; a reload COPYs into a temporary table, closes the history versions
  whose values changed or whose key vanished, opens new ones, upserts only the
  changed rows (`ON CONFLICT … WHERE row_hash IS DISTINCT FROM …`) and deletes
  vanished keys. Re-running unchanged data rewrites no row and opens no version.
  A load holds the slice's lock (an advisory lock per table, day and cycle) and
  **skips a file downloaded before the slice's newest loaded file** (two runs of the
  same gas day, `max_active_runs=3`, may load in the wrong order), saying so in its
  log and its result (`skipped`); each load is recorded in
  `staging.operational_capacity_loads` (newest download time, file, rows expected),
  also when it changed nothing. **A key whose row in the file was rejected keeps its
  current row and version** until a valid row replaces it (`kept_rejected`); only
  keys absent from the file are removed. Database errors are raised without row
  values (`etl_bundle.common.db_errors`; a data-rule error is not retried).
- **Tables** by migrations (`include/sql/tec/migrations/`, Alembic, one version
  table per target table: `etl_migrations.tec__<schema>__<table>`; the DAG's
  `migrate_schema` task upgrades the table of each endpoint the run loads).
  `0001_adopt_operational_capacity` **adopts** the original's
  `staging.operational_capacity` (its `id SERIAL` primary key, columns and types,
  `created_at`, `operational_capacity_unique_key UNIQUE (loc, loc_name,
  measure_date, cycle_id)`, `chk_op_capacity`, four single-column indexes, grants)
  or, on an empty database, creates exactly that, so there is one shape and one
  loader. It adds `source_system`, `row_hash`, `updated_at` (NULL on the
  original's rows: no row is rewritten), a `NOT VALID` check that new rows have
  all four key fields (NULLs pass a UNIQUE key), `operational_capacity_history`
  (`version_id, valid_from, valid_to, is_current, row_hash`; at most one current
  version per key, a partial unique index) and `operational_capacity_rejects`;
  `0002_slice_loads` adds `operational_capacity_loads`.
  The merge upserts `ON CONFLICT ON CONSTRAINT operational_capacity_unique_key`.
  A row the original wrote (`row_hash` NULL) is updated in place when a file
  brings its key (`id`, `created_at` kept) and is never deleted.
- **Quality gate** per cycle (`CapacityQualityGateOperator`, the provider's
  `SQLCheckOperator`: its result is a check result in the log), over the bundle's
  rows (`row_hash` set). It takes the slice's lock first (`tec/slice_lock.sql`, same
  transaction), so it reads what a load committed; then every column of
  `tec/quality_gate.sql` must be true: no null keys, no duplicate keys, rows == the
  rows the slice's latest load left (valid rows plus kept rejected keys; when a newer
  file was loaded since, or its own load was skipped, that load's) == current
  versions. A failed check fails without retry, the rendered query and its results
  in the log.
- **Asset:** the load emits `warehouse.staging.operational_capacity`; each event's
  extra carries the cycle's counts (`rows_loaded`, `rows_rejected`, `inserted`,
  `updated`, `deleted`, `versions_opened`, `versions_closed`, `skipped`).
- **Timeouts** per task (`execution_timeout`, in each task's doc): plan and final
  check 5 min, migrations 15 min, each poke 10 min, load 30 min, gate 10 min.
- **`cycle_id`** values are the original's: `Intraday_1`, `Intraday_2`,
  `Intraday_3`, `Evening` (and `Timely`, `Final` when enabled); configuration and
  Params use the display names (`Intraday 1`), mapped in one place
  (`etl_bundle.tec.transforms.cycle_id`).

#### The devstack

The devstack's Energy Transfer stand-in maps codes to cycles with its **own**
table of Energy Transfer's codes (`devstack/energy_transfer.py`, not the
bundle's yaml) and answers an unknown code with Timely's file, as the site does;
a `throttle` file in its data folder (`429 2 5`: status, count, Retry-After)
refuses the next requests, and a `fault` file spoils them (`status 4 503`,
`reset 2`: the connection dropped with a TCP reset, `delay 3 2.5`: seconds before
answering; `devstack.energy_transfer_data.fault`). It serves eight gas days up to today (seed)
with planted faults: yesterday's Intraday 3 is published 15 minutes after the
seed, two days ago Evening is never published, three days ago Intraday 1 is an
HTML error page answered 200, four days ago (beyond the look-back) Intraday 2 has
an unknown column, five days ago Intraday 1 has two bad rows.

The seed also loads `devstack/originals/tec.sql` into the warehouse (the original's
table as its DDL made it, with rows as it wrote them: download-date `measure_date`,
pandas-rendered text, a NULL `loc_name`, several cycles; `tec_reader` stands for a
downstream reader granted SELECT, the original having no roles), unless it is
there or migrated already; the DAG's first run adopts it.
"""

from __future__ import annotations

import pendulum

# Named here so the dag-processor pre-imports it once in its parent
# (parsing_pre_import_modules) instead of every parse paying ~300 ms: the gate subclasses it.
from airflow.providers.common.sql.operators.sql import SQLCheckOperator  # noqa: F401
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, task, task_group

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
from etl_bundle.common.wait_mode import wait_mode_param
from etl_bundle.tec.config import CYCLE_CHOICES, ENDPOINT_CHOICES
from etl_bundle.tec.operators import (
    CapacityCycleMergeOperator,
    CapacityQualityGateOperator,
    CapacitySchemaMigrationOperator,
)
from etl_bundle.tec.sensors import CyclePublishedSensor

WAREHOUSE_CONN_ID = "warehouse_postgres"
ENERGY_TRANSFER_CONN_ID = "energy_transfer"
CAPACITY_ASSET = Asset(name="warehouse.staging.operational_capacity")

with DAG(
    dag_id="tec_operational_capacity",
    description="Energy Transfer's operationally available capacity, per gas day and cycle, merged into Postgres",
    schedule=CronTriggerTimetable("0 0 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=3,
    dagrun_timeout=pendulum.duration(hours=40),
    default_args=default_args(retries=3, retry_delay=pendulum.duration(minutes=1)),
    on_failure_callback=run_failure_alert(),
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    params={
        "gas_day": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Gas day",
            description="Gas day to load (YYYY-MM-DD). Empty: the run's own (its logical date's Central day).",
        ),
        "endpoints": Param(
            None,
            type=["null", "array"],
            items={"type": "string", "enum": list(ENDPOINT_CHOICES)},
            examples=list(ENDPOINT_CHOICES),
            title="Endpoints",
            description="Endpoints of include/tec/energy_transfer.yaml to load. Empty: every enabled one.",
        ),
        "cycles": Param(
            None,
            type=["null", "array"],
            items={"type": "string", "enum": list(CYCLE_CHOICES)},
            examples=list(CYCLE_CHOICES),
            values_display={name: f"{name} (stored {name.replace(' ', '_')})" for name in CYCLE_CHOICES},
            title="Cycles",
            description="Cycles to load. Empty: the enabled ones (Evening, Intraday 1, 2, 3).",
        ),
        "publish_deadline_hours": Param(
            30,
            type="number",
            minimum=0,
            title="Publish deadline (hours)",
            description="Hours after the gas day's Central midnight after which an unpublished cycle ends skipped.",
            section="Waiting",
        ),
        "poke_interval_seconds": Param(
            300,
            type="integer",
            minimum=1,
            title="Poke interval (seconds)",
            description="Seconds between two asks of Energy Transfer while a cycle is not published.",
            section="Waiting",
        ),
        "max_rejected_rows": Param(
            50,
            type="integer",
            minimum=0,
            title="Max rejected rows",
            description="A file with more rejected rows fails without loading anything.",
            section="Limits",
        ),
        "wait_mode": wait_mode_param(),
        "lookback_days": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            title="Look-back days",
            description="Earlier gas days re-checked once (empty: lookback_days in energy_transfer.yaml, 3).",
            section="Limits",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Download, parse and validate only; the load ends skipped, nothing written.",
            section="Safety",
        ),
        "replay": Param(
            False,
            type="boolean",
            title="Replay from the archive",
            description="Load the newest archived file of each cycle instead of asking Energy Transfer.",
            section="Safety",
        ),
    },
    tags=["tec", "http", "postgres"],
    doc_md=__doc__,
):

    @task(execution_timeout=pendulum.duration(minutes=5))
    def plan_cycles(**context) -> list[dict]:
        """The (endpoint, cycle, gas day) targets to map over: the run's gas day, then its
        look-back days. Reads the yaml only (timeout 5 min)."""
        from etl_bundle.tec.load import plan_cycles

        return plan_cycles(context["params"], context.get("data_interval_start"), context["dag_run"].run_after)

    migrate_schema = CapacitySchemaMigrationOperator(
        postgres_conn_id=WAREHOUSE_CONN_ID, execution_timeout=pendulum.duration(minutes=15)
    )

    @task_group
    def cycle(target):
        """One (endpoint, cycle, gas day): wait until published, load, quality gate."""
        published = CyclePublishedSensor(
            task_id="wait_until_published",
            target=target,
            http_conn_id=ENERGY_TRANSFER_CONN_ID,
            # Per poke on a worker: one GET of at most 3 tries of 30 s plus backoff. The deferred
            # wait is bounded by the sensor's own timeout and the publish deadline, not by this.
            execution_timeout=pendulum.duration(minutes=10),
            doc_md=(
                "Waits until the cycle's CSV is published (in the triggerer by default, `wait_mode`; "
                "no worker slot held between pokes); skipped, naming the cycle, after `publish_deadline_hours`. "
                "Timeout 10 min per poke: one GET of at most 3 tries of 30 s plus backoff."
            ),
        )
        loaded = CapacityCycleMergeOperator(
            task_id="load",
            published=published.output,
            conn_id=WAREHOUSE_CONN_ID,
            http_conn_id=ENERGY_TRANSFER_CONN_ID,
            outlets=[CAPACITY_ASSET],
        )
        CapacityQualityGateOperator(task_id="quality_gate", loaded=loaded.output, conn_id=WAREHOUSE_CONN_ID)

    @task(trigger_rule="all_done", retries=0, execution_timeout=pendulum.duration(minutes=5))
    def check_cycles(targets: list[dict], **context) -> dict:
        """The run's leaf: fails when a cycle failed, or when no cycle of the gas day was loaded.
        Reads XComs only (timeout 5 min); no retry, its verdict does not change on retry."""
        from etl_bundle.tec.load import check_run_outcome

        return check_run_outcome(targets, context["ti"], dry_run=context["params"]["dry_run"])

    targets = plan_cycles()
    cycles = cycle.expand(target=targets)
    migrate_schema >> cycles >> check_cycles(targets)
