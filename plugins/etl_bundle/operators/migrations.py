"""The DDL step every pipeline starts with, as an operator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl_bundle.operators.base import BundleOperator


class SchemaMigrationOperator(BundleOperator):
    """Applies the pipeline's pending schema migrations: Alembic over
    `include/sql/<pipeline>/migrations/`, one transaction under an advisory lock, each
    revision once (see `etl_bundle.common.migrations`). Returns the revisions applied.
    A migration takes seconds; the task's timeout covers a wait behind another run's upgrade.
    """

    template_fields: Sequence[str] = ("pipeline",)
    ui_color = "#eef3e2"

    def __init__(self, *, pipeline: str, postgres_conn_id: str, task_id: str = "migrate_schema", **kwargs: Any):
        super().__init__(task_id=task_id, **kwargs)
        self.pipeline = pipeline
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context: Any) -> list[str]:
        from etl_bundle.common.db_errors import values_kept_out
        from etl_bundle.common.migrations import upgrade_with_hook

        with values_kept_out(f"migrating {self.pipeline}"):
            return upgrade_with_hook(self.pipeline, self.postgres_conn_id)
