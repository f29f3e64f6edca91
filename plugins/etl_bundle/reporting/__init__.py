"""reporting_seeder: manifest-driven materialized-view refresh per agency."""

from __future__ import annotations

from typing import Any


def reporting_sql(template: str, **context: Any) -> str:
    """``include/sql/reporting/<template>.sql`` rendered for Postgres."""
    # Our renderer, not Airflow's: a view's statements name the schema and table its
    # manifest row gives, known only at run time, per view.
    from etl_bundle.common.sql import render_sql

    return render_sql(f"reporting/{template}.sql", dialect="postgres", **context)
