"""Bulk loading into Postgres with COPY, inside the caller's transaction.

PostgresHook.copy_expert opens and commits its own connection, so it cannot be
one step of an atomic load; this streams rows through psycopg 3's COPY on the
cursor it is given and leaves the transaction to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def copy_rows(
    cursor,
    table: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    types: Sequence[str] | None = None,
    binary: bool = False,
) -> int:
    """COPY ``rows`` into ``table`` (schema and name, or a temporary table's name); returns the count.

    ``types`` (Postgres type names, one per column) spares psycopg a dumper lookup
    per value (~20% faster). ``binary`` (needs ``types``) is ~3x faster again for
    text, integer and array columns, but slower for Decimal-heavy rows, so the
    caller chooses, by measurement (benchmarks/bulk_load.py, benchmarks/tec_merge.py).
    """
    from psycopg import sql

    if binary and not types:
        raise ValueError("a binary COPY needs the column types")
    statement = sql.SQL("COPY {} ({}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")).format(
        sql.Identifier(*table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with cursor.copy(statement) as copy:
        if types:
            copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
