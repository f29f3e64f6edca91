"""reporting_seeder under faults: hostile and broken manifest queries, a kill and a Postgres
restart mid-refresh, database errors told without values, identical reruns.

Each test reseeds the demo (``devstack.reporting_data``), which also empties the
breaker and the demo's run state. A slow view sleeps in the database for as long as
``reporting_src.fault_knobs.sleep_seconds`` says (0 when not under test), so a kill
can land while its refresh is in flight.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from devstack import reporting_data
from etl_bundle.reporting.tasks import grant_sources
from tests.faults.conftest import airflow_dags_test, reset_airflow_connections, restart_postgres, sigkill_when
from tests.integration.conftest import migrate_warehouse, run_dag, task_states

pytestmark = pytest.mark.integration

DAG_ID = "reporting_seeder"
HOSTILE_AGENCY = (1010, "hostile")  # demo ids: the next seed removes the agency and its manifests
SLOW_VIEW = "reporting.custom_m_slow"  # sorts among the demo's views: some refresh before it, some after
SLOW_MANIFEST_ID = 1990
SLOW_QUERY = (
    "WITH nap AS MATERIALIZED (SELECT pg_sleep(sleep_seconds) FROM reporting_src.fault_knobs)"
    " SELECT i.agency_id, count(*) AS {alias} FROM reporting_src.incidents AS i"
    " WHERE EXISTS (SELECT FROM nap) GROUP BY i.agency_id"
)
# The seeder's own record tables: a run writes these, and only these.
RECORD_TABLES = {
    "reporting.seeder_run_history",
    "reporting.seeder_job_status",
    "reporting.seeder_canned_run_history",
    "reporting.seeder_canned_job_status",
    "reporting.seeder_circuit_breaker",
    "reporting.seeder_breaker_failures",
}


def connect_warehouse(devstack_state):
    """A new autocommit connection (the session's ``warehouse`` does not survive a Postgres restart)."""
    from devstack.services import DATABASES, server_url

    return psycopg.connect(server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"]), autocommit=True)


def set_sleep(devstack_state, seconds: float) -> None:
    with connect_warehouse(devstack_state) as conn:
        conn.execute("TRUNCATE reporting_src.fault_knobs")
        conn.execute("INSERT INTO reporting_src.fault_knobs VALUES (%s)", (seconds,))


@pytest.fixture
def seeder(bundle_dags, devstack_state):
    reporting_data.seed(devstack_state, 200)
    with connect_warehouse(devstack_state) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS reporting_src.fault_knobs (sleep_seconds double precision)")
    set_sleep(devstack_state, 0)
    # The reader role and its grants on the sources exist before anything is measured.
    migrate_warehouse("reporting")
    grant_sources("warehouse_postgres")
    yield bundle_dags[DAG_ID]
    set_sleep(devstack_state, 0)


def add_custom_entries(warehouse, agency: tuple[int, str], entries: list[tuple[int, str, str]]) -> None:
    """Custom manifest rows ``(id, table, query)`` of an agency, as the Django app inserts them."""
    agency_id, slug = agency
    warehouse.execute(
        "INSERT INTO public.agency (id, name, subdomain, lms_integration_enabled, active)"
        " VALUES (%s, %s, %s, false, true) ON CONFLICT DO NOTHING",
        (agency_id, f"{slug} PD", slug),
    )
    for manifest_id, table, query in entries:
        warehouse.execute(
            "INSERT INTO reporting.seeder_custom_report_manifest (id, table_name, report_name, agency_id, agency_slug,"
            " query, enabled) VALUES (%s, %s, %s, %s, %s, %s, true)",
            (manifest_id, table, f"fault {manifest_id}", agency_id, slug, query),
        )


def history_rows(warehouse, run_id: str) -> dict[str, tuple]:
    """table -> (status, errors, consecutive_failures) of the run's last attempt of each custom view."""
    rows = warehouse.execute(
        "SELECT DISTINCT ON (table_name) table_name, status, errors, consecutive_failures"
        " FROM reporting.seeder_run_history WHERE run_id = %s ORDER BY table_name, id DESC",
        (run_id,),
    ).fetchall()
    return {table: tuple(rest) for table, *rest in rows}


def view_checksums(conn) -> dict[str, str]:
    """Every reporting view's contents as one md5 (rows in a fixed order)."""
    names = conn.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(matviewname) FROM pg_matviews"
        " WHERE schemaname = 'reporting' ORDER BY 1"
    ).fetchall()
    sums = {}
    for (name,) in names:
        (digest,) = conn.execute(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} AS t"  # noqa: S608 - catalog names, quoted
        ).fetchone()
        sums[name] = digest
    return sums


