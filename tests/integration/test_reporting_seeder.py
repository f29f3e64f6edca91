"""reporting_seeder end to end on the devstack's Postgres."""

from __future__ import annotations

import threading

import psycopg
import pytest

from devstack import reporting_data
from tests.integration.conftest import run_dag, task_states

pytestmark = pytest.mark.integration

DAG_ID = "reporting_seeder"
INDEXED = f"reporting.{reporting_data.INDEXED_VIEW}"
GOTHAM_VIEWS = {
    "reporting.canned_incidents_by_day",
    "reporting.canned_categories",
    "reporting.canned_agency_overview",
    "reporting.custom_gotham_daily",
    "reporting.custom_all_agencies",
}
# Every view the manifest names, with its query (the original's rows and the demo's).
MANIFEST_VIEWS_SQL = """
    SELECT table_name, query FROM reporting.seeder_custom_report_manifest WHERE enabled
    UNION
    SELECT cr.table_name, cr.query FROM reporting.seeder_canned_report AS cr
    WHERE EXISTS (SELECT FROM reporting.seeder_canned_report_manifest AS cm WHERE cm.canned_report_id = cr.id)
"""
HISTORY_SQL = """
    SELECT table_name, status, action, agency_slug, errors, consecutive_failures, report_type, manifest_id, agency_id
    FROM (SELECT id, 0 AS source, table_name, status, action, agency_slug, errors, consecutive_failures, report_type,
                 manifest_id, agency_id
          FROM reporting.seeder_run_history WHERE run_id = %(run_id)s
          UNION ALL
          SELECT id, 1, table_name, status, action, agency_slug, errors, consecutive_failures, report_type,
                 manifest_id, agency_id
          FROM reporting.seeder_canned_run_history WHERE run_id = %(run_id)s) AS h
    ORDER BY source, id
"""


@pytest.fixture
def seeder_dag(bundle_dags, devstack_state):
    reporting_data.seed(devstack_state, 200)
    return bundle_dags[DAG_ID]


def manifest_views(warehouse) -> dict[str, str]:
    return dict(warehouse.execute(MANIFEST_VIEWS_SQL).fetchall())


def history(warehouse, run_id: str) -> dict[str, tuple]:
    """table -> (status, action, agency_slug, errors, consecutive_failures, report_type, manifest_id, agency_id)
    of the run's last attempt of each view, from the Django and the canned history tables."""
    rows = warehouse.execute(HISTORY_SQL, {"run_id": run_id}).fetchall()
    return {table: tuple(rest) for table, *rest in rows}


def job_status(warehouse, table: str) -> tuple | None:
    return warehouse.execute(
        "SELECT status, consecutive_failures, last_errors, last_run_id FROM reporting.seeder_job_status"
        " WHERE table_name = %(t)s UNION ALL SELECT status, consecutive_failures, last_errors, last_run_id"
        " FROM reporting.seeder_canned_job_status WHERE table_name = %(t)s",
        {"t": table},
    ).fetchone()


def view_oids(warehouse) -> dict[str, int]:
    rows = warehouse.execute(
        "SELECT schemaname || '.' || matviewname, (quote_ident(schemaname) || '.' || quote_ident(matviewname))"
        "::regclass::oid::bigint FROM pg_matviews WHERE schemaname = 'reporting'"
    ).fetchall()
    return dict(rows)


def count_of(warehouse, relation_sql: str) -> int:
    return warehouse.execute(f"SELECT count(*) FROM {relation_sql}").fetchone()[0]  # noqa: S608 - test's own constants


def index_and_grant_kept(warehouse) -> bool:
    index = warehouse.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'reporting' AND tablename = %s",
        (reporting_data.INDEXED_VIEW,),
    ).fetchall()
    granted = warehouse.execute(
        "SELECT has_table_privilege(%s, %s, 'SELECT')", (reporting_data.READER_ROLE, INDEXED)
    ).fetchone()[0]
    return len(index) == 1 and "UNIQUE" in index[0][0] and "canned_incidents_by_day_key" in index[0][0] and granted


