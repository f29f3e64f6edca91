"""One materialized view: create it, rebuild it when its manifest query changed, or refresh it.

Every statement comes from ``include/sql/reporting/``; identifiers go through the
templates' ``ident`` filter (checked and quoted); the view's query is the manifest's
own SQL text, checked to be one read-only SELECT (``query_check``). Each call runs in
one transaction of the given connection, with the statement and lock timeouts set for
that transaction only.

The query runs as the reader role (``SET LOCAL ROLE``, migration 0002), which may only
read the report sources: a build (create or rebuild) runs it as that role, then gives
the view back to the seeder's own role, as the original's views were owned. A REFRESH
runs a view's stored query as the view's owner (Postgres's rule), so before a refresh
the reader's privileges are checked with EXPLAIN. Statements holding the query are
sent with the extended protocol (``prepare=True``): the server refuses a second
statement even if the text fooled the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl_bundle.reporting import reporting_sql
from etl_bundle.reporting.query_check import QueryRejectedError

TEMP_SUFFIX = "__seeder_new"
# The role a manifest's query runs as (migration 0002): reads the report sources only.
READER_ROLE = "reporting_seeder_reader"
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


def check_sources(cursor, relations, reader_role: str) -> None:
    """``QueryRejectedError`` naming a relation the query reads that is missing or not a source."""
    for relation in relations:
        # A bind parameter for to_regclass: each part quoted, so it resolves as the query's name does.
        quoted = ".".join('"' + part.replace('"', '""') + '"' for part in relation)
        present, readable = cursor.execute(
            reporting_sql("source_check"), {"relation": quoted, "role": reader_role}
        ).fetchone()
        shown = ".".join(relation)
        if not present:
            raise QueryRejectedError(f"reads {shown}, which does not exist")
        if not readable:
            raise QueryRejectedError(f"reads {shown}, which is not a report source (the reader role may not read it)")


def build_view(cursor, *, schema: str, name: str, query: str, reader_role: str) -> None:
    """``CREATE MATERIALIZED VIEW`` with the query run as the reader role; owned by ours after."""
    cursor.execute(reporting_sql("set_reader_role", role=reader_role))
    cursor.execute(reporting_sql("create_view", schema=schema, name=name, query=query), prepare=True)
    cursor.execute(reporting_sql("reset_role"))
    cursor.execute(reporting_sql("own_view", schema=schema, name=name))


def refresh(
    conn,
    *,
    schema: str,
    name: str,
    query: str,
    stored_hash: str | None,
    query_hash: str,
    timeouts: dict,
    reader_role: str,
    sources=(),
):
    """Bring the view up to date in one transaction; the result counts its rows and bytes.

    ``query`` has passed ``query_check.check_query``; ``sources`` are the relations it
    reads, as ``(schema, name)`` or ``(name,)`` tuples.
    """
    view = {"schema": schema, "name": name}
    with conn.cursor() as cursor:
        cursor.execute(reporting_sql("set_timeouts"), timeouts)
        check_sources(cursor, sources, reader_role)
        state = view_state(cursor, schema, name)
        if state is None:
            build_view(cursor, query=query, reader_role=reader_role, **view)
            action = "created"
        elif stored_hash != query_hash:
            _rebuild(cursor, state, query=query, reader_role=reader_role, **view)
            action = "rebuilt"
        else:
            cursor.execute(reporting_sql("set_reader_role", role=reader_role))
            cursor.execute(reporting_sql("explain_query", query=query), prepare=True)
            cursor.execute(reporting_sql("reset_role"))
            concurrently = state.has_unique_index and state.populated
            cursor.execute(reporting_sql("refresh_view", concurrently=concurrently, **view))
            action = "refreshed_concurrently" if concurrently else "refreshed"
        cursor.execute(reporting_sql("analyze_view", **view))
        state = view_state(cursor, schema, name)
        rows, size = cursor.execute(reporting_sql("view_stats", **view), {"oid": state.oid}).fetchone()
    conn.commit()
    return RefreshResult(action=action, rows=rows, bytes=size)


def _rebuild(cursor, old: ViewState, *, schema: str, name: str, query: str, reader_role: str) -> None:
    """Build the new view beside the old one, then swap them: readers never find it missing.

    The old view serves reads while the new one is built; the drop and the rename
    commit together. Indexes and grants are copied over.
    """
    new_name = temp_name(name)
    cursor.execute(reporting_sql("rebuild_lock"), {"table_name": f"{schema}.{name}"})
    cursor.execute(reporting_sql("drop_view", schema=schema, name=new_name, if_exists=True))
    build_view(cursor, schema=schema, name=new_name, query=query, reader_role=reader_role)
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
