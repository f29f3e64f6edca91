"""The DDL task every pipeline starts with: its pending schema migrations, applied once each.

Cheap to import (only ``airflow.sdk``); the migration machinery is imported when the task runs.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task


def migrate_schema(pipeline: str, postgres_conn_id: str, **upgrade_options: Any):
    """A ``migrate_schema`` task applying ``include/sql/<pipeline>/migrations/`` (see etl_bundle.common.migrations)."""

    @task(task_id="migrate_schema")
    def migrate() -> list[str]:
        """Apply this pipeline's pending schema migrations (Alembic, under a lock); the revisions applied."""
        from etl_bundle.common.db_errors import values_kept_out
        from etl_bundle.common.migrations import upgrade_with_hook

        with values_kept_out(f"migrating {pipeline}"):
            return upgrade_with_hook(pipeline, postgres_conn_id, **upgrade_options)

    return migrate()