def test_all_scope_builds_every_enabled_view_then_an_unchanged_run_only_refreshes(seeder_dag, warehouse):
    run = run_dag(seeder_dag)
    assert run.state == "success", task_states(run)

    enabled = manifest_views(warehouse)
    # The original's and the demo's; not the disabled custom entries nor the unsubscribed canned report.
    assert {"reporting.custom_demo", "reporting.canned_sales", "reporting.custom_gotham_daily"} <= set(enabled)
    assert not {"reporting.custom_metrics", "reporting.custom_star_city_archive", "reporting.canned_open_cases"} & set(
        enabled
    )
    oids = view_oids(warehouse)
    assert set(oids) == set(enabled)
    for table, query in enabled.items():
        assert count_of(warehouse, table) == count_of(warehouse, f"({query}) AS q") > 0, table

    recorded = history(warehouse, run.run_id)
    assert set(recorded) == set(enabled)
    assert {row[0] for row in recorded.values()} == {"success"}
    assert recorded[INDEXED][1] == "rebuilt"  # built by hand before: no hash, so rebuilt once
    assert {recorded[t][1] for t in recorded if t != INDEXED} == {"created"}
    # Canned views in the bundle's tables: named by two agencies' manifests, no agency.
    assert recorded["reporting.canned_incidents_by_day"][2:] == (None, None, 0, "canned", 1200, None)
    assert recorded["reporting.canned_categories"][2:] == ("gotham", None, 0, "canned", 1201, 1001)
    # Custom views in the Django tables, under the entry they are built from.
    assert recorded["reporting.custom_all_agencies"][2:] == ("gotham", None, 0, "custom", 1302, 1001)
    assert recorded["reporting.custom_demo"][2:] == ("test-agency", None, 0, "custom", 300, 1)
    django_tables = {
        table
        for (table,) in warehouse.execute(
            "SELECT DISTINCT table_name FROM reporting.seeder_run_history WHERE run_id = %s", (run.run_id,)
        )
    }
    assert django_tables == {t for t, row in recorded.items() if row[5] == "custom"}
    assert index_and_grant_kept(warehouse)
    statuses = warehouse.execute(
        "SELECT count(*), count(query_hash), sum(consecutive_failures) FROM ("
        " SELECT status, last_run_id, query_hash, consecutive_failures FROM reporting.seeder_job_status UNION ALL"
        " SELECT status, last_run_id, query_hash, consecutive_failures FROM reporting.seeder_canned_job_status) AS s"
        " WHERE status = 'success' AND last_run_id = %s",
        (run.run_id,),
    ).fetchone()
    assert statuses == (len(enabled), len(enabled), 0)

    again = run_dag(seeder_dag)
    assert again.state == "success"
    actions = {table: row[1] for table, row in history(warehouse, again.run_id).items()}
    assert actions.pop(INDEXED) == "refreshed_concurrently"
    assert set(actions.values()) == {"refreshed"}
    assert view_oids(warehouse) == oids  # nothing rebuilt


def test_agency_table_and_report_type_scopes(seeder_dag, warehouse):
    gotham = run_dag(seeder_dag, scope="agency", agency_slug="gotham")
    assert gotham.state == "success"
    assert set(history(warehouse, gotham.run_id)) == GOTHAM_VIEWS

    custom = run_dag(seeder_dag, scope="agency", agency_slug="gotham", report_type="custom")
    assert set(history(warehouse, custom.run_id)) == {"reporting.custom_gotham_daily", "reporting.custom_all_agencies"}

    one = run_dag(seeder_dag, scope="table", table_name="reporting.canned_monthly_totals")
    assert one.state == "success"
    assert set(history(warehouse, one.run_id)) == {"reporting.canned_monthly_totals"}


