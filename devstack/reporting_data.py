"""reporting_seeder's demo data in the warehouse, on the original's Django tables.

The warehouse starts as the original left it (``devstack/originals/reporting.sql``:
its agency, canned and custom manifests, views, history and job status), adopted by
the DAG's first ``migrate_schema``. The demo's rows go into those tables beside the
original's: four agencies; canned reports named by several agencies' manifests
(refreshed once, recorded as shared), one named by no manifest, a disabled custom
entry, and one view that a DBA created with a unique index and a grant before the
seeder knew it (its first run rebuilds it, keeping both; later runs refresh it
concurrently). Every query is healthy: the tests add the broken ones.

The demo's and the tests' rows have ids from ``DEMO_IDS_FROM`` on, the original's
below it, so a re-seed removes the demo's rows and their run state and keeps the
original's.
"""

from __future__ import annotations

from typing import Any

from devstack import originals

DEMO_IDS_FROM = 1000
SOURCE_SCHEMA = "reporting_src"
READER_ROLE = "reporting_reader"
AGENCIES = [
    (1001, "Gotham Police Department", "gotham"),
    (1002, "Metropolis Police Department", "metropolis"),
    (1003, "Star City Police Department", "star-city"),
    (1004, "Central City Police Department", "central-city"),
]
CANNED_REPORTS = [
    (
        1100,
        "reporting.canned_incidents_by_day",
        "Incidents by day",
        "SELECT agency_id, occurred_on AS day, count(*) AS incidents, sum(amount) AS amount"
        " FROM reporting_src.incidents GROUP BY agency_id, occurred_on",
    ),
    (
        1101,
        "reporting.canned_categories",
        "Incidents by category",
        "SELECT agency_id, category, count(*) AS incidents FROM reporting_src.incidents GROUP BY agency_id, category",
    ),
    (
        1102,
        "reporting.canned_monthly_totals",
        "Monthly totals",
        "SELECT agency_id, date_trunc('month', occurred_on)::date AS month, sum(amount) AS amount"
        " FROM reporting_src.incidents GROUP BY 1, 2",
    ),
    (
        1103,
        "reporting.canned_open_cases",
        "Open cases",
        "SELECT id, agency_id, occurred_on, category FROM reporting_src.incidents WHERE NOT closed",
    ),
    (
        1104,
        "reporting.canned_agency_overview",
        "Agency overview",
        "SELECT a.id AS agency_id, a.name, count(i.id) AS incidents"
        " FROM public.agency AS a LEFT JOIN reporting_src.incidents AS i ON i.agency_id = a.id GROUP BY a.id, a.name",
    ),
]
# (manifest id, agency id, slug, canned report id); the Django model has no enabled
# column: canned report 1103 is named by no manifest, so it is not refreshed.
CANNED_MANIFESTS = [
    (1200, 1001, "gotham", 1100),
    (1201, 1001, "gotham", 1101),
    (1202, 1002, "metropolis", 1100),  # the same view as 1200: refreshed once, shared
    (1203, 1002, "metropolis", 1102),
    (1205, 1003, "star-city", 1102),
    *((1206 + n, agency_id, slug, 1104) for n, (agency_id, _, slug) in enumerate(AGENCIES)),  # every agency's
]
UNSUBSCRIBED_CANNED_REPORT = 1103
# (manifest id, table, report name, agency id, slug, query, enabled)
CUSTOM_MANIFESTS = [
    (
        1300,
        "reporting.custom_gotham_daily",
        "Gotham daily",
        1001,
        "gotham",
        "SELECT occurred_on AS day, count(*) AS incidents FROM reporting_src.incidents WHERE agency_id = 1001"
        " GROUP BY occurred_on",
        True,
    ),
    (
        1301,
        "reporting.custom_metropolis_amounts",
        "Metropolis amounts",
        1002,
        "metropolis",
        "SELECT category, sum(amount) AS amount, max(amount) AS largest FROM reporting_src.incidents"
        " WHERE agency_id = 1002 GROUP BY category",
        True,
    ),
    (
        1302,
        "reporting.custom_all_agencies",
        "All agencies",
        1001,
        "gotham",
        "SELECT agency_id, count(*) AS incidents, count(*) FILTER (WHERE closed) AS closed"
        " FROM reporting_src.incidents GROUP BY agency_id",
        True,
    ),
    (
        1303,
        "reporting.custom_star_city_archive",
        "Star City archive",
        1003,
        "star-city",
        "SELECT * FROM reporting_src.incidents WHERE agency_id = 1003",
        False,
    ),
]
INDEXED_VIEW = "canned_incidents_by_day"


def seed(state: dict[str, Any], size: int) -> str:
    import psycopg

    from devstack.services import DATABASES, server_url

    incidents = max(10_000, size * 100)
    url = server_url(state["services"]["postgres"], DATABASES["warehouse"])
    with psycopg.connect(url, autocommit=True) as conn:
        drop_pre_migration_schema(conn)
        loaded = originals.load_unless_present(conn, "reporting", marker="reporting.seeder_run_history")
        reset_reporting(conn)
        seed_source(conn, incidents)
        seed_manifests(conn)
        create_indexed_view(conn)
        (views,) = conn.execute(
            "SELECT count(DISTINCT table_name) FROM ("
            " SELECT table_name FROM reporting.seeder_custom_report_manifest WHERE enabled UNION ALL"
            " SELECT cr.table_name FROM reporting.seeder_canned_report AS cr"
            " JOIN reporting.seeder_canned_report_manifest AS cm ON cm.canned_report_id = cr.id) AS v"
        ).fetchone()
    original = "the original's database loaded" if loaded else "the adopted database kept"
    return f"reporting: {original}; {len(AGENCIES)} demo agencies, {incidents} incidents, {views} views to refresh"


