"""Each endpoint's tables, by the migrations of ``include/sql/tec/migrations/``.

TEC may load several endpoints, each into its own schema and table, so each target
table has its own migration history: version table ``tec__<schema>__<table>`` in
``etl_migrations``, templates rendered with that endpoint's schema and table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl_bundle.common.sql import check_identifier

PIPELINE = "tec"


def migration_options(endpoint: dict[str, Any]) -> dict[str, Any]:
    """``upgrade`` options of one endpoint's table: its version table and template context."""
    schema, table = check_identifier(endpoint["schema"]), check_identifier(endpoint["table"])
    return {
        "version_table": check_identifier(f"{PIPELINE}__{schema}__{table}"),
        "context": {"schema": schema, "table": table},
    }


def upgrade_endpoint(connect: Callable[[], Any], endpoint: dict[str, Any]) -> list[str]:
    """Apply the pending migrations of one endpoint's table; the revisions applied."""
    from etl_bundle.common.migrations import upgrade

    return upgrade(PIPELINE, connect, **migration_options(endpoint))


def migrate_endpoints(conn_id: str, requested: list[str] | None) -> dict[str, list[str]]:
    """The DDL task: upgrade the table of every endpoint this run loads (``requested``, else the enabled ones)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.tec.config import chosen_endpoints, load_config

    config = load_config()
    connect = PostgresHook(postgres_conn_id=conn_id).get_conn
    applied = {}
    for name in chosen_endpoints(config, requested):
        endpoint = config["endpoints"][name]
        table = f"{endpoint['schema']}.{endpoint['table']}"
        applied[table] = _upgrade_telling_no_values(connect, endpoint, table)
    return applied


def _upgrade_telling_no_values(connect: Callable[[], Any], endpoint: dict[str, Any], table: str) -> list[str]:
    """``upgrade_endpoint``, its database error told by ``db_errors`` (psycopg's text holds rows:
    adding the original's key to duplicates names them)."""
    from etl_bundle.common.db_errors import values_kept_out

    with values_kept_out(f"migrating {table}"):
        return upgrade_endpoint(connect, endpoint)