def test_a_view_refreshed_empty_after_having_rows_fails_the_gate_once_naming_it(seeder_dag, warehouse, capfd, caplog):
    table = "reporting.custom_gotham_daily"  # gotham's incidents only (agency 1001)
    gotham = warehouse.execute("SELECT * FROM reporting_src.incidents WHERE agency_id = 1001").fetchall()

    def empty_source() -> None:
        warehouse.execute("DELETE FROM reporting_src.incidents WHERE agency_id = 1001")

    def refill_source() -> None:
        warehouse.cursor().executemany("INSERT INTO reporting_src.incidents VALUES (%s, %s, %s, %s, %s, %s)", gotham)

    assert run_dag(seeder_dag, scope="table", table_name=table).state == "success"
    assert count_of(warehouse, table) > 0

    empty_source()
    allowed = run_dag(seeder_dag, scope="table", table_name=table, allow_emptied_views=True)
    assert allowed.state == "success", task_states(allowed)
    assert count_of(warehouse, table) == 0

    refill_source()
    assert run_dag(seeder_dag, scope="table", table_name=table).state == "success"
    capfd.readouterr()
    caplog.clear()
    empty_source()
    emptied = run_dag(seeder_dag, scope="table", table_name=table)
    assert emptied.state == "failed"
    states = task_states(emptied)
    assert (states["refresh_view"], states["check_outcome"]) == (["success"], ["success"])
    assert states["check_no_view_emptied"] == ["failed"]
    assert f"emptied since their last refresh: {table}" in "".join(capfd.readouterr()) + caplog.text
    # The gate reports; it does not undo: the view holds what its source holds, recorded a success.
    assert count_of(warehouse, table) == 0
    assert history(warehouse, emptied.run_id)[table][0] == "success"

    # Empty again is not a new loss: the next run passes.
    again = run_dag(seeder_dag, scope="table", table_name=table)
    assert again.state == "success", task_states(again)


def test_unknown_slug_fails_fast_and_sql_in_a_table_name_is_refused(seeder_dag, warehouse, capfd, caplog):
    run = run_dag(seeder_dag, scope="agency", agency_slug="atlantis")
    assert run.state == "failed"
    assert task_states(run)["plan_views"] == ["failed"]
    assert "agency slug 'atlantis' is not in the manifest" in "".join(capfd.readouterr()) + caplog.text
    assert history(warehouse, run.run_id) == {}

    run = run_dag(seeder_dag, scope="table", table_name="reporting.not_there")
    assert run.state == "failed"
    assert "table 'reporting.not_there' is not in the manifest" in "".join(capfd.readouterr()) + caplog.text

    with pytest.raises(Exception, match="does not match") as refused:
        run_dag(seeder_dag, scope="table", table_name="x; drop table reporting.seeder_run_history")
    assert "table_name" in str(refused.value)
    assert warehouse.execute("SELECT to_regclass('reporting.seeder_run_history')").fetchone()[0] is not None


def test_a_changed_query_rebuilds_only_its_view_and_readers_never_miss_it(seeder_dag, warehouse, devstack_state):
    from devstack.services import DATABASES, server_url

    assert run_dag(seeder_dag).state == "success"
    before = view_oids(warehouse)
    warehouse.execute(
        "UPDATE reporting.seeder_canned_report SET query = query || ' HAVING count(*) > 28' WHERE table_name = %s",
        (INDEXED,),
    )

    errors: list[str] = []
    reads = 0
    stop = threading.Event()

    def read_continuously():
        nonlocal reads
        url = server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])
        with psycopg.connect(url, autocommit=True) as reader:
            while not stop.is_set():
                try:
                    reader.execute(f"SELECT count(*) FROM {INDEXED}").fetchone()  # noqa: S608 - a constant
                    reads += 1
                except psycopg.Error as err:
                    errors.append(str(err))

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        run = run_dag(seeder_dag)
    finally:
        stop.set()
        reader.join()
    assert run.state == "success"
    assert reads > 0 and errors == []

    after = view_oids(warehouse)
    actions = {table: row[1] for table, row in history(warehouse, run.run_id).items()}
    assert actions.pop(INDEXED) == "rebuilt" and after[INDEXED] != before[INDEXED]
    assert set(actions.values()) == {"refreshed"}
    assert {t: o for t, o in after.items() if t != INDEXED} == {t: o for t, o in before.items() if t != INDEXED}
    new_query = warehouse.execute(
        "SELECT query FROM reporting.seeder_canned_report WHERE table_name = %s", (INDEXED,)
    ).fetchone()[0]
    old_query = next(r[3] for r in reporting_data.CANNED_REPORTS if r[1] == INDEXED)
    assert count_of(warehouse, INDEXED) == count_of(warehouse, f"({new_query}) AS q")
    assert count_of(warehouse, INDEXED) != count_of(warehouse, f"({old_query}) AS q")
    assert index_and_grant_kept(warehouse)


BROKEN_AGENCY = 1009  # a demo id: the next seed removes it and its manifests
BROKEN_QUERY = "SELECT * FROM reporting_src.no_such_table"


