"""invoice_demand_refresh's operators: the atomic DynamoDB → raw.* load, its count check, the view refresh.

Cheap to import (``airflow.sdk`` and the common.sql provider's operators, which the
dag-processor pre-imports); boto3, psycopg and the load itself are imported in ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow.providers.common.sql.operators.sql import SQLCheckOperator

from etl_bundle.operators.base import BundleOperator, SqlTemplatedOperator
from etl_bundle.operators.matview import MaterializedViewRefreshOperator

RAW_TABLES = ("cases", "metadata", "templates", "audit")
# The original's refresh order (its orchestrator's one transaction): the summary reads the
# two curated views; curated.verifyplus (Verify+'s raw.verifyplus) sits between, as there.
VERIFYPLUS = "curated.verifyplus"
VIEWS = ("curated.demands_archived", "curated.demands_uploaded", VERIFYPLUS, "analytics.demands_summary")


def _as_bool(value: Any) -> bool:
    """A templated flag: a bool, or its rendering ("True"/"False", "true"/"false")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", "", "none"):
        return False
    raise ValueError(f"not a flag: {value!r}")


class DynamoDBScanToPostgresOperator(SqlTemplatedOperator):
    """Scan the four `exchange-{source_env}-*` DynamoDB tables and replace `raw.cases`, `raw.metadata`,
    `raw.templates`, `raw.audit` atomically: one Postgres transaction, each table DELETEd then refilled
    by a binary COPY streamed page by page from its scan, then counted (rows built == rows held).
    Any failure rolls all four back. Items that fail validation go to `raw.load_rejects` on their own
    connection (kept when the load rolls back; older than the retention pruned first). `dry_run`
    writes nothing and ends the task skipped with the counts. Returns the counts per table, which
    also go on each raw table's Asset event (`extra`).

    The SQL it runs (`clear_sql`, `count_sql`: one statement per table; `prune_sql`, `reject_sql`)
    is rendered by Airflow. `execution_timeout` 1 h: a full scan of the four tables takes minutes;
    a hung scan or COPY fails and is retried (the load is all or nothing).
    """

    template_fields: ClassVar[Sequence[str]] = (
        "source_env",
        "scan_segments",
        "page_size",
        "dry_run",
        "max_bad_rows",
        "allow_empty",
        "clear_sql",
        "count_sql",
        "prune_sql",
        "reject_sql",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "clear_sql": "sql",
        "count_sql": "sql",
        "prune_sql": "sql",
        "reject_sql": "sql",
    }
    dialect_conn_attr: ClassVar[str] = "postgres_conn_id"

    def __init__(
        self,
        *,
        aws_conn_id: str,
        postgres_conn_id: str,
        source_env: str | None = None,
        scan_segments: int | str = 4,
        page_size: int | str = 1000,
        dry_run: bool | str = False,
        max_bad_rows: int | str = 100,
        allow_empty: bool | str = False,
        tables: Sequence[str] = RAW_TABLES,
        clear_sql: str = "invoice/clear_tables.sql",
        count_sql: str = "invoice/count_tables.sql",
        prune_sql: str = "invoice/prune_rejects.sql",
        reject_sql: str = "invoice/insert_reject.sql",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.postgres_conn_id = postgres_conn_id
        self.source_env = source_env
        self.scan_segments = scan_segments
        self.page_size = page_size
        self.dry_run = dry_run
        self.max_bad_rows = max_bad_rows
        self.allow_empty = allow_empty
        self.tables = list(tables)
        self.clear_sql = clear_sql
        self.count_sql = count_sql
        self.prune_sql = prune_sql
        self.reject_sql = reject_sql

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        context["tables"] = self.tables  # clear_sql and count_sql: one statement per table
        super().render_template_fields(context, jinja_env)

    def execute(self, context: Any) -> dict[str, dict[str, Any]]:
        from airflow.sdk import Variable

        from etl_bundle.invoice.load import LoadStatements, load_raw_tables, reject_retention_days
        from etl_bundle.invoice.transforms import SOURCES, resolve_source_env

        sources = tuple(s for s in SOURCES if s.name in self.tables)
        source_env = resolve_source_env(self.source_env, Variable.get("invoice_source_env", default=None))
        result = load_raw_tables(
            aws_conn_id=self.aws_conn_id,
            pg_conn_id=self.postgres_conn_id,
            source_env=source_env,
            segments=int(self.scan_segments),
            page_size=int(self.page_size),
            run_id=context["run_id"],
            dry_run=_as_bool(self.dry_run),
            max_bad_rows=int(self.max_bad_rows),
            allow_empty=_as_bool(self.allow_empty),
            reject_retention_days=reject_retention_days(Variable.get("invoice_reject_retention_days", default=None)),
            sources=sources,
            statements=LoadStatements.from_rendered(
                [s.name for s in sources],
                clear=self.clear_sql,
                count=self.count_sql,
                prune=self.prune_sql,
                insert_reject=self.reject_sql,
            ),
        )
        # The Assets view then shows what each update of a raw table carried.
        for asset in self.outlets:
            table = asset.name.rpartition(".")[2]
            if table in result:
                counts = result[table]
                context["outlet_events"][asset].extra = {
                    "source": counts["source"],
                    "rows": counts["loaded"],
                    "scanned": counts["scanned"],
                    "rejected": counts["rejected"],
                }
        return result


class RawCountsCheckOperator(SQLCheckOperator, BundleOperator):
    """Check, after the load committed, that each raw table holds exactly the rows the load built
    (`check_raw_counts.sql`, the counts from the load task's result as bind parameters); shown as a
    check result. The same check inside the load's transaction is what rolls a mismatch back; this
    one makes it visible and catches a writer between commit and refresh. `execution_timeout` 10 min
    (four counts)."""

    def __init__(self, *, load_task_id: str, tables: Sequence[str] = RAW_TABLES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.load_task_id = load_task_id
        self.tables = list(tables)

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        context["tables"] = self.tables
        super().render_template_fields(context, jinja_env)

    def execute(self, context: Any) -> None:
        loaded = context["ti"].xcom_pull(task_ids=self.load_task_id)
        self.parameters = {table: loaded[table]["built"] for table in self.tables}
        super().execute(context)


class InvoiceViewsRefreshOperator(MaterializedViewRefreshOperator):
    """Refresh the demand views CONCURRENTLY in one transaction, in the original's order:
    `curated.demands_archived` → `curated.demands_uploaded` → `curated.verifyplus` (only where
    Verify+'s view exists) → `analytics.demands_summary`, its months counted in `summary_timezone`
    (empty: the `invoice_summary_timezone` Variable, else UTC; set for this transaction only).
    Returns each view's rows, the documents the template rule left out, and what became of
    `curated.verifyplus`. `execution_timeout` 30 min: four refreshes of at most minutes each.
    """

    template_fields: ClassVar[Sequence[str]] = (
        *MaterializedViewRefreshOperator.template_fields,
        "summary_timezone",
        "exclusions_sql",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **MaterializedViewRefreshOperator.template_fields_renderers,
        "exclusions_sql": "sql",
    }

    def __init__(
        self,
        *,
        summary_timezone: str | None = None,
        exclusions_sql: str = "invoice/template_exclusions.sql",
        raw_verifyplus: str = "raw.verifyplus",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("views", VIEWS)
        kwargs.setdefault("optional_views", [VERIFYPLUS])
        kwargs.setdefault("setup_sql", "invoice/set_summary_timezone.sql")
        super().__init__(**kwargs)
        self.summary_timezone = summary_timezone
        self.exclusions_sql = exclusions_sql
        self.raw_verifyplus = raw_verifyplus

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.sdk import Variable

        from etl_bundle.invoice.transforms import checked_timezone

        self.summary_timezone = checked_timezone(
            self.summary_timezone or Variable.get("invoice_summary_timezone", default="UTC")
        )
        # Read by analytics.demands_summary's month (see migration 0001).
        self.parameters = {**self.parameters, "timezone": self.summary_timezone}
        return super().execute(context)

    def after_refresh(self, conn, counts: dict[str, int], present: dict[str, bool]) -> dict[str, Any]:
        from etl_bundle.invoice.load import refresh_summary, verifyplus_status

        refreshed = present.get(VERIFYPLUS, False)
        verifyplus = verifyplus_status(refreshed, not refreshed and self.exists(conn, self.raw_verifyplus))
        return refresh_summary(counts, verifyplus, conn.execute(self.exclusions_sql).fetchall(), self.summary_timezone)
