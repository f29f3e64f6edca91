"""The operators of tec_operational_capacity: a cycle's merge and its quality gate.

Both render their SQL through Airflow (the DAG's ``template_searchpath`` and ``ident``
filter), for the table of the cycle's endpoint: the cycle (an XCom) is resolved first,
then its endpoint's schema and table go into the context the ``.sql`` files render with.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from airflow.providers.common.sql.operators.sql import SQLCheckOperator

from etl_bundle.operators.base import BundleOperator, SqlTemplatedOperator


def _table_context(endpoint_name: str) -> dict[str, Any]:
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.load import sql_context

    endpoint = load_config()["endpoints"][endpoint_name]
    return sql_context(endpoint["schema"], endpoint["table"])


def _render_with_cycle_table(operator, cycle_field: str, context: Any, jinja_env: Any) -> Any:
    """Render ``cycle_field`` (the cycle's XCom) first, then put its endpoint's table into ``context``."""
    jinja_env = jinja_env or operator.get_template_env()
    operator._do_render_template_fields(operator, (cycle_field,), context, jinja_env, set())
    context.update(_table_context(getattr(operator, cycle_field)["endpoint"]))
    return jinja_env


def asset_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """What an update of the capacity Asset carried, for the Assets view (no row values)."""
    return {
        "endpoint": summary["endpoint"],
        "gas_day": summary["gas_day"],
        "cycle": summary["cycle"],
        "file": summary["file"],
        "rows_loaded": summary["staged"],
        "rows_rejected": summary["rejected"],
        "inserted": summary["inserted"],
        "updated": summary["updated"],
        "deleted": summary["deleted"],
        "versions_opened": summary["versions_opened"],
        "versions_closed": summary["versions_closed"],
        "skipped": bool(summary["skipped"]),
    }


class CapacityCycleMergeOperator(SqlTemplatedOperator):
    """Loads one published cycle: download (or, with `replay`, the archived file), archive, parse,
    then COPY to staging, merge and SCD2 history in one transaction under the slice's lock.

    A file downloaded before the slice's newest loaded file is skipped, saying so; a rejected row
    goes to the rejects table and its key keeps its previous row; more than `max_rejected_rows`
    rejects, or an unreadable file, fails without retry. With `dry_run` it parses and validates,
    then ends skipped. The Asset event carries the cycle's counts (rows loaded, rejected,
    versions opened). Its statements (the `sql` field) show rendered in the UI.
    `execution_timeout` 30 min: a 50,000-row file merges in under a minute, so a longer try is
    hung (a stalled download or lock) and is failed and retried.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("published", "sql")
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "json", "published": "json"}

    def __init__(
        self,
        *,
        published: Any,
        conn_id: str,
        http_conn_id: str,
        dry_run: bool | None = None,
        max_rejected_rows: int | None = None,
        replay: bool | None = None,
        sql: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        from etl_bundle.tec.config import MERGE_STATEMENTS

        kwargs.setdefault("execution_timeout", timedelta(minutes=30))
        super().__init__(**kwargs)
        self.published = published  # the sensor's XCom: the target and its published file name
        self.conn_id = conn_id
        self.http_conn_id = http_conn_id
        # None: the run's Param of the same name.
        self.dry_run = dry_run
        self.max_rejected_rows = max_rejected_rows
        self.replay = replay
        self.sql = sql if sql is not None else {name: f"tec/{name}.sql" for name in MERGE_STATEMENTS}

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, _render_with_cycle_table(self, "published", context, jinja_env))

    def _param(self, name: str, context: Any) -> Any:
        value = getattr(self, name)
        return context["params"][name] if value is None else value

    def execute(self, context: Any) -> dict[str, Any]:
        from etl_bundle.tec.load import load_published_cycle

        summary = load_published_cycle(
            self.published,
            conn_id=self.conn_id,
            http_conn_id=self.http_conn_id,
            run_id=context["run_id"],
            dry_run=bool(self._param("dry_run", context)),
            max_rejected_rows=int(self._param("max_rejected_rows", context)),
            replay=bool(self._param("replay", context)),
            statements=self.sql,
        )
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = asset_extra(summary)
        return summary


class CapacityQualityGateOperator(SQLCheckOperator, BundleOperator):
    """The data-quality gate of one loaded cycle, as the provider's SQL check: every column of
    `quality_gate.sql` must be true (no null key, no duplicate key, rows == what the slice's
    latest load left == current history versions), else it fails without retry, the rendered
    query and its results in the log.

    It first takes the slice's lock (`slice_lock.sql`, in the same transaction), so no load of
    this day and cycle writes while it reads; when a newer file was loaded since, that load is
    the one checked. `execution_timeout` 10 min: two indexed reads of one slice, the rest is a
    wait for the lock behind one load (itself bounded by the load's 30 min).
    """

    template_fields: ClassVar[tuple[str, ...]] = ("loaded", *SQLCheckOperator.template_fields)

    def __init__(self, *, loaded: Any, conn_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("sql", ["tec/slice_lock.sql", "tec/quality_gate.sql"])
        kwargs.setdefault("execution_timeout", timedelta(minutes=10))
        # A failed check does not mend itself on retry (a lost connection still retries).
        super().__init__(conn_id=conn_id, retry_on_failure=False, **kwargs)
        self.loaded = loaded  # the load's XCom

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, _render_with_cycle_table(self, "loaded", context, jinja_env))

    def execute(self, context: Any) -> dict[str, Any]:
        from datetime import date

        from airflow.sdk.exceptions import AirflowFailException

        from etl_bundle.tec.load import slice_lock_key
        from etl_bundle.tec.transforms import cycle_id

        loaded = self.loaded
        schema, table = loaded["table"].split(".")
        measure_date, stored_cycle = date.fromisoformat(loaded["gas_day"]), cycle_id(loaded["cycle"])
        self.parameters = {
            "lock_key": slice_lock_key(schema, table, measure_date, stored_cycle),
            "measure_date": measure_date,
            "cycle_id": stored_cycle,
            "own_rows": loaded["parsed_rows"] + loaded.get("kept_rejected", 0),
        }
        # SQLCheckOperator.execute's own check, on the last statement's row: for a list of
        # statements get_first returns each one's row, which its all() would always pass.
        records = self.get_db_hook().get_first(self.sql, self.parameters)[-1]
        self.log.info("Record: %s", records)
        try:
            if not records:
                self._raise_exception(f"The following query returned zero rows: {self.sql}")
            elif not all(records):
                self._raise_exception(f"Test failed.\nQuery:\n{self.sql}\nResults:\n{records!s}")
        except AirflowFailException as err:
            raise AirflowFailException(
                f"quality gate failed for {loaded['file']} in {loaded['table']}: {err}"
            ) from None
        return {"checked": True, "file": loaded["file"], "table": loaded["table"]}


class CapacitySchemaMigrationOperator(BundleOperator):
    """Applies the pending migrations of each loaded endpoint's table (Alembic, under a lock;
    one version table per target table). The endpoints are the run's `endpoints` Param
    (empty: every enabled one). Returns the revisions applied per table.
    Timeout 15 min: a migration takes seconds, the rest is a wait behind another run's.
    """

    ui_color = "#eef3e2"

    def __init__(self, *, postgres_conn_id: str, task_id: str = "migrate_schema", **kwargs: Any) -> None:
        super().__init__(task_id=task_id, **kwargs)
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context: Any) -> dict[str, list[str]]:
        from etl_bundle.tec.schema import migrate_endpoints

        return migrate_endpoints(self.postgres_conn_id, context["params"]["endpoints"])
