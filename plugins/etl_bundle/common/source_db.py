"""Reading a source database (Oracle in production, its Postgres stand-in on the devstack).

The hook comes from the connection's type, and so does the dialect the SQL
templates render for: the same task reads Oracle and the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any


@contextmanager
def source_cursor(conn_id: str) -> Iterator[tuple[Any, str]]:
    """``(cursor, dialect)`` on ``conn_id``; the connection is closed afterwards (read only, no commit)."""
    from airflow.sdk import BaseHook

    from etl_bundle.common.sql import dialect_for_conn_type

    connection = BaseHook.get_connection(conn_id)
    dialect = dialect_for_conn_type(connection.conn_type)
    with closing(connection.get_hook().get_conn()) as conn, closing(conn.cursor()) as cursor:
        yield cursor, dialect


def dict_rows(cursor) -> Iterator[dict[str, Any]]:
    """The executed statement's rows keyed by column name in upper case (Oracle's folding, on both)."""
    names = [column[0].upper() for column in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))