def drop_pre_migration_schema(conn) -> None:
    """A devstack warehouse seeded before the migrations (reporting tables, no version table) starts over."""
    (version_table,) = conn.execute("SELECT to_regclass('etl_migrations.reporting')").fetchone()
    (bundle_table,) = conn.execute("SELECT to_regclass('reporting.seeder_circuit_breaker')").fetchone()
    if version_table is None and bundle_table is not None:
        conn.execute("DROP SCHEMA reporting CASCADE")
        conn.execute("DROP TABLE IF EXISTS public.agency CASCADE")


def seed_source(conn, incidents: int) -> None:
    """``reporting_src.incidents``, the table the demo's manifests query."""
    conn.execute(
        """
        CREATE SCHEMA IF NOT EXISTS reporting_src;
        DROP TABLE IF EXISTS reporting_src.incidents;
        CREATE TABLE reporting_src.incidents (
            id BIGINT PRIMARY KEY,
            agency_id INTEGER NOT NULL,
            occurred_on DATE NOT NULL,
            category TEXT NOT NULL,
            amount NUMERIC(12, 2) NOT NULL,
            closed BOOLEAN NOT NULL
        )
        """
    )
    conn.execute(
        """
        INSERT INTO reporting_src.incidents
        SELECT n, 1001 + n %% 4, DATE '2024-01-01' + (n * 7919 %% 700)::integer,
               (ARRAY['theft', 'assault', 'vandalism', 'fraud', 'traffic'])[1 + n %% 5],
               round(((n * 104729) %% 100000) / 100.0, 2), n %% 3 <> 0
        FROM generate_series(1::bigint, %s::bigint) AS n
        """,
        (incidents,),
    )
    conn.execute("ANALYZE reporting_src.incidents")


def seed_manifests(conn) -> None:
    """The demo's agencies and manifests, inserted as the Django app writes them (every column named)."""
    cursor = conn.cursor()
    cursor.executemany(
        "INSERT INTO public.agency (id, name, address, subdomain, lms_integration_enabled, active)"
        " VALUES (%s, %s, NULL, %s, false, true)",
        AGENCIES,
    )
    cursor.executemany(
        "INSERT INTO reporting.seeder_canned_report (id, table_name, report_name, query, database_id)"
        " VALUES (%s, %s, %s, %s, NULL)",
        CANNED_REPORTS,
    )
    cursor.executemany(
        "INSERT INTO reporting.seeder_canned_report_manifest (id, agency_id, agency_slug, canned_report_id)"
        " VALUES (%s, %s, %s, %s)",
        CANNED_MANIFESTS,
    )
    cursor.executemany(
        "INSERT INTO reporting.seeder_custom_report_manifest"
        " (id, table_name, report_name, agency_id, agency_slug, query, database_id, enabled)"
        " VALUES (%s, %s, %s, %s, %s, %s, NULL, %s)",
        CUSTOM_MANIFESTS,
    )


def reset_reporting(conn) -> None:
    """Drop every view in the reporting schema, the demo's and tests' rows (ids from
    DEMO_IDS_FROM) with their history and job status, and the bundle's run state."""
    from psycopg import sql

    names = conn.execute("SELECT matviewname FROM pg_matviews WHERE schemaname = 'reporting'").fetchall()
    for (name,) in names:
        conn.execute(sql.SQL("DROP MATERIALIZED VIEW IF EXISTS {} CASCADE").format(sql.Identifier("reporting", name)))
    (migrated,) = conn.execute("SELECT to_regclass('reporting.seeder_circuit_breaker')").fetchone()
    if migrated is not None:
        conn.execute(
            "TRUNCATE reporting.seeder_canned_run_history, reporting.seeder_canned_job_status,"
            " reporting.seeder_circuit_breaker, reporting.seeder_breaker_failures"
        )
    # Children first: the Django foreign keys have no ON DELETE (its ORM cascades).
    for table, column in (
        ("seeder_run_history", "manifest_id"),
        ("seeder_job_status", "manifest_id"),
        ("seeder_canned_report_manifest", "id"),
        ("seeder_canned_report", "id"),
        ("seeder_custom_report_manifest", "id"),
    ):
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} >= %s").format(sql.Identifier("reporting", table), sql.Identifier(column)),
            (DEMO_IDS_FROM,),
        )
    conn.execute("DELETE FROM public.agency WHERE id >= %s", (DEMO_IDS_FROM,))


def create_indexed_view(conn) -> None:
    """The view as a DBA left it: built by hand, a unique index, readable by the reader role."""
    from psycopg import sql

    query = next(r[3] for r in CANNED_REPORTS if r[1] == f"reporting.{INDEXED_VIEW}")
    view = sql.Identifier("reporting", INDEXED_VIEW)
    conn.execute(sql.SQL("CREATE MATERIALIZED VIEW {} AS {}").format(view, sql.SQL(query)))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX canned_incidents_by_day_key ON {} (agency_id, day)").format(view))
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER_ROLE)))
    conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(view, sql.Identifier(READER_ROLE)))