def add_broken_agency(warehouse, views: int, canned: int = 0) -> list[str]:
    """An agency whose custom (and canned) manifests query a table that does not exist."""
    warehouse.execute(
        "INSERT INTO public.agency (id, name, subdomain, lms_integration_enabled, active)"
        " VALUES (%s, 'Broken PD', 'broken', false, true) ON CONFLICT DO NOTHING",
        (BROKEN_AGENCY,),
    )
    tables = [f"reporting.broken_{n}" for n in range(views)]
    for n, table in enumerate(tables):
        warehouse.execute(
            "INSERT INTO reporting.seeder_custom_report_manifest (id, table_name, report_name, agency_id, agency_slug,"
            " query, enabled) VALUES (%s, %s, 'Broken', %s, 'broken', %s, true)",
            (1900 + n, table, BROKEN_AGENCY, BROKEN_QUERY),
        )
    for n in range(canned):
        table = f"reporting.broken_canned_{n}"
        warehouse.execute(
            "INSERT INTO reporting.seeder_canned_report (id, table_name, report_name, query) VALUES (%s, %s, 'B', %s)",
            (1950 + n, table, BROKEN_QUERY),
        )
        warehouse.execute(
            "INSERT INTO reporting.seeder_canned_report_manifest (id, agency_id, agency_slug, canned_report_id)"
            " VALUES (%s, %s, 'broken', %s)",
            (1950 + n, BROKEN_AGENCY, 1950 + n),
        )
        tables.append(table)
    return tables


def test_broken_queries_open_the_breaker_which_skips_and_records_then_half_opens(seeder_dag, warehouse):
    broken = add_broken_agency(warehouse, 4)
    # Only the broken agency's views (the demo has no NULL-slug entry: the Django model's
    # slug is NOT NULL), so the breaker's count is not reset by a success in between.
    run = run_dag(seeder_dag, scope="agency", agency_slug="broken", max_failures=2)
    assert run.state == "failed"
    recorded = history(warehouse, run.run_id)
    assert set(recorded) == set(broken)
    # A query reading a missing table is rejected before it runs, and counts for the breaker.
    errored = [t for t, row in recorded.items() if row[0] == "rejected"]
    skipped = [t for t, row in recorded.items() if row[0] == "skipped"]  # varchar(64): the Django column takes it
    assert len(errored) == 2 and len(skipped) == 2
    assert all("reads reporting_src.no_such_table, which does not exist" in recorded[t][3] for t in errored)
    assert all("circuit breaker open" in recorded[t][3] for t in skipped)
    states = task_states(run)
    assert sorted(states["refresh_view"]) == ["failed", "failed", "skipped", "skipped"]
    assert states["check_outcome"] == ["failed"]
    failures, opened_at = warehouse.execute(
        "SELECT failures, opened_at FROM reporting.seeder_circuit_breaker"
    ).fetchone()
    assert failures == 2 and opened_at is not None

    # Still open in the next run: the healthy views are skipped, recorded, and the run fails.
    warehouse.execute("UPDATE reporting.seeder_custom_report_manifest SET enabled = false WHERE agency_slug = 'broken'")
    blocked = run_dag(seeder_dag, max_failures=2)
    assert blocked.state == "failed"
    assert {row[0] for row in history(warehouse, blocked.run_id).values()} == {"skipped"}

    # After the cool-down it half-opens: the views run, and a success closes it.
    warehouse.execute("UPDATE reporting.seeder_circuit_breaker SET opened_at = opened_at - interval '301 seconds'")
    recovered = run_dag(seeder_dag, max_failures=2)
    assert recovered.state == "success"
    assert warehouse.execute("SELECT failures, opened_at FROM reporting.seeder_circuit_breaker").fetchone() == (
        0,
        None,
    )


def test_a_views_failure_counts_once_per_run_however_many_tries(seeder_dag, devstack_state):
    from devstack.services import DATABASES, server_url
    from etl_bundle.common import migrations
    from etl_bundle.common.circuit_breaker import CircuitBreaker
    from etl_bundle.reporting import store

    breaker = CircuitBreaker(max_failures=3, reset_seconds=300)
    url = server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])
    migrations.upgrade("reporting", lambda: psycopg.connect(url))  # the breaker's tables, as migrate_schema does
    with psycopg.connect(url) as conn:
        for _ in range(3):  # three tries of one view in one run
            state = store.breaker_record(conn, breaker, run_id="run-1", table_name="reporting.v", failed=True)
        assert state.failures == 1 and state.opened_at is None
        state = store.breaker_record(conn, breaker, run_id="run-2", table_name="reporting.v", failed=True)
        state = store.breaker_record(conn, breaker, run_id="run-2", table_name="reporting.w", failed=True)
        assert state.failures == 3 and state.opened_at is not None
        allowed, described = store.breaker_check(conn, breaker)
        assert not allowed and "3 consecutive failures" in described


