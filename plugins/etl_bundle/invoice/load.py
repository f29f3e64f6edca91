"""The atomic full refresh of raw.* from DynamoDB, and the downstream views.

One Postgres transaction replaces all four raw tables: each table is cleared
(DELETE, so readers keep the old rows until commit) and refilled by COPY while
its DynamoDB scan streams, page by page, through the builders. Any failure (a
scan error, too many bad items, an empty source, a count mismatch, a constraint)
rolls back all four. Rejected items go to raw.load_rejects on a second
connection, committed on their own, so the quarantine survives a failed load;
once per (run, table, key), so a retry of the run adds none, each keeping the
time its item was first quarantined. Quarantine rows hold the raw item (personal
data): those older than the retention are deleted at the start of each load.
A database error is raised and logged as etl_bundle.common.db_errors describes
it, without the row values psycopg's message carries.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from etl_bundle.common.bulk import copy_rows
from etl_bundle.common.db_errors import DatabaseError, values_kept_out
from etl_bundle.common.sql import render_sql
from etl_bundle.invoice.transforms import (
    SOURCES,
    RejectedItemError,
    SourceTable,
    item_key,
    json_text,
    storable_text,
    template_exclusions,
)

log = logging.getLogger(__name__)

# How long quarantine rows (each holding a raw item, personal data) are kept; the
# invoice_reject_retention_days Variable says otherwise.
DEFAULT_REJECT_RETENTION_DAYS = 90
MAX_RAW_REPR = 100_000  # of an item too deeply nested to store as JSON


@dataclass
class TableResult:
    table: str
    source: str
    scanned: int = 0
    built: int = 0
    rejected: int = 0
    loaded: int | None = None
    rejected_by_field: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QuarantinedItem:
    table: str
    key: str
    field: str
    reason: str
    item: dict[str, Any]


@dataclass(frozen=True)
class LoadStatements:
    """The load's SQL: one clear and one count statement per raw table, the quarantine's two."""

    clear: dict[str, str]
    count: dict[str, str]
    prune: str
    insert_reject: str

    @classmethod
    def from_rendered(
        cls, tables: list[str], *, clear: str, count: str, prune: str, insert_reject: str
    ) -> LoadStatements:
        """From the templates as rendered (clear and count: one statement per table, in ``tables``' order)."""
        from etl_bundle.operators.matview import sql_statements

        by_table = {}
        for name, rendered in (("clear", clear), ("count", count)):
            statements = sql_statements(rendered)
            if len(statements) != len(tables):
                raise ValueError(f"{name}: {len(statements)} statements for {len(tables)} tables")
            by_table[name] = dict(zip(tables, statements, strict=True))
        return cls(**by_table, prune=prune.strip(), insert_reject=insert_reject.strip())

    @classmethod
    def rendered(cls, sources: tuple[SourceTable, ...] = SOURCES) -> LoadStatements:
        """Rendered here, for callers outside Airflow (benchmarks, tests); the operator has Airflow render them."""
        tables = [source.name for source in sources]
        return cls.from_rendered(
            tables,
            **{
                field: render_sql(f"invoice/{template}.sql", dialect="postgres", tables=tables)
                for field, template in LOAD_TEMPLATES.items()
            },
        )


# LoadStatements' fields and the templates under include/sql/invoice/ they come from.
LOAD_TEMPLATES = {
    "clear": "clear_tables",
    "count": "count_tables",
    "prune": "prune_rejects",
    "insert_reject": "insert_reject",
}


def _storable(value: Any) -> Any:
    """The raw item as JSONB can hold it: sets as sorted lists, binary as base64, NaN as text,
    NUL bytes and unpaired surrogates as escapes (jsonb refuses them)."""
    if isinstance(value, dict):
        return {storable_text(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_storable(v) for v in value), key=repr)
    if isinstance(value, (bytes, bytearray)) or type(value).__name__ == "Binary":
        return {"base64": base64.b64encode(bytes(getattr(value, "value", value))).decode("ascii")}
    if isinstance(value, Decimal) and not value.is_finite():
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return storable_text(value)
    return value


def _raw_json(item: dict[str, Any]) -> str:
    try:
        return json_text(_storable(item))
    except RecursionError:  # nested beyond Python's stack: the reason says so; keep what can be kept
        return json.dumps({"unreadable": storable_text(repr(item)[:MAX_RAW_REPR])})


def reject_retention_days(variable: str | None) -> int:
    """The quarantine's retention from the invoice_reject_retention_days Variable (whole days, at least 1)."""
    if variable in (None, ""):
        return DEFAULT_REJECT_RETENTION_DAYS
    try:
        days = int(variable)
    except ValueError:
        days = 0
    if days < 1:
        raise ValueError(f"invoice_reject_retention_days {variable!r}: expected a whole number of days, at least 1")
    return days


def load_raw_tables(
    *,
    aws_conn_id: str,
    pg_conn_id: str,
    source_env: str,
    segments: int,
    page_size: int,
    run_id: str | None,
    dry_run: bool,
    max_bad_rows: int,
    allow_empty: bool,
    reject_retention_days: int = DEFAULT_REJECT_RETENTION_DAYS,
    sources: tuple[SourceTable, ...] = SOURCES,
    statements: LoadStatements | None = None,
) -> dict[str, dict[str, Any]]:
    """The atomic full refresh (module doc); ``statements`` as Airflow rendered them, else rendered here."""
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    # One client for every scan thread: botocore clients are thread-safe, and each
    # extra session would load the DynamoDB service model again (tens of MB).
    client = DynamoDBHook(aws_conn_id=aws_conn_id).client

    def client_factory():
        return client

    import psycopg

    statements = statements or LoadStatements.rendered(sources)
    hook = PostgresHook(postgres_conn_id=pg_conn_id)
    conn = quarantine = None
    results: dict[str, dict[str, Any]] = {}

    try:
        if not dry_run:
            with values_kept_out("load not started, all four raw tables unchanged"):
                conn = hook.get_conn()
                quarantine = hook.get_conn()
        if quarantine is not None:
            with values_kept_out("pruning raw.load_rejects"):
                pruned = _prune_rejects(quarantine, reject_retention_days, statements.prune)
            log.info("raw.load_rejects: %d rows older than %d days deleted", pruned, reject_retention_days)
            results["load_rejects"] = {"retention_days": reject_retention_days, "pruned": pruned}
        for source in sources:
            result = _load_table(
                source,
                conn=conn,
                quarantine=quarantine,
                client_factory=client_factory,
                source_env=source_env,
                segments=segments,
                page_size=page_size,
                run_id=run_id,
                max_bad_rows=max_bad_rows,
                allow_empty=allow_empty,
                statements=statements,
            )
            log.info(
                "raw.%s from %s: scanned %d, built %d, rejected %d, loaded %s",
                result.table,
                result.source,
                result.scanned,
                result.built,
                result.rejected,
                "— (dry run)" if dry_run else result.loaded,
            )
            results[source.name] = asdict(result)
        if conn is not None:
            with values_kept_out("commit failed, all four raw tables unchanged"):
                conn.commit()
        else:
            from airflow.sdk.exceptions import AirflowSkipException

            # Skipped, not succeeded: no Asset event for a run that wrote nothing.
            counts = "; ".join(f"raw.{t}: built {r['built']}, rejected {r['rejected']}" for t, r in results.items())
            raise AirflowSkipException(f"dry run, nothing written ({counts})")
    except BaseException:
        if conn is not None:
            # A connection the server cut (a restart) cannot roll back, and needs not: nothing was committed.
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
        raise
    finally:
        for connection in (conn, quarantine):
            if connection is not None:
                connection.close()
    return results


def _prune_rejects(quarantine, retention_days: int, sql: str) -> int:
    with quarantine.cursor() as cur:
        cur.execute(sql, {"days": retention_days})
        pruned = cur.rowcount
    quarantine.commit()
    return pruned


def _load_table(
    source: SourceTable,
    *,
    conn,
    quarantine,
    client_factory,
    source_env: str,
    segments: int,
    page_size: int,
    run_id: str | None,
    max_bad_rows: int,
    allow_empty: bool,
    statements: LoadStatements,
) -> TableResult:
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.invoice.extract import scan_pages

    dynamodb_table = source.dynamodb_table(source_env)
    result = TableResult(table=source.name, source=dynamodb_table)
    rejects: list[QuarantinedItem] = []
    pages = scan_pages(
        client_factory,
        dynamodb_table,
        segments=segments if source.parallel else 1,
        page_size=page_size,
        filter_action=source.filter_action,
        projection=source.projection,
    )

    def built_rows():
        for page in pages:
            for item in page:
                result.scanned += 1
                try:
                    row = source.row(item)
                except RejectedItemError as err:
                    rejects.append(QuarantinedItem(source.name, item_key(item, source), err.field, err.reason, item))
                    if len(rejects) > max_bad_rows:
                        first = rejects[0]
                        raise AirflowFailException(
                            f"raw.{source.name}: more than max_bad_rows={max_bad_rows} items of {dynamodb_table} "
                            f"rejected; first: key {first.key}, field {first.field}: {first.reason}. "
                            "Nothing loaded; the rejects are in raw.load_rejects."
                        ) from None
                    continue
                result.built += 1
                yield row

    cursor = conn.cursor() if conn is not None else None
    try:
        if cursor is None:
            for _ in built_rows():
                pass
        else:
            with values_kept_out(f"load of raw.{source.name} rolled back, all four raw tables unchanged"):
                cursor.execute(statements.clear[source.name])
                copy_rows(
                    cursor,
                    ("raw", source.name),
                    source.columns,
                    built_rows(),
                    types=source.copy_types,
                    binary=source.binary_copy,
                )
    except BaseException:
        # The rejects are kept even when the load fails; but if the database is gone (a restart),
        # their insert fails too, and the load's own error is the one to raise (the retry rescans).
        try:
            _record_rejects(result, quarantine, rejects, run_id, statements.insert_reject)
        except DatabaseError as err:
            log.warning("%s (the load's own error follows)", err)
        raise
    _record_rejects(result, quarantine, rejects, run_id, statements.insert_reject)
    if result.built == 0 and not allow_empty:
        raise AirflowFailException(
            f"{dynamodb_table} gave no row for raw.{source.name} ({result.scanned} items scanned, "
            f"{result.rejected} rejected): refusing to empty the table; set the allow_empty Param to do so"
        )
    if cursor is not None:
        with values_kept_out(f"count of raw.{source.name}"):
            cursor.execute(statements.count[source.name])
            result.loaded = cursor.fetchone()[0]
        if result.loaded != result.built:
            raise AirflowFailException(
                f"raw.{source.name}: built {result.built} rows but the table holds {result.loaded}"
            )
    return result


def _record_rejects(
    result: TableResult, quarantine, rejects: list[QuarantinedItem], run_id: str | None, sql: str
) -> None:
    result.rejected = len(rejects)
    result.rejected_by_field = dict(Counter(reject.field for reject in rejects))
    with values_kept_out(f"quarantine of raw.{result.table}'s rejected items"):
        _quarantine(quarantine, rejects, run_id, sql)


def _quarantine(quarantine, rejects: list[QuarantinedItem], run_id: str | None, sql: str) -> None:
    for reject in rejects[:20]:
        log.warning("raw.%s key %s field %s rejected: %s", reject.table, reject.key, reject.field, reject.reason)
    if quarantine is None or not rejects:
        return
    with quarantine.cursor() as cur:
        # Once per (run, table, key): a retry of the run finds its rows there and adds none.
        cur.executemany(
            sql,
            [
                {
                    "run_id": run_id,
                    "table_name": reject.table,
                    "item_key": reject.key,
                    "field": storable_text(reject.field),
                    "reason": storable_text(reject.reason),
                    "raw_item": _raw_json(reject.item),
                }
                for reject in rejects
            ],
        )
    quarantine.commit()  # its own transaction: the quarantine outlives a rolled-back load


def verifyplus_status(refreshed: bool, raw_exists: bool) -> str:
    """What became of curated.verifyplus in a refresh (the task's result says it)."""
    if refreshed:
        return "refreshed"
    if raw_exists:
        status = "raw.verifyplus exists but curated.verifyplus does not: not refreshed"
        log.warning("%s (the migration creates it where raw.verifyplus existed then)", status)
        return status
    return "absent (no raw.verifyplus)"


def refresh_summary(counts: dict[str, int], verifyplus: str, exclusion_rows, summary_timezone: str) -> dict[str, Any]:
    """The refresh's result: each view's rows, the documents the template rule left out, curated.verifyplus."""
    excluded = template_exclusions(exclusion_rows)
    log.info("views refreshed (months in %s): %s; curated.verifyplus %s", summary_timezone, counts, verifyplus)
    log.info(
        'documents left out by the template rule: %d (template id without a template: %d, a "client" template: %d)',
        excluded["total"],
        excluded["template_not_found"],
        excluded["client_template"],
    )
    return {
        "views": counts,
        "excluded_by_template": excluded,
        "verifyplus": verifyplus,
        "month_timezone": summary_timezone,
    }
