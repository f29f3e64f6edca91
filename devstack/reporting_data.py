"""reporting_seeder's demo data in the warehouse: agencies, manifests and their source table.

Four agencies; canned reports named by several agencies' manifests (refreshed once),
a shared (NULL-slug) canned entry and custom entry, a disabled entry of each kind,
and one view that a DBA created with a unique index and a grant before the seeder
knew it (its first run rebuilds it, keeping both; later runs refresh it
concurrently). Every query is healthy: the tests add the broken ones.
"""

from __future__ import annotations

from typing import Any

from devstack import paths

SOURCE_SCHEMA = "reporting_src"
READER_ROLE = "reporting_reader"
AGENCIES = [
    (1, "Gotham Police Department", "gotham"),
    (2, "Metropolis Police Department", "metropolis"),
    (3, "Star City Police Department", "star-city"),
    (4, "Central City Police Department", "central-city"),
]
CANNED_REPORTS = [
    (
        100,
        "reporting.canned_incidents_by_day",
        "Incidents by day",
        "SELECT agency_id, occurred_on AS day, count(*) AS incidents, sum(amount) AS amount"
        " FROM reporting_src.incidents GROUP BY agency_id, occurred_on",
    ),
    (
        101,
        "reporting.canned_categories",
        "Incidents by category",
        "SELECT agency_id, category, count(*) AS incidents FROM reporting_src.incidents GROUP BY agency_id, category",
    ),
    (
        102,
        "reporting.canned_monthly_totals",
        "Monthly totals",
        "SELECT agency_id, date_trunc('month', occurred_on)::date AS month, sum(amount) AS amount"
        " FROM reporting_src.incidents GROUP BY 1, 2",
    ),
    (
        103,
        "reporting.canned_open_cases",
        "Open cases",
        "SELECT id, agency_id, occurred_on, category FROM reporting_src.incidents WHERE NOT closed",
    ),
    (
        104,
        "reporting.canned_agency_overview",
        "Agency overview",
        "SELECT a.id AS agency_id, a.name, count(i.id) AS incidents"
        " FROM public.agency AS a LEFT JOIN reporting_src.incidents AS i ON i.agency_id = a.id GROUP BY a.id, a.name",
    ),
]
# (manifest id, agency id, slug, canned report id, enabled)
CANNED_MANIFESTS = [
    (200, 1, "gotham", 100, True),
    (201, 1, "gotham", 101, True),
    (202, 2, "metropolis", 100, True),  # the same view as 200: refreshed once
    (203, 2, "metropolis", 102, True),
    (204, 3, "star-city", 103, False),  # disabled
    (205, 3, "star-city", 102, True),
    (206, None, None, 104, True),  # shared by every agency
]
# (manifest id, table, report name, agency id, slug, query, enabled)
CUSTOM_MANIFESTS = [
    (
        300,
        "reporting.custom_gotham_daily",
        "Gotham daily",
        1,
        "gotham",
        "SELECT occurred_on AS day, count(*) AS incidents FROM reporting_src.incidents WHERE agency_id = 1"
        " GROUP BY occurred_on",
        True,
    ),
    (
        301,
        "reporting.custom_metropolis_amounts",
        "Metropolis amounts",
        2,
        "metropolis",
        "SELECT category, sum(amount) AS amount, max(amount) AS largest FROM reporting_src.incidents"
        " WHERE agency_id = 2 GROUP BY category",
        True,
    ),
    (
        302,
        "reporting.custom_all_agencies",
        "All agencies",
        None,
        None,
        "SELECT agency_id, count(*) AS incidents, count(*) FILTER (WHERE closed) AS closed"
        " FROM reporting_src.incidents GROUP BY agency_id",
        True,
    ),
    (
        303,
        "reporting.custom_star_city_archive",
        "Star City archive",
        3,
        "star-city",
        "SELECT * FROM reporting_src.incidents WHERE agency_id = 3",
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
        conn.execute((paths.PROJECT_ROOT / "include" / "sql" / "reporting" / "schema.sql").read_text())
        reset_reporting(conn)
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
            SELECT n, 1 + n %% 4, DATE '2024-01-01' + (n * 7919 %% 700)::integer,
                   (ARRAY['theft', 'assault', 'vandalism', 'fraud', 'traffic'])[1 + n %% 5],
                   round(((n * 104729) %% 100000) / 100.0, 2), n %% 3 <> 0
            FROM generate_series(1::bigint, %s::bigint) AS n
            """,
            (incidents,),
        )
        conn.execute("ANALYZE reporting_src.incidents")
        cursor = conn.cursor()
        cursor.executemany(
            "INSERT INTO public.agency (id, name, subdomain, active) VALUES (%s, %s, %s, true)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, subdomain = EXCLUDED.subdomain",
            AGENCIES,
        )
        cursor.executemany(
            "INSERT INTO reporting.seeder_canned_report (id, table_name, report_name, query) VALUES (%s, %s, %s, %s)",
            CANNED_REPORTS,
        )
        cursor.executemany(
            "INSERT INTO reporting.seeder_canned_report_manifest"
            " (id, agency_id, agency_slug, canned_report_id, enabled) VALUES (%s, %s, %s, %s, %s)",
            CANNED_MANIFESTS,
        )
        cursor.executemany(
            "INSERT INTO reporting.seeder_custom_report_manifest"
            " (id, table_name, report_name, agency_id, agency_slug, query, enabled)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            CUSTOM_MANIFESTS,
        )
        create_indexed_view(conn)
    views = len({r[1] for r in CANNED_REPORTS if r[0] != 103}) + sum(1 for m in CUSTOM_MANIFESTS if m[-1])
    return f"reporting: {len(AGENCIES)} agencies, {incidents} incidents, {views} enabled views in the manifest"


def reset_reporting(conn) -> None:
    """Drop every view in the reporting schema and empty the seeder's tables."""
    from psycopg import sql

    names = conn.execute("SELECT matviewname FROM pg_matviews WHERE schemaname = 'reporting'").fetchall()
    for (name,) in names:
        conn.execute(sql.SQL("DROP MATERIALIZED VIEW IF EXISTS {} CASCADE").format(sql.Identifier("reporting", name)))
    conn.execute(
        "TRUNCATE reporting.seeder_canned_report_manifest, reporting.seeder_canned_report,"
        " reporting.seeder_custom_report_manifest, reporting.seeder_run_history, reporting.seeder_job_status,"
        " reporting.seeder_circuit_breaker, reporting.seeder_breaker_failures"
    )


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