def test_consecutive_failures_accumulate_across_runs_and_return_to_zero_on_success(seeder_dag, warehouse):
    custom, canned = add_broken_agency(warehouse, 1, canned=1)
    for n in (1, 2, 3):
        run = run_dag(seeder_dag, scope="agency", agency_slug="broken", max_failures=10)
        assert run.state == "failed"
        recorded = history(warehouse, run.run_id)
        for table in (custom, canned):
            assert recorded[table][0] == "rejected" and recorded[table][4] == n, (table, recorded[table])
            status, failures, errors, last_run_id = job_status(warehouse, table)
            assert (status, failures, last_run_id) == ("rejected", n, run.run_id)
            assert "no_such_table" in errors

    warehouse.execute("UPDATE reporting.seeder_custom_report_manifest SET query = 'SELECT 1 AS ok' WHERE id = 1900")
    warehouse.execute("UPDATE reporting.seeder_canned_report SET query = 'SELECT 2 AS ok' WHERE id = 1950")
    fixed = run_dag(seeder_dag, scope="agency", agency_slug="broken", max_failures=10)
    assert fixed.state == "success", task_states(fixed)
    recorded = history(warehouse, fixed.run_id)
    for table in (custom, canned):
        assert recorded[table][:2] == ("success", "created") and recorded[table][4] == 0
        assert job_status(warehouse, table) == ("success", 0, None, fixed.run_id)
    # Every attempt kept: three errors and the success, custom in the Django table, canned in ours.
    attempts = warehouse.execute(
        "SELECT 'custom', status, consecutive_failures FROM reporting.seeder_run_history WHERE table_name = %(c)s"
        " UNION ALL SELECT 'canned', status, consecutive_failures FROM reporting.seeder_canned_run_history"
        " WHERE table_name = %(k)s ORDER BY 1, 3 DESC",
        {"c": custom, "k": canned},
    ).fetchall()
    expected = [("rejected", 3), ("rejected", 2), ("rejected", 1), ("success", 0)]
    assert attempts == [("canned", *row) for row in expected] + [("custom", *row) for row in expected]


def test_each_try_of_a_view_is_one_attempt_and_its_failure_counts_once_for_the_breaker(seeder_dag, warehouse):
    """An Airflow task retry is a new attempt: its own history row, as the original's job retries were."""
    from etl_bundle.common.db_errors import DatabaseError
    from etl_bundle.reporting import store, tasks
    from etl_bundle.reporting.manifest import select_views

    table = "reporting.custom_gotham_daily"
    assert run_dag(seeder_dag, scope="table", table_name=table).state == "success"
    with warehouse.cursor() as cursor:
        (view,) = select_views(store.manifest_entries(cursor), scope="table", table_name=table)
    settings = {
        "max_failures": 5,
        "reset_seconds": 300,
        "statement_timeout": "60s",
        "lock_timeout": "1s",
        "client_check_interval": "2s",
    }
    planned = {**view.to_dict(), "settings": settings}
    run_id = "manual__each_try_is_an_attempt"

    url = warehouse.info.dsn
    with psycopg.connect(url) as holder:  # a refresh left open elsewhere: the first try's lock times out
        holder.execute(f"REFRESH MATERIALIZED VIEW {table}")  # noqa: S608 - a constant
        # Retryable: raised for the task's retries, told without the database's DETAIL.
        with pytest.raises(DatabaseError, match="LockNotAvailable, SQLSTATE 55P03"):
            tasks.refresh_one("warehouse_postgres", planned, run_id)
        holder.rollback()
    result = tasks.refresh_one("warehouse_postgres", planned, run_id)
    assert result["action"] == "refreshed"

    attempts = warehouse.execute(
        "SELECT status, consecutive_failures, errors IS NOT NULL FROM reporting.seeder_run_history"
        " WHERE run_id = %s ORDER BY id",
        (run_id,),
    ).fetchall()
    assert attempts == [("error", 1, True), ("success", 0, False)]
    assert job_status(warehouse, table)[:3] == ("success", 0, None)
    breaker = warehouse.execute(
        "SELECT (SELECT count(*) FROM reporting.seeder_breaker_failures WHERE run_id = %s), failures"
        " FROM reporting.seeder_circuit_breaker",
        (run_id,),
    ).fetchone()
    assert breaker == (1, 0)  # counted once for the run, then closed by the success


