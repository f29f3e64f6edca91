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


def hold_attempt(conn, view: dict[str, Any], history_id: int) -> None:
    """Mark the attempt alive for as long as ``conn``'s session lasts (a session advisory lock)."""
    with conn.cursor() as cursor:
        cursor.execute(reporting_sql("attempt_lock"), _attempt_key(view["report_type"], history_id))
    conn.commit()


def _attempt_key(report_type: str, history_id: int) -> dict[str, Any]:
    return {"history_table": record_tables(report_type)["history_table"], "history_id": history_id}


ABANDONED_MESSAGE = "abandoned: its task ended without finishing the attempt (killed or lost its worker)"


def close_abandoned(cursor, table_name: str | None = None) -> list[dict[str, Any]]:
    """Close every ``running`` attempt (of one view, or all) whose session is gone, as ``abandoned``.

    An attempt's session holds its advisory lock (``hold_attempt``); a lock that can be
    taken means no session runs the attempt any more. ``cursor`` is on an autocommit
    connection. Returns the attempts closed (for the breaker and the log).
    """
    closed = []
    for report_type, tables in RECORD_TABLES.items():
        running = cursor.execute(reporting_sql("history_running", **tables), {"table_name": table_name}).fetchall()
        for history_id, run_id, table, start_time in running:
            key = _attempt_key(report_type, history_id)
            (free,) = cursor.execute(reporting_sql("attempt_lock_free"), key).fetchone()
            if not free:
                continue  # its session is alive: still running
            try:
                row = cursor.execute(
                    reporting_sql("history_abandon", **tables), {"history_id": history_id, "errors": ABANDONED_MESSAGE}
                ).fetchone()
                if row is not None:
                    cursor.execute(
                        reporting_sql("job_status_abandon", **tables),
                        {
                            "table_name": table,
                            "consecutive_failures": row[0],
                            "errors": ABANDONED_MESSAGE,
                            "start_time": start_time,
                        },
                    )
                    closed.append({"history_id": history_id, "run_id": run_id, "table_name": table})
            finally:
                cursor.execute(reporting_sql("attempt_unlock"), key)
    return closed


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
