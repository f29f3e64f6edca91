"""Which views a run refreshes: the manifest entries selected by scope and report type.

Pure: the entries come from ``include/sql/reporting/manifest.sql``. Each view appears
once per run, however many agencies' manifests name it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

SCOPES = ("all", "agency", "table")
REPORT_TYPES = ("all", "custom", "canned")
TABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}\.[A-Za-z_][A-Za-z0-9_]{0,62}$"
AGENCY_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class SelectionError(ValueError):
    """The Params name nothing the manifest has."""


@dataclass(frozen=True)
class ManifestEntry:
    manifest_id: int
    table_name: str
    report_name: str
    report_type: str
    agency_id: int | None
    agency_slug: str | None
    query: str


@dataclass(frozen=True)
class ViewSpec:
    """One view to refresh, with what its history rows record."""

    table_name: str
    schema: str
    name: str
    query: str
    query_hash: str
    manifest_id: int
    report_name: str
    report_type: str
    agency_id: int | None  # None: a canned view no single agency owns
    agency_slug: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def query_hash(query: str) -> str:
    """SHA-256 of the manifest's query text, ends trimmed.

    Nothing else is normalised: collapsing spaces or case would also change string
    literals and call two different queries the same; a reformatted query costs one
    rebuild, a missed change would cost wrong data.
    """
    return hashlib.sha256(query.strip().encode()).hexdigest()


def split_table_name(table_name: str) -> tuple[str, str]:
    if not isinstance(table_name, str) or not re.match(TABLE_NAME_PATTERN, table_name):
        raise SelectionError(f"not a schema-qualified table name (schema.table, letters, digits, _): {table_name!r}")
    schema, name = table_name.split(".")
    return schema, name


def select_views(
    entries: Iterable[ManifestEntry],
    *,
    scope: str,
    agency_slug: str | None = None,
    table_name: str | None = None,
    report_type: str = "all",
) -> list[ViewSpec]:
    """The views to refresh, ordered by table name; ``SelectionError`` for an unknown slug or table."""
    if scope not in SCOPES:
        raise SelectionError(f"scope must be one of {SCOPES}, got {scope!r}")
    if report_type not in REPORT_TYPES:
        raise SelectionError(f"report_type must be one of {REPORT_TYPES}, got {report_type!r}")
    entries = list(entries)
    if scope == "agency":
        if not agency_slug:
            raise SelectionError("scope 'agency' needs agency_slug")
        known = sorted({e.agency_slug for e in entries if e.agency_slug})
        if agency_slug not in known:
            raise SelectionError(f"agency slug {agency_slug!r} is not in the manifest; enabled slugs: {known}")
        # As the original's SQL: the agency's own entries and the shared ones.
        entries = [e for e in entries if e.agency_slug in (agency_slug, None)]
    elif scope == "table":
        if not table_name:
            raise SelectionError("scope 'table' needs table_name")
        split_table_name(table_name)
        entries = [e for e in entries if e.table_name == table_name]
        if not entries:
            raise SelectionError(f"table {table_name!r} is not in the manifest (or its entries are disabled)")
    if report_type != "all":
        entries = [e for e in entries if e.report_type == report_type]

    by_table: dict[str, list[ManifestEntry]] = {}
    for entry in entries:
        by_table.setdefault(entry.table_name, []).append(entry)
    return [_view(table, named) for table, named in sorted(by_table.items())]


def _view(table_name: str, entries: list[ManifestEntry]) -> ViewSpec:
    # A custom entry wins over a canned report of the same name, as the original's
    # table lookup searched custom manifests first.
    first = min(entries, key=lambda e: (e.report_type != "custom", e.manifest_id))
    if first.report_type == "custom":
        # The Django history's agency is NOT NULL and references one agency: the one of
        # the entry the view is built from.
        agency_id, agency_slug = first.agency_id, first.agency_slug
    else:
        # The bundle's canned tables: the agency when one owns the view, else NULL (shared).
        agencies = {(e.agency_id, e.agency_slug) for e in entries if e.report_type == "canned"}
        agency_id, agency_slug = agencies.pop() if len(agencies) == 1 else (None, None)
    try:
        schema, name = split_table_name(table_name)
    except SelectionError:
        # Refreshing it fails and is recorded; one bad manifest row does not stop the others.
        schema, name = "", table_name
    return ViewSpec(
        table_name=table_name,
        schema=schema,
        name=name,
        query=first.query,
        query_hash=query_hash(first.query),
        manifest_id=first.manifest_id,
        report_name=first.report_name,
        report_type=first.report_type,
        agency_id=agency_id,
        agency_slug=agency_slug,
    )
