"""reporting_seeder's tables: manifest reads, run history, job status, the shared breaker.

Custom views are recorded in the original's Django tables (``seeder_run_history``,
``seeder_job_status``); canned views in the bundle's ``seeder_canned_run_history`` and
``seeder_canned_job_status``, because the Django tables' foreign keys hold custom
manifests only (see migration 0001). History and job status are written on an
autocommit connection, so a view's ``running`` row is visible at once and its
``error`` row survives the rollback of the view's own transaction. The breaker's row
is read and written under a row lock, with the database's clock.
"""

from __future__ import annotations

from typing import Any

from etl_bundle.common.circuit_breaker import BreakerState, CircuitBreaker
from etl_bundle.reporting import reporting_sql
from etl_bundle.reporting.manifest import ManifestEntry

BREAKER_NAME = "reporting_seeder"
# report type -> where its views' attempts and latest state are recorded
RECORD_TABLES = {
    "custom": {"history_table": "seeder_run_history", "status_table": "seeder_job_status"},
    "canned": {"history_table": "seeder_canned_run_history", "status_table": "seeder_canned_job_status"},
}


def record_tables(report_type: str) -> dict[str, str]:
    try:
        return RECORD_TABLES[report_type]
    except KeyError:
        raise ValueError(f"report type must be one of {sorted(RECORD_TABLES)}, got {report_type!r}") from None


def manifest_entries(cursor) -> list[ManifestEntry]:
    return [ManifestEntry(*row) for row in cursor.execute(reporting_sql("manifest")).fetchall()]


def stored_hash(cursor, view: dict[str, Any]) -> str | None:
    template = reporting_sql("job_status_hash", **record_tables(view["report_type"]))
    row = cursor.execute(template, {"table_name": view["table_name"]}).fetchone()
    return row[0] if row else None


def _identity(view: dict[str, Any], run_id: str) -> dict[str, Any]:
    keys = ("manifest_id", "table_name", "report_name", "agency_id", "agency_slug", "report_type")
    return {"run_id": run_id, **{key: view[key] for key in keys}}


def record_start(cursor, view: dict[str, Any], run_id: str) -> int:
    """A history row for this attempt, and the view's job status set to running; the history id."""
    tables = record_tables(view["report_type"])
    identity = _identity(view, run_id)
    history_id, started, failures = cursor.execute(reporting_sql("history_start", **tables), identity).fetchone()
    cursor.execute(
        reporting_sql("job_status_start", **tables),
        {**identity, "start_time": started, "consecutive_failures": failures},
    )
    return history_id


def record_finish(
    cursor,
    view: dict[str, Any],
    run_id: str,
    history_id: int,
    *,
    status: str,
    action: str | None,
    rows: int = 0,
    size: int = 0,
    errors: str | None = None,
    built_hash: str | None = None,
) -> int:
    """Close the history row and update job status; the view's consecutive failures after it."""
    tables = record_tables(view["report_type"])
    failures, duration = cursor.execute(
        reporting_sql("history_finish", **tables),
        {
            "history_id": history_id,
            "status": status,
            "action": action,
            "records": rows,
            "bytes": size,
            "errors": errors,
        },
    ).fetchone()
    cursor.execute(
        reporting_sql("job_status_finish", **tables),
        {
            "table_name": view["table_name"],
            "status": status,
            "duration_seconds": duration,
            "consecutive_failures": failures,
            "errors": errors,
            "query_hash": built_hash,
        },
    )
    return failures


def record_skipped(cursor, view: dict[str, Any], run_id: str, reason: str) -> None:
    template = reporting_sql("history_skipped", **record_tables(view["report_type"]))
    cursor.execute(template, {**_identity(view, run_id), "errors": reason})


def run_outcome(cursor, run_id: str) -> dict[str, dict[str, Any]]:
    rows = cursor.execute(reporting_sql("run_outcome"), {"run_id": run_id}).fetchall()
    return {
        table: {"status": status, "action": action, "errors": errors, "rows": records}
        for table, status, action, errors, records in rows
    }


def breaker_check(conn, breaker: CircuitBreaker) -> tuple[bool, str]:
    """Whether the breaker lets a view run now, and its state in words."""
    state, now = _lock_breaker(conn)
    conn.commit()
    return breaker.allows(state, now), breaker.describe(state, now)


def breaker_record(conn, breaker: CircuitBreaker, *, run_id: str, table_name: str, failed: bool) -> BreakerState:
    """Count a success or this run's first failure of the view; the breaker's new state."""
    state, now = _lock_breaker(conn)
    with conn.cursor() as cursor:
        if failed:
            first = cursor.execute(
                reporting_sql("breaker_count_failure"), {"run_id": run_id, "table_name": table_name}
            ).fetchone()
            new_state = breaker.after_failure(state, now) if first else state
        else:
            new_state = breaker.after_success(state)
        cursor.execute(
            reporting_sql("breaker_save"),
            {"name": BREAKER_NAME, "failures": new_state.failures, "opened_at": new_state.opened_at},
        )
    conn.commit()
    return new_state


def _lock_breaker(conn):
    with conn.cursor() as cursor:
        cursor.execute(reporting_sql("breaker_ensure"), {"name": BREAKER_NAME})
        failures, opened_at, now = cursor.execute(reporting_sql("breaker_lock"), {"name": BREAKER_NAME}).fetchone()
    return BreakerState(failures=failures, opened_at=opened_at), now
