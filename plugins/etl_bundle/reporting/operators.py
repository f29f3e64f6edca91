"""The operators of ``reporting_seeder``: the plan from the manifest, and one view's refresh, mapped over it.

Cheap to import: the logic lives in ``etl_bundle.reporting.tasks``, imported in ``execute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.sql.operators.sql import SQLCheckOperator

from etl_bundle.operators.base import BundleOperator


class ReportingPlanOperator(BundleOperator):
    """Plan the run: the manifest views it refreshes, each with the run's settings.

    Reads the manifest tables, selects by the Params (`scope`, `agency_slug`,
    `table_name`, `report_type`; an unknown slug or table fails at once), grants the
    reader role `SELECT` on the report sources and closes attempts a killed task left
    `running` as `abandoned`. Its list is what `refresh_view` maps over. An operator,
    not glue, because it writes (grants, history). Times out after 5 minutes.
    """

    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#fef7e0"

    def __init__(self, *, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from etl_bundle.reporting.tasks import plan

        return plan(self.conn_id, context["params"])


class ReportingViewRefreshOperator(BundleOperator):
    """Refresh one reporting materialized view from its manifest entry, with its history and the breaker.

    Creates the view if missing; rebuilds it beside the old one and swaps them when its
    manifest query changed; else `REFRESH … CONCURRENTLY` when a unique index allows it,
    else a plain refresh; then `ANALYZE`. The query must be one read-only SELECT of the
    report sources (run as `reporting_seeder_reader`), else the view is recorded `rejected`.
    Every try is one history row; the shared circuit breaker skips the view while open.
    `view` (one entry of the plan, mapped) is not templated: a manifest query is SQL
    text that Jinja must never touch. Times out after 45 minutes: above the 30-minute
    statement timeout, so a hung connection fails and retries instead of holding the run.
    """

    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#fef7e0"

    def __init__(self, *, view: dict[str, Any], conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view = view
        self.conn_id = conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from etl_bundle.reporting.tasks import refresh_one

        context["view_table_name"] = self.view["table_name"]  # names the mapped instance in the UI
        return refresh_one(self.conn_id, self.view, context["run_id"])


class ReportingEmptiedViewsCheckOperator(SQLCheckOperator, BundleOperator):
    """The run's data-quality gate, as the provider's SQL check (`check_no_view_emptied.sql`): fails,
    naming them, when a view this run refreshed is empty where its previous successful refresh had
    rows (a blank report is most often a broken source). A view that was always empty passes. The
    views stay refreshed (the original accepts empty views); Param `allow_emptied_views` turns the
    gate off. Runs after every view was attempted. `execution_timeout` 5 min: one read of the history.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("sql", "reporting/check_no_view_emptied.sql")
        kwargs.setdefault("execution_timeout", timedelta(minutes=5))
        # A failed check does not mend itself on retry (a lost connection still retries).
        super().__init__(retry_on_failure=False, **kwargs)

    def execute(self, context: Any) -> None:
        self.parameters = {
            "run_id": context["run_id"],
            "allow_emptied_views": bool(context["params"].get("allow_emptied_views")),
        }
        super().execute(context)