def database_fingerprint(conn) -> dict[str, object]:
    """The catalog (relations with owners and ACLs, schemas, roles, functions) and every table's
    contents, the seeder's record tables excepted."""
    catalog = conn.execute(
        "SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), coalesce(c.relacl::text, '')"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast%%' ORDER BY 1, 2"
    ).fetchall()
    schemas = conn.execute("SELECT nspname, coalesce(nspacl::text, '') FROM pg_namespace ORDER BY 1").fetchall()
    roles = conn.execute("SELECT rolname FROM pg_roles ORDER BY 1").fetchall()
    functions = conn.execute("SELECT count(*) FROM pg_proc").fetchone()
    tables = conn.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename), schemaname || '.' || tablename"
        " FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    ).fetchall()
    contents = {}
    for quoted, plain in tables:
        if plain in RECORD_TABLES:
            continue
        contents[plain] = conn.execute(
            f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {quoted} AS t"  # noqa: S608 - catalog names, quoted
        ).fetchone()
    return {
        "catalog": catalog,
        "schemas": schemas,
        "roles": roles,
        "functions": functions,
        "tables": contents,
        "views": view_checksums(conn),
    }


# --- bad input: hostile and broken manifest queries ---------------------------------

BAD_QUERIES = [
    # (case, table, query, what the error says)
    ("multi-statement", "reporting.hostile_multi", "SELECT 1 AS a; DROP TABLE raw.cases; SELECT 1", "3 statements"),
    ("DDL", "reporting.hostile_ddl", "DROP TABLE reporting_src.incidents", "DROP statement, not a SELECT"),
    (
        "data-modifying CTE",
        "reporting.hostile_cte",
        "WITH d AS (DELETE FROM reporting_src.incidents RETURNING *) SELECT count(*) AS n FROM d",
        "modifies data",
    ),
    (
        "SELECT INTO",
        "reporting.hostile_into",
        "SELECT * INTO reporting_src.stolen FROM reporting_src.incidents",
        "INTO",
    ),
    ("locking clause", "reporting.hostile_lock", "SELECT id FROM reporting_src.incidents FOR UPDATE", "locking"),
    ("syntax error", "reporting.broken_syntax", "SELEC agency_id FROM reporting_src.incidents", "not valid SQL"),
    (
        "not a source",
        "reporting.hostile_manifest_reader",
        "SELECT agency_slug, query FROM reporting.seeder_custom_report_manifest",
        "reads reporting.seeder_custom_report_manifest, which is not a report source",
    ),
    (
        "missing source table",
        "reporting.broken_missing",
        "SELECT * FROM reporting_src.no_such_table",
        "reads reporting_src.no_such_table, which does not exist",
    ),
    # Passes the parser; the reader role may not execute it: the server refuses.
    (
        "server-side refusal",
        "reporting.hostile_read_file",
        "SELECT pg_read_file('/etc/hostname') AS f",
        "InsufficientPrivilege, SQLSTATE 42501",
    ),
]


