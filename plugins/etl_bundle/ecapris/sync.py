"""The eCapris statuses sync: what each task of ``ecapris_statuses_sync`` does.

Moped's subproject ids (Hasura) -> their statuses from the Oracle view, in batches
of ids -> Moped payloads (rejects quarantined in the warehouse) -> compared with
Moped's copy -> only new and changed statuses upserted, in batches.

A retry of the upsert gets the same plan (XCom): it compares the plan with Moped's
copy again, so nothing an earlier try applied is sent twice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from decimal import Decimal
from typing import Any

from etl_bundle.common.http_retries import TransientHttpError
from etl_bundle.ecapris.transforms import ChangePlan, Reject, plan_changes, subproject_number, transform_rows

QUARANTINE = "staging.ecapris_status_rejects"
DEFAULT_RETENTION_DAYS = 30

log = logging.getLogger(__name__)

STATUSES_TEMPLATE = "ecapris/subproject_statuses.sql"
LOGGED_REJECTS = 20


def list_subprojects(hasura_conn_id: str, *, respect_sync_flag: bool) -> dict[str, Any]:
    """Moped's eCapris ids that are valid subproject numbers, and those that are not."""
    from etl_bundle.ecapris.moped import MopedClient

    ids = MopedClient(hasura_conn_id).subproject_ids(respect_sync_flag=respect_sync_flag)
    valid, invalid = [], []
    for moped_id in ids:
        try:
            subproject_number(moped_id)
            valid.append(moped_id)
        except ValueError:
            invalid.append(moped_id)
    if invalid:
        log.warning("Moped ids that are not eCapris subproject numbers, not synced: %s", ", ".join(invalid))
    log.info(
        "%d eCapris subproject ids in Moped%s",
        len(valid),
        " with sync on" if respect_sync_flag else " (sync flag ignored)",
    )
    return {"subproject_ids": valid, "invalid_ids": invalid}


def status_query_batches(
    dialect: str, numbers: list[Decimal], batch_size: int, sql: str | None = None
) -> Iterator[tuple[str, dict]]:
    """``(sql, binds)`` per batch of subproject numbers.

    Oracle gets ``IN (:sp_0, ...)``; a short last batch repeats its last number so every
    batch has the same text and Oracle parses the statement once. The stand-in gets an array.
    ``sql`` is the statement as Airflow rendered it (``batch_size`` Oracle binds): every
    batch is then padded to its binds, one text for the whole run.
    """
    if sql is not None:
        yield from _rendered_batches(dialect, numbers, batch_size, sql)
        return
    # Without Airflow's rendering (a call from a script or test), the IN list is sized per run here.
    from etl_bundle.common.sql import render_sql

    for start in range(0, len(numbers), batch_size):
        batch = numbers[start : start + batch_size]
        if dialect == "oracle":
            padded = batch + [batch[-1]] * (batch_size - len(batch)) if len(numbers) > batch_size else batch
            sql = render_sql(STATUSES_TEMPLATE, dialect=dialect, id_count=len(padded))
            yield sql, {f"sp_{i}": number for i, number in enumerate(padded)}
        else:
            yield render_sql(STATUSES_TEMPLATE, dialect=dialect, id_count=len(batch)), {"sp_numbers": batch}


_ORACLE_BIND = re.compile(r":sp_(\d+)\b")


def _rendered_batches(dialect: str, numbers: list[Decimal], batch_size: int, sql: str) -> Iterator[tuple[str, dict]]:
    if dialect != "oracle":
        for start in range(0, len(numbers), batch_size):
            yield sql, {"sp_numbers": numbers[start : start + batch_size]}
        return
    bind_count = len(set(_ORACLE_BIND.findall(sql)))
    if bind_count < batch_size:
        raise ValueError(f"the rendered statuses query binds {bind_count} ids, fewer than batch_size {batch_size}")
    for start in range(0, len(numbers), batch_size):
        batch = numbers[start : start + batch_size]
        padded = batch + [batch[-1]] * (bind_count - len(batch))
        yield sql, {f"sp_{i}": number for i, number in enumerate(padded)}


def read_statuses(
    oracle_conn_id: str, numbers: list[Decimal], batch_size: int, sql: str | None = None
) -> list[dict[str, Any]]:
    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.source_db import dict_rows, source_cursor

    rows: list[dict[str, Any]] = []
    with values_kept_out(f"reading {STATUSES_TEMPLATE} on {oracle_conn_id}"):
        with source_cursor(oracle_conn_id) as (cursor, dialect):
            for sql_text, binds in status_query_batches(dialect, numbers, batch_size, sql):
                cursor.execute(sql_text, binds)
                rows.extend(dict_rows(cursor))
    return rows


