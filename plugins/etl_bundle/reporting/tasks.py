"""What each task of ``reporting_seeder`` does, on the warehouse connection."""

from __future__ import annotations

import logging
import time
from contextlib import closing
from typing import Any

from etl_bundle.common.circuit_breaker import CircuitBreaker

log = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 5
DEFAULT_RESET_SECONDS = 300
# Variables named after the original's environment variables.
MAX_FAILURES_VARIABLE = "SEEDER_MAX_FAILURES"
RESET_SECONDS_VARIABLE = "SEEDER_RESET_SECONDS"
CONFIG_SECTION = "reporting_seeder"


def _connect(conn_id: str, *, autocommit: bool = False):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    conn.autocommit = autocommit
    return closing(conn)


def settings(params: dict[str, Any]) -> dict[str, Any]:
    """Breaker limits from the Params, else the SEEDER_* Variables, else 5 and 300;
    timeouts from ``[reporting_seeder]`` in Airflow's configuration."""
    from airflow.sdk import Variable, conf

    def pick(param: str, variable: str, default: int) -> int:
        if params.get(param) is not None:
            return int(params[param])
        value = Variable.get(variable, default=None)
        return int(value) if value not in (None, "") else default

    breaker = CircuitBreaker(
        max_failures=pick("max_failures", MAX_FAILURES_VARIABLE, DEFAULT_MAX_FAILURES),
        reset_seconds=pick("reset_seconds", RESET_SECONDS_VARIABLE, DEFAULT_RESET_SECONDS),
    )
    return {
        "max_failures": breaker.max_failures,
        "reset_seconds": breaker.reset_seconds,
        "statement_timeout": f"{conf.getint(CONFIG_SECTION, 'statement_timeout_seconds', fallback=1800)}s",
        "lock_timeout": f"{conf.getint(CONFIG_SECTION, 'lock_timeout_seconds', fallback=60)}s",
    }


def plan(conn_id: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The views this run refreshes, each with the run's settings; fails fast on an unknown slug or table."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.reporting import store
    from etl_bundle.reporting.manifest import SelectionError, select_views

    run_settings = settings(params)
    with _connect(conn_id) as conn, conn.cursor() as cursor:
        entries = store.manifest_entries(cursor)
    try:
        views = select_views(
            entries,
            scope=params["scope"],
            agency_slug=params.get("agency_slug"),
            table_name=params.get("table_name"),
            report_type=params["report_type"],
        )
    except SelectionError as err:
        raise AirflowFailException(str(err)) from None
    log.info(
        "%d views to refresh (scope %s, report type %s): %s",
        len(views),
        params["scope"],
        params["report_type"],
        ", ".join(v.table_name for v in views),
    )
    return [{**view.to_dict(), "settings": run_settings} for view in views]


def refresh_one(conn_id: str, view: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Refresh one view, recording history, job status and the breaker.

    A breaker that is open skips the view (recorded). A database error that another
    try may cure (connection, lock or statement timeout, deadlock) is raised for the
    task's retries; any other error fails the task at once.
    """
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from etl_bundle.reporting import store, views

    run_settings = view["settings"]
    breaker = CircuitBreaker(run_settings["max_failures"], run_settings["reset_seconds"])
    table_name = view["table_name"]
    with _connect(conn_id, autocommit=True) as records, _connect(conn_id) as work:
        records_cursor = records.cursor()
        allowed, breaker_state = store.breaker_check(work, breaker)
        if not allowed:
            store.record_skipped(records_cursor, view, run_id, f"skipped: {breaker_state}")
            raise AirflowSkipException(f"{table_name} skipped: {breaker_state}")

        history_id = store.record_start(records_cursor, view, run_id)
        started = time.perf_counter()
        try:
            if not view["schema"]:
                raise ValueError(f"manifest table name {table_name!r} is not schema.table")
            with work.cursor() as cursor:
                previous_hash = store.stored_hash(cursor, view)
            work.commit()
            result = views.refresh(
                work,
                schema=view["schema"],
                name=view["name"],
                query=view["query"],
                stored_hash=previous_hash,
                query_hash=view["query_hash"],
                timeouts={k: run_settings[k] for k in ("statement_timeout", "lock_timeout")},
            )
        except Exception as err:
            work.rollback()
            message = f"{type(err).__name__}: {str(err).strip()}"
            failures = store.record_finish(
                records_cursor, view, run_id, history_id, status="error", action=None, errors=message
            )
            state = store.breaker_record(work, breaker, run_id=run_id, table_name=table_name, failed=True)
            log.error(
                "%s failed (%d consecutive failures; breaker %d/%d): %s",
                table_name,
                failures,
                state.failures,
                breaker.max_failures,
                message,
            )
            if isinstance(err, psycopg.OperationalError):
                raise
            raise AirflowFailException(f"{table_name}: {message}") from err

        built = result.action in ("created", "rebuilt")
        store.record_finish(
            records_cursor,
            view,
            run_id,
            history_id,
            status="success",
            action=result.action,
            rows=result.rows,
            size=result.bytes,
            built_hash=view["query_hash"] if built else None,
        )
        store.breaker_record(work, breaker, run_id=run_id, table_name=table_name, failed=False)
    seconds = time.perf_counter() - started
    log.info("%s %s: %d rows, %d bytes in %.1f s", table_name, result.action, result.rows, result.bytes, seconds)
    return {"table_name": table_name, "action": result.action, "rows": result.rows, "bytes": result.bytes}


def check_outcome(conn_id: str, planned: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """Fail the run, naming the views, when any planned view did not end in success."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.reporting import store

    with _connect(conn_id, autocommit=True) as conn, conn.cursor() as cursor:
        outcome = store.run_outcome(cursor, run_id)
    failed, skipped, missing, actions = [], [], [], {}
    for view in planned:
        table = view["table_name"]
        row = outcome.get(table)
        if row is None:
            missing.append(table)
        elif row["status"] == "error":
            failed.append(f"{table} ({row['errors']})")
        elif row["status"] == "skipped":
            skipped.append(table)
        elif row["status"] == "success":
            actions[row["action"]] = actions.get(row["action"], 0) + 1
        else:
            missing.append(f"{table} (left {row['status']})")
    summary = {"views": len(planned), **actions, "failed": len(failed), "skipped": len(skipped) + len(missing)}
    log.info("Outcome: %s", ", ".join(f"{k} {v}" for k, v in summary.items()))
    problems = []
    if failed:
        problems.append(f"{len(failed)} failed: " + "; ".join(failed))
    if skipped:
        problems.append(f"{len(skipped)} skipped by the circuit breaker: " + ", ".join(skipped))
    if missing:
        problems.append(f"{len(missing)} never ran: " + ", ".join(missing))
    if problems:
        raise AirflowFailException("reporting_seeder: " + " | ".join(problems))
    return summary
