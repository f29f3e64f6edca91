"""One materialized view: create it, rebuild it when its manifest query changed, or refresh it.

Every statement comes from ``include/sql/reporting/``; identifiers go through the
templates' ``ident`` filter (checked and quoted); the view's query is the manifest's
own SQL text. Each call runs in one transaction of the given connection, with the
statement and lock timeouts set for that transaction only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl_bundle.reporting import reporting_sql

TEMP_SUFFIX = "__seeder_new"
PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"})
_INDEX_DEFINITION = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .+)$", re.DOTALL)


@dataclass(frozen=True)
class ViewState:
    oid: int
    populated: bool
    has_unique_index: bool


@dataclass(frozen=True)
class RefreshResult:
    action: str  # created | rebuilt | refreshed | refreshed_concurrently
    rows: int
    bytes: int


def temp_name(name: str) -> str:
    """A sibling name for the replacement, within Postgres's 63-character limit."""
    return name[: 63 - len(TEMP_SUFFIX)] + TEMP_SUFFIX


def index_tail(definition: str) -> tuple[bool, str]:
    """``(unique, "USING ...")`` from a ``pg_get_indexdef`` text."""
    match = _INDEX_DEFINITION.match(definition)
    if not match:
        raise ValueError(f"unexpected index definition: {definition!r}")
    return bool(match.group(1)), match.group(2)


def view_state(cursor, schema: str, name: str) -> ViewState | None:
    row = cursor.execute(reporting_sql("view_state"), {"schema": schema, "name": name}).fetchone()
    return ViewState(*row) if row else None


def refresh(conn, *, schema: str, name: str, query: str, stored_hash: str | None, query_hash: str, timeouts: dict):
    """Bring the view up to date in one transaction; the result counts its rows and bytes."""
    view = {"schema": schema, "name": name}
    with conn.cursor() as cursor:
        cursor.execute(reporting_sql("set_timeouts"), timeouts)
        state = view_state(cursor, schema, name)
        if state is None:
            cursor.execute(reporting_sql("create_view", query=query, **view))
            action = "created"
        elif stored_hash != query_hash:
            _rebuild(cursor, state, query=query, **view)
            action = "rebuilt"
        else:
            concurrently = state.has_unique_index and state.populated
            cursor.execute(reporting_sql("refresh_view", concurrently=concurrently, **view))
            action = "refreshed_concurrently" if concurrently else "refreshed"
        cursor.execute(reporting_sql("analyze_view", **view))
        state = view_state(cursor, schema, name)
        rows, size = cursor.execute(reporting_sql("view_stats", **view), {"oid": state.oid}).fetchone()
    conn.commit()
    return RefreshResult(action=action, rows=rows, bytes=size)


def _rebuild(cursor, old: ViewState, *, schema: str, name: str, query: str) -> None:
    """Build the new view beside the old one, then swap them: readers never find it missing.

    The old view serves reads while the new one is built; the drop and the rename
    commit together. Indexes and grants are copied over.
    """
    new_name = temp_name(name)
    cursor.execute(reporting_sql("rebuild_lock"), {"table_name": f"{schema}.{name}"})
    cursor.execute(reporting_sql("drop_view", schema=schema, name=new_name, if_exists=True))
    cursor.execute(reporting_sql("create_view", schema=schema, name=new_name, query=query))
    indexes = cursor.execute(reporting_sql("view_indexes"), {"oid": old.oid}).fetchall()
    for index_name, definition in indexes:
        unique, tail = index_tail(definition)
        cursor.execute(
            reporting_sql(
                "create_index",
                unique=unique,
                index=temp_name(index_name),
                schema=schema,
                name=new_name,
                definition_tail=tail,
            )
        )
    for grantee, privilege in cursor.execute(reporting_sql("view_grants"), {"oid": old.oid}).fetchall():
        if privilege not in PRIVILEGES:
            raise ValueError(f"unexpected privilege {privilege!r} on {schema}.{name}")
        cursor.execute(reporting_sql("grant", privilege=privilege, grantee=grantee, schema=schema, name=new_name))
    cursor.execute(reporting_sql("drop_view", schema=schema, name=name, if_exists=False))
    cursor.execute(reporting_sql("rename_view", schema=schema, name=new_name, new_name=name))
    for index_name, _ in indexes:
        cursor.execute(reporting_sql("rename_index", schema=schema, name=temp_name(index_name), new_name=index_name))
