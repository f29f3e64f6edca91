"""Refreshing materialized views in one transaction, in a given order: one operator for every DAG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from etl_bundle.operators.base import SqlTemplatedOperator


def split_view_name(view: str) -> tuple[str, str]:
    """``"schema.view"`` as its two parts (each still checked by ``ident`` when rendered)."""
    schema, dot, name = view.partition(".")
    if not dot or not schema or not name:
        raise ValueError(f"view {view!r}: expected schema.view")
    return schema, name


def sql_statements(rendered: str) -> list[str]:
    """The statements of a rendered template, one per ``;`` (comments and blank ones dropped)."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    return [s for s in DbApiHook.split_sql_string(rendered, strip_semicolon=True) if s.strip()]


class MaterializedViewRefreshOperator(SqlTemplatedOperator):
    """Refresh materialized views in one transaction, in the order given; returns each view's row count.

    `views` are `schema.view` names (templated), refreshed in that order, `CONCURRENTLY`
    unless `concurrently=False` (needs a unique index; readers keep the old rows until the
    commit). A view in `optional_views` is refreshed only where it exists (`exists_sql`). `setup_sql`
    (a templated `.sql` file, values in `parameters`) runs first in the same transaction.
    The refresh and count statements (`refresh_sql`, `count_sql`) are rendered by Airflow,
    one statement per view in order, and shown in the Rendered Template view.
    """

    template_fields: ClassVar[Sequence[str]] = (
        "views",
        "optional_views",
        "setup_sql",
        "parameters",
        "refresh_sql",
        "count_sql",
        "exists_sql",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "setup_sql": "sql",
        "exists_sql": "sql",
        "refresh_sql": "sql",
        "count_sql": "sql",
        "parameters": "json",
    }

    def __init__(
        self,
        *,
        conn_id: str,
        views: Sequence[str],
        optional_views: Sequence[str] = (),
        concurrently: bool = True,
        setup_sql: str | None = None,
        parameters: dict[str, Any] | None = None,
        refresh_sql: str = "common/refresh_matviews.sql",
        count_sql: str = "common/count_matviews.sql",
        exists_sql: str = "common/relation_exists.sql",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.views = list(views)
        self.optional_views = list(optional_views)
        self.concurrently = concurrently
        self.setup_sql = setup_sql
        self.parameters = parameters or {}
        self.refresh_sql = refresh_sql
        self.count_sql = count_sql
        self.exists_sql = exists_sql

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # The view list is rendered first: the refresh and count templates loop over it.
        jinja_env = jinja_env or self.get_template_env()
        self._do_render_template_fields(self, ("views",), context, jinja_env, set())
        context["views"] = [split_view_name(v) for v in self.views]
        context["concurrently"] = self.concurrently
        super().render_template_fields(context, jinja_env)

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from etl_bundle.common.db_errors import values_kept_out

        refresh, count = sql_statements(self.refresh_sql), sql_statements(self.count_sql)
        if not len(refresh) == len(count) == len(self.views):
            raise ValueError(f"{len(self.views)} views but {len(refresh)} refresh and {len(count)} count statements")
        with (
            values_kept_out("refresh of the views rolled back, all unchanged"),
            PostgresHook(postgres_conn_id=self.conn_id).get_conn() as conn,
        ):
            if self.setup_sql:
                conn.execute(self.setup_sql, self.parameters)
            present = {v: self.exists(conn, v) for v in self.optional_views}
            refreshed = [i for i, view in enumerate(self.views) if present.get(view, True)]
            for i in refreshed:
                conn.execute(refresh[i])
            counts = {self.views[i]: conn.execute(count[i]).fetchone()[0] for i in refreshed}
            result = self.after_refresh(conn, counts, present)
        self.log.info("views refreshed: %s", counts)
        return result

    def exists(self, conn, relation: str) -> bool:
        return conn.execute(self.exists_sql, {"relation": relation}).fetchone()[0]

    def after_refresh(self, conn, counts: dict[str, int], present: dict[str, bool]) -> dict[str, Any]:
        """The task's return value, inside the refresh's transaction (a subclass adds to it)."""
        return {"views": counts}
