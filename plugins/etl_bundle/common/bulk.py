"""Bulk loading into Postgres with COPY, inside the caller's transaction.

PostgresHook.copy_expert opens and commits its own connection, so it cannot be
one step of an atomic load; this streams rows through psycopg 3's COPY on the
cursor it is given and leaves the transaction to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def copy_rows(cursor, table: Sequence[str], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``table`` (schema and name, or a temporary table's name); returns the count."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
