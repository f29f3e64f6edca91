"""The audit of files exchanged with DPS: ``dfps.dps_exchanges`` (no child's data in it)."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from etl_bundle.common.fiscal import FiscalPeriod


def already_sent(warehouse_conn_id: str, period: FiscalPeriod) -> dict[str, Any] | None:
    """The latest delivery of the period's txt to DPS, or None (creates the audit tables if missing)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.sql import render_sql
    from etl_bundle.dfps.send import txt_name

    with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn, conn.cursor() as cursor:
        row = cursor.execute(
            render_sql("dfps/exchange_sent.sql", dialect="postgres"),
            {"period": period.label, "file_name": txt_name(period)},
        ).fetchone()
        conn.commit()
    return None if row is None else {"file_name": row[0], "sha256": row[1], "sent_at": row[2], "run_id": row[3]}


def record_exchanges(
    warehouse_conn_id: str, period: FiscalPeriod, direction: str, run_id: str, files: list[tuple[str, str, int, int]]
) -> None:
    """One row per ``(file name, sha256, size in bytes, data rows)``, in one transaction."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.sql import render_sql

    with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn, conn.cursor() as cursor:
        cursor.executemany(
            render_sql("dfps/record_exchange.sql", dialect="postgres"),
            [
                {
                    "period": period.label,
                    "direction": direction,
                    "file_name": name,
                    "sha256": sha,
                    "size_bytes": size,
                    "row_count": rows,
                    "run_id": run_id,
                }
                for name, sha, size, rows in files
            ],
        )
        conn.commit()
