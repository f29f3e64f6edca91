"""Loading one cycle's file: COPY to a staging table, then merge and SCD2 history in one transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from etl_bundle.common.bulk import copy_rows
from etl_bundle.common.sql import render_sql
from etl_bundle.tec.transforms import KEY_COLUMNS, TARGET_COLUMNS, ParsedFile

log = logging.getLogger(__name__)

UPDATE_COLUMNS = tuple(c for c in TARGET_COLUMNS if c not in KEY_COLUMNS)
# Postgres types of TARGET_COLUMNS, for COPY (text format: binary is slower with Decimals).
TARGET_TYPES = (*["text"] * 6, *["numeric"] * 4, *["text"] * 5, "date", "text", "float8", "text", "text")


@dataclass
class MergeCounts:
    staged: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    versions_closed: int = 0
    versions_opened: int = 0
    rejected: int = 0
    kept_rejected: int = 0  # rows kept as they were because the file's row for their key was rejected
    skipped: str | None = None  # why nothing was written (an older file than the slice's newest)


# The statements merge_capacity runs, by name: the operator passes them rendered by Airflow
# (shown in the UI); a direct call renders them here.


def sql_context(schema: str, table: str) -> dict[str, Any]:
    """What the tec templates need besides the dialect: the table and its columns."""
    return {"schema": schema, "table": table, "columns": TARGET_COLUMNS, "update_columns": UPDATE_COLUMNS}


def _sql(name: str, schema: str, table: str, statements: Mapping[str, str] | None = None) -> str:
    if statements is not None:
        return statements[name].strip()
    return render_sql(
        f"tec/{name}.sql",
        dialect="postgres",
        **sql_context(schema, table),
    )


def lock_slice(cur, schema: str, table: str, measure_date: date, cycle_id: str) -> None:
    """Wait for, then hold until the transaction ends, the lock of one table's day and cycle:
    its loads, and each load's quality gate, run one at a time."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (slice_lock_key(schema, table, measure_date, cycle_id),))


def slice_lock_key(schema: str, table: str, measure_date: date, cycle_id: str) -> str:
    """The text whose hash names a slice's advisory lock (include/sql/tec/slice_lock.sql takes it too)."""
    return f"{schema}.{table}:{measure_date}:{cycle_id}"


def rejected_keys(parsed: ParsedFile) -> list[tuple[str | None, str | None]]:
    """The key parts of each rejected row: None where the row lacks one or it is the field that
    failed (a NUL in loc_name: its stored row is still that location's). A row with no usable key
    part cannot be matched to a stored row, so it protects none (it is in the rejects table); a
    duplicate's key has its first row in the file, so it needs none."""
    keys = set()
    for reject in parsed.rejects:
        if reject.reason.startswith("duplicate key"):
            continue
        loc = None if reject.field == "loc" else (reject.raw.get("loc") or "").strip() or None
        loc_name = None if reject.field == "loc_name" else (reject.raw.get("loc_name") or "").strip() or None
        if loc or loc_name:
            keys.add((loc, loc_name))
    return sorted(keys, key=lambda key: (key[0] or "", key[1] or ""))