@pytest.mark.quick
def test_hostile_and_broken_queries_are_rejected_counted_and_change_nothing_else(seeder, warehouse, faults):
    entries = [(1910 + n, table, query) for n, (_, table, query, _) in enumerate(BAD_QUERIES)]
    add_custom_entries(warehouse, HOSTILE_AGENCY, entries)
    before = database_fingerprint(warehouse)

    run = run_dag(seeder, scope="agency", agency_slug=HOSTILE_AGENCY[1], max_failures=100)

    assert run.state == "failed"
    assert database_fingerprint(warehouse) == before  # nothing outside the seeder's record tables changed
    recorded = history_rows(warehouse, run.run_id)
    assert set(recorded) == {table for _, table, _, _ in BAD_QUERIES}
    for case, table, _, says in BAD_QUERIES:
        status, errors, failures = recorded[table]
        assert (status, failures) == ("rejected", 1), (case, status, errors)
        assert says in errors, (case, errors)
        faults.bad_input(f"reporting: {case}", errors, f"agency {HOSTILE_AGENCY[1]}", f"view {table}", "field query")
    states = task_states(run)
    assert states["refresh_view"] == ["failed"] * len(BAD_QUERIES)  # not retried: a rejection is final
    # The breaker counts each rejected view as that view's failure in this run.
    (counted,) = warehouse.execute(
        "SELECT count(*) FROM reporting.seeder_breaker_failures WHERE run_id = %s", (run.run_id,)
    ).fetchone()
    assert counted == len(BAD_QUERIES)
    (failures,) = warehouse.execute("SELECT failures FROM reporting.seeder_circuit_breaker").fetchone()
    assert failures == len(BAD_QUERIES)


