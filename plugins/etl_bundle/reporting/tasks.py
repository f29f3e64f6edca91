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
# How often a running statement checks that its client is still connected.
CLIENT_CHECK_INTERVAL = "2s"
# What the reader role may read (`[reporting_seeder] source_schemas`, `source_tables`):
# every table of the source schemas, and single tables elsewhere (not all of public,
# where the application keeps its own tables).
DEFAULT_SOURCE_SCHEMAS = "reporting_src"
DEFAULT_SOURCE_TABLES = "public.agency"


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
        "client_check_interval": CLIENT_CHECK_INTERVAL,
    }


def plan(conn_id: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The views this run refreshes, each with the run's settings; fails fast on an unknown slug or table."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.reporting import store
    from etl_bundle.reporting.manifest import SelectionError, select_views

    run_settings = settings(params)
    with _connect(conn_id) as conn, conn.cursor() as cursor:
        entries = store.manifest_entries(cursor)
    grant_sources(conn_id)
    close_abandoned(conn_id, run_settings)
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


def source_lists() -> tuple[list[str], list[tuple[str, str]]]:
    """The configured source schemas and ``(schema, table)`` source tables."""
    from airflow.sdk import conf

    from etl_bundle.common.sql import check_identifier

    def names(option: str, default: str) -> list[str]:
        return [n.strip() for n in conf.get(CONFIG_SECTION, option, fallback=default).split(",") if n.strip()]

    schemas = [check_identifier(n) for n in names("source_schemas", DEFAULT_SOURCE_SCHEMAS)]
    tables = []
    for table in names("source_tables", DEFAULT_SOURCE_TABLES):
        schema, _, name = table.partition(".")
        tables.append((check_identifier(schema), check_identifier(name)))
    return schemas, tables


def grant_sources(conn_id: str) -> None:
    """Let the reader role read the report sources as they stand (new tables included); idempotent."""
    from etl_bundle.reporting import reporting_sql
    from etl_bundle.reporting.views import READER_ROLE

    schemas, tables = source_lists()
    with _connect(conn_id) as conn, conn.cursor() as cursor:
        for schema in schemas:
            present = {"schema": f'"{schema}"', "name": None, "relation": None}
            if not cursor.execute(reporting_sql("source_present"), present).fetchone()[0]:
                log.warning("Source schema %s does not exist: nothing granted there", schema)
                continue
            for template in ("grant_source_schema", "grant_source_tables", "grant_source_defaults"):
                cursor.execute(reporting_sql(template, schema=schema, role=READER_ROLE))
        for schema, name in tables:
            present = {"schema": None, "name": name, "relation": f'"{schema}"."{name}"'}
            if not cursor.execute(reporting_sql("source_present"), present).fetchone()[0]:
                log.warning("Source table %s.%s does not exist: not granted", schema, name)
                continue
            cursor.execute(reporting_sql("grant_source_schema", schema=schema, role=READER_ROLE))
            cursor.execute(reporting_sql("grant_source_table", schema=schema, name=name, role=READER_ROLE))
        conn.commit()


def close_abandoned(conn_id: str, run_settings: dict[str, Any], table_name: str | None = None) -> list[dict]:
    """Close attempts left ``running`` by a dead task as ``abandoned``; each counts for the breaker."""
    from etl_bundle.reporting import store

    breaker = CircuitBreaker(run_settings["max_failures"], run_settings["reset_seconds"])
    with _connect(conn_id, autocommit=True) as records, records.cursor() as cursor:
        closed = store.close_abandoned(cursor, table_name)
    if closed:
        with _connect(conn_id) as work:
            for attempt in closed:
                store.breaker_record(
                    work, breaker, run_id=attempt["run_id"], table_name=attempt["table_name"], failed=True
                )
        log.warning(
            "Closed %d abandoned attempts (their task died mid-refresh): %s",
            len(closed),
            ", ".join(f"{a['table_name']} (run {a['run_id']}, history {a['history_id']})" for a in closed),
        )
    return closed


def manifest_row(view: dict[str, Any]) -> str:
    """The manifest row a view is built from, as an error names it."""
    agency = f"agency {view['agency_slug']}" if view.get("agency_slug") else "shared by several agencies"
    return f"{view['report_type']} manifest {view['manifest_id']} ({agency}, view {view['table_name']})"


def _failure(view: dict[str, Any], err: BaseException) -> tuple[str, str]:
    """``(status, message)`` for a failed attempt: ``rejected`` when the manifest's query is at fault.

    The message never carries the database's DETAIL, CONTEXT or a value from a row
    (``db_errors.describe``).
    """
    from etl_bundle.common.db_errors import describe, sqlstate
    from etl_bundle.reporting.query_check import FIELD, QueryRejectedError

    if isinstance(err, QueryRejectedError):
        return "rejected", f"{manifest_row(view)}, field {FIELD}: {err}"
    state = sqlstate(err) or ""
    # Class 42 (syntax error or access rule violation) from the server: the query is at fault.
    if state.startswith("42"):
        return "rejected", f"{manifest_row(view)}, field {FIELD}: refused by the database: {describe(err)}"
    return "error", describe(err)


def refresh_one(conn_id: str, view: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Refresh one view, recording history, job status and the breaker.

    A breaker that is open skips the view (recorded). A manifest query that is not one
    read-only SELECT of the report sources is rejected (recorded ``rejected``, counted by
    the breaker as the view's failure, not retried). A database error that another try
    may cure (connection, lock or statement timeout, deadlock) is raised for the task's
    retries; any other error fails the task at once.
    """
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from etl_bundle.common.db_errors import DatabaseError, describe
    from etl_bundle.reporting import store, views
    from etl_bundle.reporting.query_check import check_query

    run_settings = view["settings"]
    breaker = CircuitBreaker(run_settings["max_failures"], run_settings["reset_seconds"])
    table_name = view["table_name"]
    close_abandoned(conn_id, run_settings, table_name)  # an earlier try of this view killed mid-refresh
    with _connect(conn_id, autocommit=True) as records, _connect(conn_id) as work:
        records_cursor = records.cursor()
        allowed, breaker_state = store.breaker_check(work, breaker)
        if not allowed:
            store.record_skipped(records_cursor, view, run_id, f"skipped: {breaker_state}")
            raise AirflowSkipException(f"{table_name} skipped: {breaker_state}")

        history_id = store.record_start(records_cursor, view, run_id)
        store.hold_attempt(work, view, history_id)
        started = time.perf_counter()
        try:
            if not view["schema"]:
                raise ValueError(f"manifest table name {table_name!r} is not schema.table")
            checked = check_query(view["query"])
            with work.cursor() as cursor:
                previous_hash = store.stored_hash(cursor, view)
            work.commit()
            result = views.refresh(
                work,
                schema=view["schema"],
                name=view["name"],
                query=checked.text,
                stored_hash=previous_hash,
                query_hash=view["query_hash"],
                timeouts={k: run_settings[k] for k in ("statement_timeout", "lock_timeout", "client_check_interval")},
                reader_role=views.READER_ROLE,
                sources=checked.tables,
            )
        except Exception as err:
            status, message = _failure(view, err)
            retryable = isinstance(err, psycopg.OperationalError)
            try:
                work.rollback()
                failures = store.record_finish(
                    records_cursor, view, run_id, history_id, status=status, action=None, errors=message
                )
                state = store.breaker_record(work, breaker, run_id=run_id, table_name=table_name, failed=True)
            except psycopg.Error as record_err:
                # The database is unreachable (e.g. restarting): the attempt stays `running`
                # and the next try or run closes it as abandoned, counting the failure.
                raise DatabaseError(f"{table_name}: {message}; not recorded: {describe(record_err)}") from None
            log.error(
                "%s %s (%d consecutive failures; breaker %d/%d): %s",
                table_name,
                "rejected" if status == "rejected" else "failed",
                failures,
                state.failures,
                breaker.max_failures,
                message,
            )
            # Not chained: the original error's text would be logged with its values.
            if retryable:
                raise DatabaseError(f"{table_name}: {message}") from None
            raise AirflowFailException(f"{table_name}: {message}") from None

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
    failed, rejected, skipped, missing, actions = [], [], [], [], {}
    for view in planned:
        table = view["table_name"]
        row = outcome.get(table)
        if row is None:
            missing.append(table)
        elif row["status"] == "error":
            failed.append(f"{table} ({row['errors']})")
        elif row["status"] == "rejected":
            rejected.append(f"{table} ({row['errors']})")
        elif row["status"] == "skipped":
            skipped.append(table)
        elif row["status"] == "success":
            actions[row["action"]] = actions.get(row["action"], 0) + 1
        else:
            missing.append(f"{table} (left {row['status']})")
    summary = {
        "views": len(planned),
        **actions,
        "failed": len(failed),
        "rejected": len(rejected),
        "skipped": len(skipped) + len(missing),
    }
    log.info("Outcome: %s", ", ".join(f"{k} {v}" for k, v in summary.items()))
    problems = []
    if failed:
        problems.append(f"{len(failed)} failed: " + "; ".join(failed))
    if rejected:
        problems.append(f"{len(rejected)} rejected: " + "; ".join(rejected))
    if skipped:
        problems.append(f"{len(skipped)} skipped by the circuit breaker: " + ", ".join(skipped))
    if missing:
        problems.append(f"{len(missing)} never ran: " + ", ".join(missing))
    if problems:
        raise AirflowFailException("reporting_seeder: " + " | ".join(problems))
    return summary
