"""The eCapris statuses sync: what each task of ``ecapris_statuses_sync`` does.

Moped's subproject ids (Hasura) -> their statuses from the Oracle view, in batches
of ids -> Moped payloads (rejects quarantined in the warehouse) -> compared with
Moped's copy -> only new and changed statuses upserted, in batches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from typing import Any

from etl_bundle.ecapris.transforms import Reject, plan_changes, subproject_number, transform_rows

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


def status_query_batches(dialect: str, numbers: list[Decimal], batch_size: int) -> Iterator[tuple[str, dict]]:
    """``(sql, binds)`` per batch of subproject numbers.

    Oracle gets ``IN (:sp_0, ...)``; a short last batch repeats its last number so every
    batch has the same text and Oracle parses the statement once. The stand-in gets an array.
    """
    from etl_bundle.common.sql import render_sql

    for start in range(0, len(numbers), batch_size):
        batch = numbers[start : start + batch_size]
        if dialect == "oracle":
            padded = batch + [batch[-1]] * (batch_size - len(batch)) if len(numbers) > batch_size else batch
            sql = render_sql(STATUSES_TEMPLATE, dialect=dialect, id_count=len(padded))
            yield sql, {f"sp_{i}": number for i, number in enumerate(padded)}
        else:
            yield render_sql(STATUSES_TEMPLATE, dialect=dialect, id_count=len(batch)), {"sp_numbers": batch}


def read_statuses(oracle_conn_id: str, numbers: list[Decimal], batch_size: int) -> list[dict[str, Any]]:
    from etl_bundle.common.source_db import dict_rows, source_cursor

    rows: list[dict[str, Any]] = []
    with source_cursor(oracle_conn_id) as (cursor, dialect):
        for sql, binds in status_query_batches(dialect, numbers, batch_size):
            cursor.execute(sql, binds)
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
) -> dict[str, Any]:
    """Read both sides and decide what to send: ``{"objects": [...], "summary": {...}}``."""
    from etl_bundle.ecapris.moped import MopedClient

    numbers = {moped_id: subproject_number(moped_id) for moped_id in subprojects["subproject_ids"]}
    rows = read_statuses(oracle_conn_id, sorted(set(numbers.values())), batch_size)
    found = {_number_or_none(row.get("SP_NUMBER")) for row in rows}
    without_rows = sorted(moped_id for moped_id, number in numbers.items() if number not in found)

    transformed = transform_rows(rows)
    _quarantine(transformed.rejects, warehouse_conn_id, run_id, dry_run=dry_run)
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


def _quarantine(rejects: list[Reject], warehouse_conn_id: str, run_id: str, *, dry_run: bool) -> None:
    for reject in rejects[:LOGGED_REJECTS]:
        log.warning("rejected %s", reject.describe())
    if len(rejects) > LOGGED_REJECTS:
        log.warning("... and %d more rejected rows", len(rejects) - LOGGED_REJECTS)
    if dry_run or not rejects:
        return
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.sql import render_sql

    with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn:
        with conn.cursor() as cursor:
            cursor.executemany(
                render_sql("ecapris/insert_reject.sql", dialect="postgres"),
                [
                    {
                        "run_id": run_id,
                        "subproject_status_id": _text_or_none(reject.subproject_status_id),
                        "ecapris_subproject_id": _text_or_none(reject.ecapris_subproject_id),
                        "field": reject.field,
                        "reason": reject.reason,
                        "source_row": json.dumps(reject.row, sort_keys=True),
                    }
                    for reject in rejects
                ],
            )
        conn.commit()
    log.warning("%d rejected rows quarantined in staging.ecapris_status_rejects (run %s)", len(rejects), run_id)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def send_changes(planned: dict[str, Any], *, hasura_conn_id: str, batch_size: int) -> dict[str, Any]:
    """Upsert the planned statuses in batches; every object must come back in ``returning``."""
    from etl_bundle.ecapris.moped import MopedClient

    client = MopedClient(hasura_conn_id)
    objects = planned["objects"]
    returned = 0
    for start in range(0, len(objects), batch_size):
        batch = objects[start : start + batch_size]
        returning = client.upsert_statuses(batch)
        if len(returning) != len(batch):
            raise RuntimeError(f"Moped's Hasura returned {len(returning)} of {len(batch)} upserted statuses")
        returned += len(returning)
    repairs = planned.get("name_repairs", [])
    repaired = sum(
        client.repair_names(repairs[start : start + batch_size]) for start in range(0, len(repairs), batch_size)
    )
    summary = {
        **planned["summary"],
        "inserted": planned["summary"]["to_insert"],
        "updated": planned["summary"]["to_update"],
        "names_repaired": repaired,
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
