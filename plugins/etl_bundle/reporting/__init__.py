"""reporting_seeder: manifest-driven materialized-view refresh per agency."""

from __future__ import annotations

from typing import Any


def reporting_sql(template: str, **context: Any) -> str:
    """``include/sql/reporting/<template>.sql`` rendered for Postgres."""
    from etl_bundle.common.sql import render_sql

    return render_sql(f"reporting/{template}.sql", dialect="postgres", **context)
