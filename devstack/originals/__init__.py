"""The originals' databases, as their own DDL left them, for the bundle to adopt.

``<pipeline>.sql`` here creates what the original system created (tables, views,
roles, grants), written from the facts in ``shared/reference/original-contracts.md``
and ``source-systems.md``, with a few representative rows. The devstack's seed loads
it into the warehouse before the bundle's first migration, so every test and the demo
start from an adopted database, as production will.
"""

from __future__ import annotations

from pathlib import Path

ORIGINALS_DIR = Path(__file__).resolve().parent


def pipelines() -> list[str]:
    """The pipelines whose original database the devstack reproduces."""
    return sorted(path.stem for path in ORIGINALS_DIR.glob("*.sql"))


def load(conn, pipeline: str) -> None:
    """Create the original's objects and rows on ``conn`` (psycopg), committed."""
    conn.execute((ORIGINALS_DIR / f"{pipeline}.sql").read_text())
    conn.commit()


def load_unless_present(conn, pipeline: str, *, marker: str, version_table: str | None = None) -> bool:
    """``load`` unless the bundle migrated the database already or an earlier seed loaded the
    original (``marker``, a relation the original creates, exists): a re-seed keeps what is there."""
    from etl_bundle.common.migrations import VERSION_SCHEMA

    for relation in (f"{VERSION_SCHEMA}.{version_table or pipeline}", marker):
        if conn.execute("SELECT to_regclass(%s)", (relation,)).fetchone()[0] is not None:
            return False
    load(conn, pipeline)
    return True