@pytest.mark.quick
def test_the_server_refuses_a_second_statement_and_the_reader_role_reads_sources_only(seeder, warehouse):
    """The two guards behind the parser, each met alone (the parser bypassed)."""
    from etl_bundle.reporting import views

    with psycopg.connect(warehouse.info.dsn) as conn, conn.cursor() as cursor:
        with pytest.raises(psycopg.errors.SyntaxError, match="cannot insert multiple commands"):
            views.build_view(
                cursor,
                schema="reporting",
                name="hostile_direct",
                query="SELECT 1 AS a; DROP TABLE reporting_src.incidents",
                reader_role=views.READER_ROLE,
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            views.build_view(
                cursor,
                schema="reporting",
                name="hostile_direct",
                query="SELECT * FROM reporting.seeder_run_history",
                reader_role=views.READER_ROLE,
            )
        conn.rollback()
        # A source it may read: built by the reader, then owned by our role as before.
        views.build_view(
            cursor,
            schema="reporting",
            name="fault_direct",
            query="SELECT count(*) AS n FROM reporting_src.incidents",
            reader_role=views.READER_ROLE,
        )
        owner, me = cursor.execute(
            "SELECT pg_get_userbyid(relowner), current_user FROM pg_class"
            " WHERE oid = 'reporting.fault_direct'::regclass"
        ).fetchone()
        assert owner == me
        conn.rollback()
    assert warehouse.execute("SELECT to_regclass('reporting_src.incidents') IS NOT NULL").fetchone() == (True,)


def test_a_query_failing_on_data_is_recorded_and_logged_without_the_value(seeder, warehouse, faults, capfd, caplog):
    personal = "Jane Quincy Public"
    warehouse.execute("CREATE TABLE IF NOT EXISTS reporting_src.fault_people (name text)")
    warehouse.execute("TRUNCATE reporting_src.fault_people")
    warehouse.execute("INSERT INTO reporting_src.fault_people VALUES (%s)", (personal,))
    table = "reporting.broken_cast"
    add_custom_entries(
        warehouse, HOSTILE_AGENCY, [(1930, table, "SELECT name::integer AS n FROM reporting_src.fault_people")]
    )
    try:
        run = run_dag(seeder, scope="agency", agency_slug=HOSTILE_AGENCY[1])
    finally:
        warehouse.execute("DROP TABLE reporting_src.fault_people")  # the test's own table

    assert run.state == "failed"
    status, errors, _ = history_rows(warehouse, run.run_id)[table]
    assert status == "error"  # a data error, not the manifest's fault: not rejected
    assert errors == 'InvalidTextRepresentation, SQLSTATE 22P02: invalid input syntax for type integer: "…"'
    (last_errors,) = warehouse.execute(
        "SELECT last_errors FROM reporting.seeder_job_status WHERE table_name = %s", (table,)
    ).fetchone()
    assert last_errors == errors
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "SQLSTATE 22P02" in logged  # the failure was logged, described
    assert personal not in logged and personal not in errors
    faults.bad_input("reporting: cast of a personal value", errors, "SQLSTATE 22P02", "type integer")


# --- kills and restarts mid-refresh -------------------------------------------------


def add_slow_view(warehouse) -> None:
    add_custom_entries(
        warehouse, (1001, "gotham"), [(SLOW_MANIFEST_ID, SLOW_VIEW, SLOW_QUERY.format(alias="incidents"))]
    )


def slow_refresh_in_flight(conn) -> bool:
    """The slow view's attempt is recorded running and its statement sleeps in the database."""
    (hit,) = conn.execute(
        "SELECT EXISTS (SELECT FROM reporting.seeder_run_history WHERE table_name = %s AND status = 'running')"
        " AND EXISTS (SELECT FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%%pg_sleep(sleep_seconds)%%'"
        " AND pid <> pg_backend_pid())",
        (SLOW_VIEW,),
    ).fetchone()
    return hit


def wait_until_no_slow_statement(conn, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (running,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(sleep_seconds)%%'"
            " AND pid <> pg_backend_pid()"
        ).fetchone()
        if running == 0:
            return
        time.sleep(0.5)
    raise AssertionError("the killed task's statement still runs in the database")


def change_sources_and_the_slow_query(warehouse) -> None:
    """What the next run picks up: more incidents (every view changes) and a new slow query (a rebuild)."""
    warehouse.execute(
        "INSERT INTO reporting_src.incidents SELECT id + 1000000, agency_id, occurred_on, category, amount, closed"
        " FROM reporting_src.incidents WHERE id <= 500"
    )
    warehouse.execute(
        "UPDATE reporting.seeder_custom_report_manifest SET query = %s WHERE id = %s",
        (SLOW_QUERY.format(alias="incident_count"), SLOW_MANIFEST_ID),
    )


def test_sigkill_mid_refresh_leaves_old_or_new_views_then_the_attempt_is_closed_abandoned(seeder, warehouse, faults):
    add_slow_view(warehouse)
    assert run_dag(seeder).state == "success"
    old = view_checksums(warehouse)
    change_sources_and_the_slow_query(warehouse)
    warehouse.execute("UPDATE reporting_src.fault_knobs SET sleep_seconds = 120")

    with faults.inject("reporting: SIGKILL mid-rebuild of a view"):
        process = airflow_dags_test(DAG_ID)
        assert sigkill_when(process, lambda: slow_refresh_in_flight(warehouse), timeout=300), process.log_path
        killed_at = time.monotonic()
        wait_until_no_slow_statement(warehouse)  # the server noticed its client gone (client_connection_check)
        print(f"SIGKILL mid-rebuild: the killed statement ended {time.monotonic() - killed_at:.1f} s after the kill")
        warehouse.execute("UPDATE reporting_src.fault_knobs SET sleep_seconds = 0")

        killed = warehouse.execute(
            "SELECT id, run_id, consecutive_failures FROM reporting.seeder_run_history"
            " WHERE table_name = %s AND status = 'running'",
            (SLOW_VIEW,),
        ).fetchall()
        assert len(killed) == 1, killed
        history_id, killed_run, failures_before = killed[0]
        middle = view_checksums(warehouse)
        assert middle[SLOW_VIEW] == old[SLOW_VIEW]  # its rebuild rolled back: the old view, whole
        assert not [v for v in middle if v.endswith("__seeder_new")]  # no half-built sibling left

        # The next run, whatever it refreshes, closes the attempt at its start.
        other = run_dag(seeder, scope="table", table_name="reporting.custom_gotham_daily")
        assert other.state == "success", task_states(other)
        status, errors, failures = warehouse.execute(
            "SELECT status, errors, consecutive_failures FROM reporting.seeder_run_history WHERE id = %s",
            (history_id,),
        ).fetchone()
        assert (status, failures) == ("abandoned", failures_before + 1) and "abandoned" in errors
        assert warehouse.execute(
            "SELECT status, consecutive_failures FROM reporting.seeder_job_status WHERE table_name = %s", (SLOW_VIEW,)
        ).fetchone() == ("abandoned", failures_before + 1)
        assert warehouse.execute(
            "SELECT count(*) FROM reporting.seeder_breaker_failures WHERE run_id = %s AND table_name = %s",
            (killed_run, SLOW_VIEW),
        ).fetchone() == (1,)

        rerun = run_dag(seeder)
        assert rerun.state == "success", task_states(rerun)
        new = view_checksums(warehouse)
        assert set(new) == set(old)
        # Before the rerun every view held its old or its new contents, never a mix.
        for view, digest in middle.items():
            assert digest in (old[view], new[view]), view
        assert new[SLOW_VIEW] != old[SLOW_VIEW]
        assert warehouse.execute(
            "SELECT count(*) FROM reporting.seeder_run_history WHERE status = 'running'"
        ).fetchone() == (0,)

    # The same run again: identical views.
    again = run_dag(seeder)
    assert again.state == "success"
    assert view_checksums(warehouse) == new


STUCK_MARK = "TI may be stuck on the server"  # Airflow could not record a task's end in its metadata DB


def wait_or_unstick(process, timeout: float) -> int | str:
    """The process's exit code; or ``"stuck"`` (then killed) when Airflow's own metadata DB lost a
    task's terminal state, which ``airflow dags test`` then waits for forever."""
    import os
    import signal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return code
        if STUCK_MARK in process.log_path.read_text(errors="replace"):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return "stuck"
        time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    raise AssertionError(f"airflow dags test neither ended nor got stuck in {timeout} s: {process.log_path}")


def test_postgres_restart_mid_refresh_ends_in_success_after_a_retry_or_fails_clearly(
    seeder, devstack_state, faults, monkeypatch
):
    """Last in the module: the restart cuts every session, the session's ``warehouse`` connection too."""

    def connect():
        return connect_warehouse(devstack_state)

    with connect() as conn:
        add_slow_view(conn)
    assert run_dag(seeder).state == "success"
    with connect() as conn:
        old = view_checksums(conn)
        change_sources_and_the_slow_query(conn)
        conn.execute("UPDATE reporting_src.fault_knobs SET sleep_seconds = 120")

    with faults.inject("reporting: Postgres restart mid-rebuild"):
        # A new metadata-DB connection per session, so Airflow itself can survive the restart.
        monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_ENABLED", "False")
        process = airflow_dags_test(DAG_ID)
        with connect() as conn:
            deadline = time.monotonic() + 300
            while not slow_refresh_in_flight(conn):
                assert process.poll() is None and time.monotonic() < deadline, process.log_path
                time.sleep(0.1)
        restart_postgres()
        with connect() as conn:
            conn.execute("UPDATE reporting_src.fault_knobs SET sleep_seconds = 0")
        outcome = wait_or_unstick(process, timeout=480)
        log = process.log_path.read_text(errors="replace")
        with connect() as conn:
            middle = view_checksums(conn)
            assert not [v for v in middle if v.endswith("__seeder_new")]
            statuses = [
                row[0]
                for row in conn.execute(
                    "SELECT status FROM reporting.seeder_run_history WHERE table_name = %s ORDER BY id", (SLOW_VIEW,)
                ).fetchall()
            ]
        print(f"restart mid-rebuild: airflow dags test ended {outcome}; the slow view's attempts {statuses}")
        if outcome == 0:
            # The cut try could not record its end; its retry closed it as abandoned, then rebuilt the view.
            assert statuses[-2:] == ["abandoned", "success"], statuses
        else:
            # A clear failure: the view's task told what happened, without a value.
            assert "reporting.custom_m_slow: AdminShutdown, SQLSTATE 57P01" in log, log[-3000:]
        reset_airflow_connections()
        rerun = run_dag(seeder)
        assert rerun.state == "success", task_states(rerun)
        with connect() as conn:
            new = view_checksums(conn)
            for view, digest in middle.items():
                assert digest in (old[view], new[view]), view
            assert new[SLOW_VIEW] != old[SLOW_VIEW]
            assert conn.execute(
                "SELECT count(*) FROM reporting.seeder_run_history WHERE status = 'running'"
            ).fetchone() == (0,)
