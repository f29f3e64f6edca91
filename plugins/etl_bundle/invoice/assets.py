"""The Assets invoice_demand_refresh emits; reporting_seeder is scheduled on the view ones."""

from __future__ import annotations

from airflow.sdk import Asset

RAW_ASSETS = [Asset(name=f"warehouse.raw.{table}") for table in ("cases", "metadata", "templates", "audit")]
VIEW_ASSETS = [
    Asset(name=name)
    for name in (
        "warehouse.curated.demands_archived",
        "warehouse.curated.demands_uploaded",
        "warehouse.analytics.demands_summary",
    )
]