def merge_capacity(
    conn,
    *,
    schema: str,
    table: str,
    parsed: ParsedFile,
    measure_date: date,
    cycle_id: str,
    observed_at: datetime,
    run_id: str | None,
    statements: Mapping[str, str] | None = None,
) -> MergeCounts:
    """Replace one (measure_date, cycle_id) slice with the file's rows, keeping history.

    Rows the original wrote (``row_hash`` NULL) are only ever updated in place through
    the key (keeping ``id`` and ``created_at``), never deleted: see
    include/sql/tec/migrations/0001_adopt_operational_capacity.sql.

    Everything happens in one transaction on ``conn`` (a psycopg 3 connection), under
    the slice's lock: staging COPY, history close/open, the upsert, the delete of
    vanished keys, the rejects and the slice's load record. A failure anywhere rolls
    all of it back. A file downloaded before the slice's newest loaded file is skipped
    (nothing written, ``skipped`` says why). A key whose row was rejected keeps its row
    and current version. A slice loaded for the first time skips the staging table and
    the upsert (nothing to compare with). Database errors are re-raised without the
    rows' values (``etl_bundle.common.db_errors``). ``statements`` are the templates of
    tec.config.MERGE_STATEMENTS already rendered (by Airflow, in the operator); else rendered here.
    """
    from etl_bundle.common.db_errors import values_kept_out

    if not parsed.rows:
        raise ValueError(f"{parsed.filename}: no valid row to load ({len(parsed.rejects)} rejected)")
    counts = MergeCounts(staged=len(parsed.rows), rejected=len(parsed.rejects))
    slice_params = {"measure_date": measure_date, "cycle_id": cycle_id}
    history_params = {**slice_params, "observed_at": observed_at, "run_id": run_id}
    with values_kept_out(f"loading {parsed.filename} into {schema}.{table}"):
        try:
            with conn.cursor() as cur:
                # One loader at a time per table, day and cycle (a backfill and a rerun may overlap).
                lock_slice(cur, schema, table, measure_date, cycle_id)
                cur.execute(_sql("slice_newest_observation", schema, table, statements), slice_params)
                newest = cur.fetchone()[0]
                if newest is not None and observed_at < newest:
                    counts.skipped = (
                        f"{parsed.filename} was downloaded at {observed_at.isoformat()}, before the file "
                        f"already loaded into this day and cycle ({newest.isoformat()}): nothing written"
                    )
                    conn.rollback()
                    counts.staged = 0
                    return counts
                _write_slice(cur, schema, table, parsed, counts, slice_params, history_params, statements)
                cur.execute(
                    _sql("slice_load_record", schema, table, statements),
                    {
                        **history_params,
                        "source_file": parsed.filename,
                        "rows_expected": counts.staged + counts.kept_rejected,
                    },
                )
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
    counts.unchanged = counts.staged - counts.inserted - counts.updated
    return counts


def _write_slice(
    cur, schema, table, parsed: ParsedFile, counts: MergeCounts, slice_params, history_params, statements=None
) -> None:
    cur.execute(_sql("slice_is_new", schema, table, statements), slice_params)
    if cur.fetchone()[0]:
        # First load of the slice (most loads): nothing to compare with, so the
        # rows go straight into the table and open their first versions.
        copy_rows(cur, (schema, table), TARGET_COLUMNS, parsed.rows, types=TARGET_TYPES)
        cur.execute(_sql("history_open_from_target", schema, table, statements), history_params)
        counts.inserted, counts.versions_opened = counts.staged, cur.rowcount
    else:
        cur.execute(_sql("stage", schema, table, statements))
        copy_rows(cur, ("capacity_stage",), TARGET_COLUMNS, parsed.rows, types=TARGET_TYPES)
        cur.execute("ANALYZE capacity_stage")  # a temporary table has no statistics until asked
        cur.execute(_sql("rejected_keys_stage", schema, table, statements))
        keys = rejected_keys(parsed)
        if keys:
            copy_rows(cur, ("capacity_rejected_keys",), ("loc", "loc_name"), keys, types=("text", "text"))
        cur.execute("ANALYZE capacity_rejected_keys")
        cur.execute("SET LOCAL work_mem = '256MB'")  # hash joins of a whole file in memory
        # The history's statistics lag a slice loaded minutes ago (estimated at 1 row), which
        # makes a nested loop over the whole file look cheap: 50,000 rows took minutes that way.
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(_sql("history_close", schema, table, statements), history_params)
        counts.versions_closed = cur.rowcount
        cur.execute(_sql("history_open", schema, table, statements), history_params)
        counts.versions_opened = cur.rowcount
        cur.execute(_sql("merge", schema, table, statements))
        counts.inserted, counts.updated = cur.fetchone()
        cur.execute(_sql("delete_missing", schema, table, statements), slice_params)
        counts.deleted = cur.rowcount
        cur.execute(_sql("rejected_keys_kept", schema, table, statements), slice_params)
        counts.kept_rejected = cur.fetchone()[0]
    cur.execute(_sql("rejects_clear", schema, table, statements), slice_params)
    if parsed.rejects:
        cur.executemany(
            _sql("rejects_insert", schema, table, statements),
            [
                {
                    **slice_params,
                    "source_file": parsed.filename,
                    "line_number": reject.line,
                    "field": reject.field,
                    "reason": reject.reason,
                    "raw_record": json.dumps(reject.raw),
                    "run_id": history_params["run_id"],
                }
                for reject in parsed.rejects
            ],
        )


# ---------------------------------------------------------------- task bodies


