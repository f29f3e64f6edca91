"""Loading one cycle's file: COPY to a staging table, then merge and SCD2 history in one transaction."""

from __future__ import annotations

import json
import logging
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


def _sql(name: str, schema: str, table: str) -> str:
    return render_sql(
        f"tec/{name}.sql",
        dialect="postgres",
        schema=schema,
        table=table,
        columns=TARGET_COLUMNS,
        update_columns=UPDATE_COLUMNS,
    )


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
) -> MergeCounts:
    """Replace one (measure_date, cycle_id) slice with the file's rows, keeping history.

    Rows the original wrote (``row_hash`` NULL) are only ever updated in place through
    the key (keeping ``id`` and ``created_at``), never deleted: see
    include/sql/tec/migrations/0001_adopt_operational_capacity.sql.

    Everything happens in one transaction on ``conn`` (a psycopg 3 connection):
    staging COPY, history close/open, the upsert, the delete of vanished keys and
    the rejects. A failure anywhere rolls all of it back. A slice loaded for the
    first time skips the staging table and the upsert (nothing to compare with).
    """
    if not parsed.rows:
        raise ValueError(f"{parsed.filename}: no valid row to load ({len(parsed.rejects)} rejected)")
    counts = MergeCounts(staged=len(parsed.rows), rejected=len(parsed.rejects))
    slice_params = {"measure_date": measure_date, "cycle_id": cycle_id}
    history_params = {**slice_params, "observed_at": observed_at, "run_id": run_id}
    try:
        with conn.cursor() as cur:
            # One loader at a time per table, day and cycle (a backfill and a rerun may overlap).
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{schema}.{table}:{measure_date}:{cycle_id}",))
            cur.execute(_sql("slice_is_new", schema, table), slice_params)
            if cur.fetchone()[0]:
                # First load of the slice (most loads): nothing to compare with, so the
                # rows go straight into the table and open their first versions.
                copy_rows(cur, (schema, table), TARGET_COLUMNS, parsed.rows, types=TARGET_TYPES)
                cur.execute(_sql("history_open_from_target", schema, table), history_params)
                counts.inserted, counts.versions_opened = counts.staged, cur.rowcount
            else:
                cur.execute(_sql("stage", schema, table))
                copy_rows(cur, ("capacity_stage",), TARGET_COLUMNS, parsed.rows, types=TARGET_TYPES)
                cur.execute("ANALYZE capacity_stage")  # a temporary table has no statistics until asked
                cur.execute("SET LOCAL work_mem = '256MB'")  # hash joins of a whole file in memory
                cur.execute(_sql("history_close", schema, table), history_params)
                counts.versions_closed = cur.rowcount
                cur.execute(_sql("history_open", schema, table), history_params)
                counts.versions_opened = cur.rowcount
                cur.execute(_sql("merge", schema, table))
                counts.inserted, counts.updated = cur.fetchone()
                cur.execute(_sql("delete_missing", schema, table), slice_params)
                counts.deleted = cur.rowcount
            cur.execute(_sql("rejects_clear", schema, table), slice_params)
            if parsed.rejects:
                cur.executemany(
                    _sql("rejects_insert", schema, table),
                    [
                        {
                            **slice_params,
                            "source_file": parsed.filename,
                            "line_number": reject.line,
                            "field": reject.field,
                            "reason": reject.reason,
                            "raw_record": json.dumps(reject.raw),
                            "run_id": run_id,
                        }
                        for reject in parsed.rejects
                    ],
                )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    counts.unchanged = counts.staged - counts.inserted - counts.updated
    return counts


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
) -> dict[str, Any]:
    """Download the published file again, archive it, parse it, and merge it (unless ``dry_run``).
    With ``replay`` the newest archived file is loaded instead (Energy Transfer not asked)."""
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
    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    try:
        counts = merge_capacity(
            conn,
            schema=endpoint["schema"],
            table=endpoint["table"],
            parsed=parsed,
            measure_date=gas_day,
            cycle_id=cycle_id(published["cycle"]),
            observed_at=datetime.fromtimestamp(answer.downloaded_at, tz=UTC),
            run_id=run_id,
        )
    finally:
        conn.close()
    summary.update(asdict(counts))
    log.info("%s: %s", parsed.filename, asdict(counts))
    return summary


def check_loaded_cycle(loaded: dict[str, Any], *, conn_id: str) -> dict[str, Any]:
    """The data-quality gate: no null or duplicate keys, loaded rows == parsed rows == current versions
    (over the bundle's rows; the original's rows left in the slice are counted as kept)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.transforms import cycle_id

    endpoint = load_config()["endpoints"][loaded["endpoint"]]
    sql = render_sql("tec/quality_checks.sql", dialect="postgres", schema=endpoint["schema"], table=endpoint["table"])
    row = PostgresHook(postgres_conn_id=conn_id).get_first(
        sql, parameters={"measure_date": date.fromisoformat(loaded["gas_day"]), "cycle_id": cycle_id(loaded["cycle"])}
    )
    null_keys, duplicate_keys, loaded_rows, current_versions, original_rows_kept = row
    failures = []
    if null_keys:
        failures.append(f"{null_keys} rows with a null key")
    if duplicate_keys:
        failures.append(f"{duplicate_keys} duplicate keys")
    if loaded_rows != loaded["parsed_rows"]:
        failures.append(f"{loaded_rows} rows in the table, {loaded['parsed_rows']} parsed")
    if current_versions != loaded_rows:
        failures.append(f"{current_versions} current history versions for {loaded_rows} rows")
    if failures:
        raise AirflowFailException(
            f"quality gate failed for {loaded['file']} in {loaded['table']}: " + "; ".join(failures)
        )
    return {"checked": True, "loaded_rows": loaded_rows, "original_rows_kept": original_rows_kept}


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