def plan_sync(
    subprojects: dict[str, Any],
    *,
    oracle_conn_id: str,
    hasura_conn_id: str,
    warehouse_conn_id: str,
    batch_size: int,
    run_id: str,
    dry_run: bool,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    sql: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Read both sides and decide what to send: ``{"objects": [...], "summary": {...}}``.

    ``sql`` holds the statements as Airflow rendered them (``statuses``, ``insert_reject``,
    ``purge_rejects``); a missing one is rendered here.
    """
    from etl_bundle.ecapris.moped import MopedClient

    sql = sql or {}
    numbers = {moped_id: subproject_number(moped_id) for moped_id in subprojects["subproject_ids"]}
    rows = read_statuses(oracle_conn_id, sorted(set(numbers.values())), batch_size, sql.get("statuses"))
    found = {_number_or_none(row.get("SP_NUMBER")) for row in rows}
    without_rows = sorted(moped_id for moped_id, number in numbers.items() if number not in found)

    transformed = transform_rows(rows)
    quarantined = quarantine_rejects(
        transformed.rejects, warehouse_conn_id, run_id, retention_days=retention_days, dry_run=dry_run, sql=sql
    )
    existing = MopedClient(hasura_conn_id).existing_statuses(
        (s["subproject_status_id"] for s in transformed.statuses), batch_size
    )
    plan = plan_changes(transformed.statuses, existing)

    summary = {
        "ids_synced": len(numbers) - len(without_rows),
        "ids_without_oracle_rows": len(without_rows),
        "ids_not_numbers": len(subprojects["invalid_ids"]),
        "oracle_rows": len(rows),
        "to_insert": len(plan.inserts),
        "to_update": len(plan.updates),
        "unchanged": plan.unchanged,
        "names_to_repair": len(plan.name_repairs),
        "rejected": len(transformed.rejects),
        **quarantined,
        "dry_run": dry_run,
    }
    if without_rows:
        log.info("No Oracle rows for eCapris ids: %s", ", ".join(without_rows))
    log.info("Plan: %s", ", ".join(f"{k} {v}" for k, v in summary.items()))
    if dry_run:
        changes = [("insert", s) for s in plan.inserts] + [("update", s) for s in plan.updates]
        for change, status in changes[:LOGGED_REJECTS]:
            log.info(
                "dry run: would %s status %s of %s",
                change,
                status["subproject_status_id"],
                status["ecapris_subproject_id"],
            )
    return {"objects": plan.objects, "name_repairs": plan.name_repairs, "summary": summary}


def _number_or_none(value: Any) -> Decimal | None:
    try:
        return subproject_number(str(value))
    except ValueError:
        return None


def quarantine_rejects(
    rejects: list[Reject],
    warehouse_conn_id: str,
    run_id: str,
    *,
    retention_days: int,
    dry_run: bool,
    sql: dict[str, str] | None = None,
) -> dict[str, int]:
    """Keep each rejected row once in the quarantine, then purge rows not seen for ``retention_days``.

    One transaction. A row quarantined by an earlier run is seen again (first_seen_at kept);
    a retry of this run adds and changes nothing. The counts: newly quarantined, seen
    again, and purged.
    """
    for reject in rejects[:LOGGED_REJECTS]:
        log.warning("rejected %s", reject.describe())
    if len(rejects) > LOGGED_REJECTS:
        log.warning("... and %d more rejected rows", len(rejects) - LOGGED_REJECTS)
    counts = {"quarantined_new": 0, "quarantined_seen_again": 0, "quarantine_purged": 0}
    if dry_run:
        return counts
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.db_errors import values_kept_out
    from etl_bundle.common.sql import render_sql

    sql = sql or {}
    with values_kept_out(f"quarantining rejected rows in {QUARANTINE}"):
        with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn:
            with conn.cursor() as cursor:
                if rejects:
                    cursor.executemany(
                        sql.get("insert_reject") or render_sql("ecapris/insert_reject.sql", dialect="postgres"),
                        quarantine_rows(rejects, run_id),
                        returning=True,
                    )
                    while True:
                        for (is_new,) in cursor.fetchall():
                            counts["quarantined_new" if is_new else "quarantined_seen_again"] += 1
                        if not cursor.nextset():
                            break
                cursor.execute(
                    sql.get("purge_rejects") or render_sql("ecapris/purge_rejects.sql", dialect="postgres"),
                    {"retention_days": retention_days},
                )
                counts["quarantine_purged"] = cursor.rowcount
            conn.commit()
    if rejects:
        log.warning(
            "%d rejected rows in %s: %d new, %d seen again by this run, %d already recorded by this run (a retry)",
            len(rejects),
            QUARANTINE,
            counts["quarantined_new"],
            counts["quarantined_seen_again"],
            len(rejects) - counts["quarantined_new"] - counts["quarantined_seen_again"],
        )
    log.info("%d quarantined rows not seen for %d days purged", counts["quarantine_purged"], retention_days)
    return counts


def quarantine_rows(rejects: list[Reject], run_id: str) -> list[dict[str, Any]]:
    """The insert's parameters; identical rows of one read get copy numbers 1, 2, … so none is lost."""
    copies: dict[str, int] = {}
    rows = []
    for reject in rejects:
        source_row = json.dumps(_storable(reject.row), sort_keys=True, ensure_ascii=False)
        copies[source_row] = copies.get(source_row, 0) + 1
        rows.append(
            {
                "run_id": run_id,
                "copy_number": copies[source_row],
                "subproject_status_id": _text_or_none(reject.subproject_status_id),
                "ecapris_subproject_id": _text_or_none(reject.ecapris_subproject_id),
                "field": reject.field,
                "reason": reject.reason,
                "source_row": source_row,
            }
        )
    return rows


def _storable(row: dict[str, Any]) -> dict[str, Any]:
    """The source row as JSONB can hold it: a NUL shown as U+2400 (jsonb has no \\u0000), unpaired
    surrogates replaced."""
    return {
        key: value.replace("\x00", "\u2400").encode("utf-8", "replace").decode("utf-8")
        if isinstance(value, str)
        else value
        for key, value in row.items()
    }


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def send_changes(planned: dict[str, Any], *, hasura_conn_id: str, batch_size: int) -> dict[str, Any]:
    """Upsert the planned statuses in batches; every object must come back in ``returning``."""
    from etl_bundle.ecapris.moped import MopedClient

    client = MopedClient(hasura_conn_id)
    planned_objects = planned["objects"]
    planned_repairs = planned.get("name_repairs", [])
    left, repairs = still_to_send(client, planned_objects, planned_repairs, batch_size)
    objects = left.objects
    already_applied = len(planned_objects) + len(planned_repairs) - len(objects) - len(repairs)
    if already_applied:
        log.warning("%d planned changes are in Moped already (applied by an earlier try): not resent", already_applied)

    def upsert(batch: list[dict[str, Any]]) -> int:
        returning = client.upsert_statuses(batch)
        if len(returning) != len(batch):
            raise RuntimeError(f"Moped's Hasura returned {len(returning)} of {len(batch)} upserted statuses")
        return len(returning)

    def upserts_left(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return still_to_send(client, batch, [], batch_size)[0].objects

    def repairs_left(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return still_to_send(client, [], batch, batch_size)[1]

    returned = sum(
        send_without_repeats(upsert, objects[start : start + batch_size], upserts_left, what="upsert")
        for start in range(0, len(objects), batch_size)
    )
    repaired = sum(
        send_without_repeats(client.repair_names, repairs[start : start + batch_size], repairs_left, what="repair")
        for start in range(0, len(repairs), batch_size)
    )
    summary = {
        **planned["summary"],
        "inserted": len(left.inserts),
        "updated": len(left.updates),
        "names_repaired": repaired,
        "already_applied": already_applied,
        "sent": returned,
    }
    log.info(
        "Synced %d ids: %d statuses inserted, %d updated, %d unchanged, %d rejected; %d ids without Oracle rows",
        summary["ids_synced"],
        summary["inserted"],
        summary["updated"],
        summary["unchanged"],
        summary["rejected"],
        summary["ids_without_oracle_rows"],
    )
    return summary


def still_to_send(
    client: Any, objects: list[dict[str, Any]], repairs: list[dict[str, Any]], batch_size: int
) -> tuple[ChangePlan, list[dict[str, Any]]]:
    """The planned upserts (as a plan against Moped's current copy) and name repairs it does not hold yet."""
    if not objects and not repairs:
        return ChangePlan(), []
    ids = [status["subproject_status_id"] for status in objects] + [r["subproject_status_id"] for r in repairs]
    current = client.existing_statuses(ids, batch_size)
    repairs_left = [
        repair
        for repair in repairs
        if (current.get(repair["subproject_status_id"]) or {}).get("subproject_name") != repair["subproject_name"]
    ]
    return plan_changes(objects, current), repairs_left


def send_without_repeats(
    send: Callable[[list[dict[str, Any]]], int],
    batch: list[dict[str, Any]],
    left_to_send: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    *,
    what: str,
    attempts: int = 3,
) -> int:
    """``send(batch)``, retried on transient failures, but never blindly.

    A 5xx, a timeout or a dropped connection can come after Hasura committed: before
    sending again, Moped is read back (``left_to_send``) and only what it lacks is sent.
    """
    import time

    import requests

    for attempt in range(1, attempts + 1):
        try:
            return send(batch)
        except (TransientHttpError, requests.ConnectionError, requests.Timeout) as err:
            if attempt == attempts:
                raise
            log.warning("Moped %s of %d failed (%s); reading Moped back before sending again", what, len(batch), err)
            time.sleep(min(2**attempt, 30))
            batch = left_to_send(batch)
            if not batch:
                return 0
    raise AssertionError("unreachable")