def plan_cycles(params: dict[str, Any], interval_start: datetime | None, run_after: datetime) -> list[dict[str, Any]]:
    from etl_bundle.tec.config import load_config, plan_targets
    from etl_bundle.tec.transforms import gas_day_of_run

    config = load_config()
    gas_day = gas_day_of_run(params.get("gas_day"), interval_start, run_after)
    lookback = params.get("lookback_days")
    lookback = int(config.get("lookback_days", 0) if lookback is None else lookback)
    targets = plan_targets(config, gas_day, params.get("endpoints"), params.get("cycles"), lookback)
    log.info("gas day %s: %d (endpoint, cycle) targets, with %d look-back day(s)", gas_day, len(targets), lookback)
    return targets


def load_published_cycle(
    published: dict[str, Any],
    *,
    conn_id: str,
    http_conn_id: str,
    run_id: str | None,
    dry_run: bool,
    max_rejected_rows: int,
    replay: bool = False,
    statements: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Download the published file again, archive it, parse it, and merge it (unless ``dry_run``).
    With ``replay`` the newest archived file is loaded instead (Energy Transfer not asked).
    ``statements``: the merge's SQL already rendered (see ``merge_capacity``)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.config import load_config, target_label
    from etl_bundle.tec.fetch import decode_csv, fetch_cycle
    from etl_bundle.tec.transforms import CapacityFileError, cycle_id, parse_capacity_csv

    config = load_config()
    endpoint = config["endpoints"][published["endpoint"]]
    gas_day = date.fromisoformat(published["gas_day"])
    answer, publication = fetch_cycle(http_conn_id, published, config, replay=replay)
    if not publication.published:
        raise RuntimeError(f"{target_label(published)} was published but now answers: {publication.reason}")
    if not (replay or dry_run):  # archived before parsing: a file that fails to parse is kept too
        from etl_bundle.tec.archive import archive_file

        archived = archive_file(
            config["archive"],
            endpoint=published["endpoint"],
            gas_day=gas_day,
            cycle_id=cycle_id(published["cycle"]),
            filename=publication.filename,
            body=answer.body,
            downloaded_at=answer.downloaded_at,
        )
        log.info("archived as %s", archived)
    try:
        parsed = parse_capacity_csv(
            decode_csv(answer.body, publication.filename),
            filename=publication.filename,
            measure_date=gas_day,
            cycle_name=published["cycle"],
            downloaded_at=answer.downloaded_at,
            source_system=config["source_system"],
        )
    except CapacityFileError as err:
        # A malformed file does not mend itself on retry: fail now, nothing loaded.
        raise AirflowFailException(f"{err}. Nothing loaded for {target_label(published)}.") from err
    if not parsed.rows:
        raise AirflowFailException(
            f"{parsed.filename}: no valid row ({len(parsed.rejects)} rejected); nothing loaded, "
            "the previous rows of this cycle are kept"
        )
    for reject in parsed.rejects[:20]:
        log.warning("%s line %d field %s rejected: %s", parsed.filename, reject.line, reject.field, reject.reason)
    if len(parsed.rejects) > max_rejected_rows:
        first = parsed.rejects[0]
        raise AirflowFailException(
            f"{parsed.filename}: {len(parsed.rejects)} rows rejected (more than max_rejected_rows="
            f"{max_rejected_rows}); first: line {first.line}, field {first.field}: {first.reason}. Nothing loaded."
        )
    summary: dict[str, Any] = {
        **published,
        "file": parsed.filename,
        "parsed_rows": len(parsed.rows),
        "rejected_rows": len(parsed.rejects),
        "table": f"{endpoint['schema']}.{endpoint['table']}",
    }
    if dry_run:
        from airflow.sdk.exceptions import AirflowSkipException

        # Skipped, not succeeded: no Asset event and no quality gate for a load that wrote nothing.
        raise AirflowSkipException(
            f"dry run: {parsed.filename} parsed {len(parsed.rows)} rows, "
            f"rejected {len(parsed.rejects)}; nothing written"
        )
    observed_at = datetime.fromtimestamp(answer.downloaded_at, tz=UTC)
    summary["observed_at"] = observed_at.isoformat()
    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    try:
        counts = merge_capacity(
            conn,
            schema=endpoint["schema"],
            table=endpoint["table"],
            parsed=parsed,
            measure_date=gas_day,
            cycle_id=cycle_id(published["cycle"]),
            observed_at=observed_at,
            run_id=run_id,
            statements=statements,
        )
    finally:
        conn.close()
    summary.update(asdict(counts))
    if counts.skipped:
        log.warning("skipped: %s", counts.skipped)
    else:
        log.info("%s: %s", parsed.filename, asdict(counts))
    return summary


def check_loaded_cycle(loaded: dict[str, Any], *, conn_id: str) -> dict[str, Any]:
    """The data-quality gate: no null or duplicate keys, loaded rows == the rows the slice's latest
    load left (its valid rows plus the rows kept for rejected keys) == current versions (over the
    bundle's rows; the original's rows left in the slice are counted as kept).

    It holds the slice's lock, so no load writes while it reads, and compares the table with the
    slice's latest load: its own load's, or, when a newer file has been loaded since (or its own
    load was skipped as older), that newer load's, said so in the result."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.transforms import cycle_id

    endpoint = load_config()["endpoints"][loaded["endpoint"]]
    schema, table = endpoint["schema"], endpoint["table"]
    measure_date, stored_cycle = date.fromisoformat(loaded["gas_day"]), cycle_id(loaded["cycle"])
    params = {"measure_date": measure_date, "cycle_id": stored_cycle}
    with values_kept_out(f"quality gate of {loaded['file']} in {loaded['table']}"):
        conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
        try:
            with conn.cursor() as cur:
                lock_slice(cur, schema, table, measure_date, stored_cycle)
                cur.execute(_sql("slice_load_latest", schema, table), params)
                latest = cur.fetchone()
                cur.execute(_sql("quality_checks", schema, table), params)
                null_keys, duplicate_keys, loaded_rows, current_versions, original_rows_kept = cur.fetchone()
            conn.rollback()
        finally:
            conn.close()
    own_rows = loaded["parsed_rows"] + loaded.get("kept_rejected", 0)
    checked_load = "own"
    if latest is None:  # a slice loaded before load records existed
        expected_rows = own_rows
    else:
        latest_observed, latest_file, expected_rows, latest_run = latest
        if loaded.get("skipped") or latest_observed != _observed_at(loaded):
            checked_load = f"{latest_file} (run {latest_run}), the newest file loaded into this day and cycle"
    failures = []
    if null_keys:
        failures.append(f"{null_keys} rows with a null key")
    if duplicate_keys:
        failures.append(f"{duplicate_keys} duplicate keys")
    if loaded_rows != expected_rows:
        failures.append(f"{loaded_rows} rows in the table, {expected_rows} loaded")
    if current_versions != loaded_rows:
        failures.append(f"{current_versions} current history versions for {loaded_rows} rows")
    if failures:
        raise AirflowFailException(
            f"quality gate failed for {loaded['file']} in {loaded['table']} (checking the load of "
            f"{loaded['file'] if checked_load == 'own' else checked_load}): " + "; ".join(failures)
        )
    if checked_load != "own":
        log.info("%s: the slice holds a newer load, checked instead: %s", loaded["file"], checked_load)
    return {
        "checked": True,
        "checked_load": checked_load,
        "loaded_rows": loaded_rows,
        "original_rows_kept": original_rows_kept,
    }


def _observed_at(loaded: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(loaded["observed_at"]) if loaded.get("observed_at") else None


def check_run_outcome(targets: list[dict[str, Any]], ti, *, dry_run: bool) -> dict[str, Any]:
    """The run's final check (trigger rule all_done, the run's leaf, so its state is the run's):
    fails naming every cycle whose wait, load or gate failed, and fails when every cycle of
    the run's own gas day ended skipped (none published by its deadline), naming them and
    why, instead of showing green. Skipped look-back targets are normal (nothing new)."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.config import target_label
    from etl_bundle.tec.sensors import OUTCOME_KEY

    loaded, skipped, failed = [], [], []
    for index, target in enumerate(targets):
        label = target_label(target)
        if ti.xcom_pull(task_ids="cycle.wait_until_published", map_indexes=index) is not None:
            if dry_run or ti.xcom_pull(task_ids="cycle.quality_gate", map_indexes=index) is not None:
                loaded.append(label)
            else:
                failed.append(f"{label}: published, but its load or quality gate failed")
            continue
        outcome = ti.xcom_pull(task_ids="cycle.wait_until_published", key=OUTCOME_KEY, map_indexes=index)
        if outcome is None:
            failed.append(f"{label}: waiting for it failed")
        elif not target.get("lookback"):
            skipped.append(outcome["reason"])
    if failed:
        raise AirflowFailException("cycle task(s) failed: " + "; ".join(failed))
    own_day = [t for t in targets if not t.get("lookback")]
    if own_day and len(skipped) == len(own_day):
        raise AirflowFailException("no cycle of the run's gas day was loaded: " + "; ".join(skipped))
    return {"loaded": loaded, "skipped": skipped}
