"""The audit of files exchanged with DPS: ``dfps.dps_exchanges`` (no child's data in it).

A send records its files as ``pending`` before it uploads anything and marks them
``sent`` once DPS and the share have them, so an attempt cut short (a kill, a lost
connection) leaves a record that the next attempt resumes instead of repeating.
Database errors are raised and logged as :func:`etl_bundle.common.db_errors.describe`
tells them (no values).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from etl_bundle.common.fiscal import FiscalPeriod


@dataclass(frozen=True)
class ExchangeFile:
    file_name: str
    sha256: str
    size_bytes: int
    row_count: int
    share_path: str | None = None


@contextmanager
def _warehouse_cursor(warehouse_conn_id: str, what: str) -> Iterator[Any]:
    """A cursor on the warehouse, committed at the end; a database error told without values."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from etl_bundle.common.db_errors import values_kept_out

    with values_kept_out(what):
        with closing(PostgresHook(postgres_conn_id=warehouse_conn_id).get_conn()) as conn, conn.cursor() as cursor:
            yield cursor
            conn.commit()


def already_sent(warehouse_conn_id: str, period: FiscalPeriod) -> dict[str, Any] | None:
    """The latest completed delivery of the period's txt to DPS, or None."""
    from etl_bundle.common.sql import render_sql
    from etl_bundle.dfps.periods import txt_name

    with _warehouse_cursor(warehouse_conn_id, f"reading the DPS exchanges of {period.label}") as cursor:
        row = cursor.execute(
            render_sql("dfps/exchange_sent.sql", dialect="postgres"),
            {"period": period.label, "file_name": txt_name(period)},
        ).fetchone()
    return None if row is None else {"file_name": row[0], "sha256": row[1], "sent_at": row[2], "run_id": row[3]}


def pending_exchanges(warehouse_conn_id: str, period: FiscalPeriod) -> dict[str, ExchangeFile]:
    """file name -> the period's files recorded by a send that did not complete."""
    from etl_bundle.common.sql import render_sql

    with _warehouse_cursor(warehouse_conn_id, f"reading the pending DPS exchanges of {period.label}") as cursor:
        rows = cursor.execute(
            render_sql("dfps/pending_exchanges.sql", dialect="postgres"), {"period": period.label}
        ).fetchall()
    return {name: ExchangeFile(name, sha, size, count, share_path) for name, sha, size, count, _run, share_path in rows}


def record_pending(warehouse_conn_id: str, period: FiscalPeriod, run_id: str, files: list[ExchangeFile]) -> None:
    """The send's files as pending (before anything is uploaded), in one transaction."""
    from etl_bundle.common.sql import render_sql

    with _warehouse_cursor(warehouse_conn_id, f"recording the pending DPS exchange of {period.label}") as cursor:
        cursor.executemany(
            render_sql("dfps/record_pending_exchange.sql", dialect="postgres"),
            [
                {
                    "period": period.label,
                    "file_name": file.file_name,
                    "sha256": file.sha256,
                    "size_bytes": file.size_bytes,
                    "row_count": file.row_count,
                    "run_id": run_id,
                    "share_path": file.share_path,
                }
                for file in files
            ],
        )


def complete_exchanges(warehouse_conn_id: str, period: FiscalPeriod, run_id: str, file_names: list[str]) -> int:
    """The pending files marked sent by ``run_id``, in one transaction; how many."""
    from etl_bundle.common.sql import render_sql

    with _warehouse_cursor(warehouse_conn_id, f"completing the DPS exchange of {period.label}") as cursor:
        cursor.execute(
            render_sql("dfps/complete_exchanges.sql", dialect="postgres"),
            {"period": period.label, "run_id": run_id, "file_names": file_names},
        )
        return cursor.rowcount