def test_an_empty_database_is_created_by_the_dag_then_its_views_built(bundle_dags, scratch_warehouse):
    dag = bundle_dags[DAG_ID]
    empty = run_dag(dag)
    assert empty.state == "success", task_states(empty)  # nothing in the manifest yet: nothing to do
    with scratch_warehouse() as conn:
        canned_columns = {
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'reporting' AND table_name = 'seeder_canned_report_manifest'"
            )
        }
        assert canned_columns == {"id", "agency_id", "agency_slug", "canned_report_id"}  # no enabled
        reporting_data.seed_source(conn, 10_000)
        reporting_data.seed_manifests(conn)

    run = run_dag(dag)
    assert run.state == "success", task_states(run)
    with scratch_warehouse() as conn:
        enabled = manifest_views(conn)
        recorded = history(conn, run.run_id)
        assert set(recorded) == set(enabled) == set(view_oids(conn))
        assert {row[:2] for row in recorded.values()} == {("success", "created")}
        for table, query in enabled.items():
            assert count_of(conn, table) == count_of(conn, f"({query}) AS q") > 0, table
        custom = {m[1] for m in reporting_data.CUSTOM_MANIFESTS if m[-1]}
        django = conn.execute(
            "SELECT table_name, status, records_processed > 0, bytes_processed > 0, duration_seconds IS NOT NULL,"
            " finish_time >= start_time FROM reporting.seeder_run_history WHERE run_id = %s",
            (run.run_id,),
        ).fetchall()
        assert {row[0] for row in django} == custom
        assert all(row[1:] == ("success", True, True, True, True) for row in django)
        statuses = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'success' AND consecutive_failures = 0 AND query_hash IS NOT NULL)"
            " FROM reporting.seeder_job_status"
        ).fetchone()
        assert statuses == (len(custom),)
        canned = conn.execute("SELECT count(*) FROM reporting.seeder_canned_job_status WHERE status = 'success'")
        assert canned.fetchone() == (len(enabled) - len(custom),)


ORIGINAL_TABLES = (
    "public.agency",
    "reporting.seeder_custom_report_manifest",
    "reporting.seeder_canned_report",
    "reporting.seeder_canned_report_manifest",
    "reporting.seeder_job_status",
    "reporting.seeder_run_history",
)
ORIGINAL_COLUMNS_SQL = """
    SELECT table_schema || '.' || table_name, column_name, ordinal_position, data_type, character_maximum_length,
           is_nullable, column_default, is_identity, identity_generation
    FROM information_schema.columns
    WHERE table_schema || '.' || table_name = ANY(%s)
"""
ORIGINAL_CONSTRAINTS_SQL = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred
    FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)
"""
ORIGINAL_INDEXES_SQL = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname || '.' || tablename = ANY(%s)"


def _snapshot(conn) -> dict[str, set]:
    tables = list(ORIGINAL_TABLES)
    return {
        "columns": set(conn.execute(ORIGINAL_COLUMNS_SQL, (tables,)).fetchall()),
        "constraints": set(conn.execute(ORIGINAL_CONSTRAINTS_SQL, (tables,)).fetchall()),
        "indexes": set(conn.execute(ORIGINAL_INDEXES_SQL, (tables,)).fetchall()),
    }


def _rows(conn, table: str, columns: list[str]) -> list[tuple]:
    from psycopg import sql

    query = sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(*table.split("."))
    )
    return conn.execute(query).fetchall()


def test_the_originals_database_is_adopted_and_refreshed_without_losing_a_row(bundle_dags, scratch_warehouse):
    from devstack import originals

    with scratch_warehouse() as conn:
        originals.load(conn, "reporting")
        before = _snapshot(conn)
        columns = {}
        for table, column, *_ in sorted(before["columns"], key=lambda c: (c[0], c[2])):
            columns.setdefault(table, []).append(column)
        rows_before = {table: _rows(conn, table, columns[table]) for table in ORIGINAL_TABLES}
    assert (
        len(rows_before["reporting.seeder_run_history"]) == 4 and len(rows_before["reporting.seeder_job_status"]) == 2
    )

    run = run_dag(bundle_dags[DAG_ID])
    assert run.state == "success", task_states(run)

    with scratch_warehouse() as conn:
        after = _snapshot(conn)
        # Every original column, constraint (foreign keys DEFERRABLE INITIALLY DEFERRED included) and
        # index as it was; added: two nullable columns without defaults, and the run_id index.
        assert before["columns"] <= after["columns"]
        added = {(t, c, typ, nullable, default) for t, c, _, typ, _, nullable, default, *_ in after["columns"]} - {
            (t, c, typ, nullable, default) for t, c, _, typ, _, nullable, default, *_ in before["columns"]
        }
        assert added == {
            ("reporting.seeder_job_status", "query_hash", "text", "YES", None),
            ("reporting.seeder_run_history", "action", "character varying", "YES", None),
        }
        assert before["constraints"] == after["constraints"]
        assert {c for c in before["constraints"] if "FOREIGN KEY" in c[2]} and all(
            c[3] and c[4] for c in before["constraints"] if "FOREIGN KEY" in c[2]
        )
        assert after["indexes"] - before["indexes"] == {
            (
                "seeder_run_history_run_id_idx",
                "CREATE INDEX seeder_run_history_run_id_idx ON reporting.seeder_run_history USING btree (run_id)",
            )
        }
        rows_after = {table: _rows(conn, table, columns[table]) for table in ORIGINAL_TABLES}
        for table in ORIGINAL_TABLES[:4]:  # inputs: untouched
            assert rows_after[table] == rows_before[table], table
        history_after = rows_after["reporting.seeder_run_history"]
        assert history_after[:4] == rows_before["reporting.seeder_run_history"]  # the original's attempts kept
        assert len(history_after) == 4 + 2  # custom_demo and custom_activity (custom_metrics is disabled)
        assert len(rows_after["reporting.seeder_job_status"]) == 2  # the same views' rows, now ours to update

        recorded = history(conn, run.run_id)
        # The original's views had no hash: rebuilt beside and swapped; the canned ones were never built.
        assert {t: row[1] for t, row in recorded.items() if row[5] == "custom"} == {
            "reporting.custom_demo": "rebuilt",
            "reporting.custom_activity": "rebuilt",
        }
        canned = {t: row for t, row in recorded.items() if row[5] == "canned"}
        assert len(canned) == 5 and {(row[1], row[2], row[7]) for row in canned.values()} == {
            ("created", "test-agency", 1)
        }
        # custom_demo's job status had one failure from the original; the success reset it.
        assert job_status(conn, "reporting.custom_demo") == ("success", 0, None, run.run_id)

        # The Django application's inserts (every model column named, no more) still work.
        conn.execute(
            "INSERT INTO reporting.seeder_custom_report_manifest"
            " (table_name, report_name, agency_id, agency_slug, query, database_id, enabled)"
            " VALUES ('reporting.custom_new', 'New', 1, 'test-agency', 'SELECT 1 AS x', NULL, true)"
        )
        conn.execute(
            "INSERT INTO reporting.seeder_canned_report_manifest (agency_id, agency_slug, canned_report_id)"
            " VALUES (1, 'test-agency', 100)"
        )
        conn.execute(
            "INSERT INTO reporting.seeder_job_status (table_name, manifest_id, report_name, report_type, agency_id,"
            " agency_slug, status, duration_seconds, start_time, consecutive_failures, last_run_id, last_errors,"
            " updated_at) VALUES ('reporting.custom_new', 300, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL,"
            " now())"
        )
        conn.execute(
            "INSERT INTO reporting.seeder_run_history (run_id, manifest_id, table_name, report_name, agency_id,"
            " agency_slug, report_type, status, start_time, finish_time, duration_seconds, records_processed,"
            " bytes_processed, memory_usage_mb, cpu_percentage, consecutive_failures, errors, created_at, updated_at)"
            " VALUES ('uuid', 300, 'reporting.custom_demo', 'Custom demo', 1, 'test-agency', 'custom', 'running',"
            " now(), NULL, NULL, 0, 0, NULL, NULL, 0, NULL, now(), now())"
        )
        conn.commit()
