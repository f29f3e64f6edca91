"""reporting_seeder's pure parts: manifest selection, query hashes, the breaker's rules, index texts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from etl_bundle.common.circuit_breaker import BreakerPhase, BreakerState, CircuitBreaker
from etl_bundle.reporting.manifest import ManifestEntry, SelectionError, query_hash, select_views
from etl_bundle.reporting.query_check import QueryRejectedError, check_query
from etl_bundle.reporting.store import record_tables
from etl_bundle.reporting.views import index_tail, temp_name

ENTRIES = [
    ManifestEntry(200, "reporting.canned_a", "A", "canned", 1, "gotham", "SELECT 1 AS a"),
    ManifestEntry(202, "reporting.canned_a", "A", "canned", 2, "metropolis", "SELECT 1 AS a"),
    ManifestEntry(203, "reporting.canned_b", "B", "canned", 2, "metropolis", "SELECT 2 AS b"),
    ManifestEntry(206, "reporting.canned_shared", "S", "canned", None, None, "SELECT 3 AS s"),
    ManifestEntry(300, "reporting.custom_gotham", "G", "custom", 1, "gotham", "SELECT 4 AS g"),
    ManifestEntry(302, "reporting.custom_shared", "CS", "custom", None, None, "SELECT 5 AS cs"),
    ManifestEntry(304, "reporting.custom_two", "T", "custom", 2, "metropolis", "SELECT 6 AS t"),
    ManifestEntry(303, "reporting.custom_two", "T", "custom", 1, "gotham", "SELECT 6 AS t"),
]


def tables(views) -> list[str]:
    return [v.table_name for v in views]


def test_all_scope_names_each_view_once_in_table_order():
    views = select_views(ENTRIES, scope="all")
    assert tables(views) == [
        "reporting.canned_a",
        "reporting.canned_b",
        "reporting.canned_shared",
        "reporting.custom_gotham",
        "reporting.custom_shared",
        "reporting.custom_two",
    ]


def test_agency_scope_takes_its_own_and_the_shared_entries():
    assert tables(select_views(ENTRIES, scope="agency", agency_slug="gotham")) == [
        "reporting.canned_a",
        "reporting.canned_shared",
        "reporting.custom_gotham",
        "reporting.custom_shared",
        "reporting.custom_two",
    ]
    metropolis = select_views(ENTRIES, scope="agency", agency_slug="metropolis", report_type="canned")
    assert tables(metropolis) == ["reporting.canned_a", "reporting.canned_b", "reporting.canned_shared"]


@pytest.mark.parametrize(
    ("report_type", "expected"),
    [
        ("custom", ["reporting.custom_gotham", "reporting.custom_shared", "reporting.custom_two"]),
        ("canned", ["reporting.canned_a", "reporting.canned_b", "reporting.canned_shared"]),
    ],
)
def test_report_type_filters(report_type, expected):
    assert tables(select_views(ENTRIES, scope="all", report_type=report_type)) == expected


def test_table_scope_selects_one_view():
    (view,) = select_views(ENTRIES, scope="table", table_name="reporting.canned_b")
    assert (view.schema, view.name, view.query, view.manifest_id) == ("reporting", "canned_b", "SELECT 2 AS b", 203)
    assert (view.agency_slug, view.agency_id, view.report_type) == ("metropolis", 2, "canned")


def test_a_shared_canned_view_is_recorded_without_an_agency():
    views = {v.table_name: v for v in select_views(ENTRIES, scope="all")}
    # Named by two agencies' manifests, or by a NULL-slug entry: no single agency owns it.
    for table in ("reporting.canned_a", "reporting.canned_shared"):
        assert (views[table].agency_slug, views[table].agency_id) == (None, None)
    assert views["reporting.canned_a"].manifest_id == 200
    assert (views["reporting.canned_b"].agency_slug, views["reporting.canned_b"].agency_id) == ("metropolis", 2)


def test_a_custom_view_is_recorded_under_the_entry_it_is_built_from():
    # The Django history's manifest and agency are NOT NULL foreign keys: the first
    # entry's, never a made-up shared agency.
    views = {v.table_name: v for v in select_views(ENTRIES, scope="all")}
    two = views["reporting.custom_two"]
    assert (two.manifest_id, two.agency_id, two.agency_slug) == (303, 1, "gotham")
    assert (views["reporting.custom_gotham"].agency_slug, views["reporting.custom_gotham"].agency_id) == ("gotham", 1)


@pytest.mark.parametrize(
    ("report_type", "history", "status"),
    [
        ("custom", "seeder_run_history", "seeder_job_status"),
        ("canned", "seeder_canned_run_history", "seeder_canned_job_status"),
    ],
)
def test_custom_views_are_recorded_in_the_django_tables_canned_in_the_bundles(report_type, history, status):
    assert record_tables(report_type) == {"history_table": history, "status_table": status}


def test_an_unknown_report_type_has_no_record_tables():
    with pytest.raises(ValueError, match="report type"):
        record_tables("all")


def test_a_custom_entry_wins_over_a_canned_report_of_the_same_name():
    clash = [*ENTRIES, ManifestEntry(301, "reporting.canned_b", "Mine", "custom", 2, "metropolis", "SELECT 9 AS b")]
    (view,) = select_views(clash, scope="table", table_name="reporting.canned_b")
    assert (view.report_type, view.query, view.manifest_id) == ("custom", "SELECT 9 AS b", 301)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "agency", "agency_slug": "atlantis"}, "agency slug 'atlantis' is not in the manifest"),
        ({"scope": "agency"}, "needs agency_slug"),
        ({"scope": "table", "table_name": "reporting.nope"}, "table 'reporting.nope' is not in the manifest"),
        ({"scope": "table", "table_name": "x; drop table reporting.agency"}, "not a schema-qualified table name"),
        ({"scope": "table"}, "needs table_name"),
        ({"scope": "everything"}, "scope must be one of"),
        ({"scope": "all", "report_type": "adhoc"}, "report_type must be one of"),
    ],
)
def test_unknown_or_unsafe_selections_fail_with_a_clear_message(kwargs, message):
    with pytest.raises(SelectionError, match=message):
        select_views(ENTRIES, **kwargs)


def test_query_hash_changes_with_the_query_text_only():
    base = query_hash("SELECT a FROM t WHERE b = 'x  y'")
    assert query_hash("  SELECT a FROM t WHERE b = 'x  y'\n") == base
    assert query_hash("SELECT a FROM t WHERE b = 'x y'") != base  # a literal changed
    assert query_hash("SELECT a FROM t WHERE b = 'X  Y'") != base
    assert len(base) == 64


T0 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def at(offset: float, start: datetime = T0) -> datetime:
    """The injected clock: ``offset`` seconds after ``start``."""
    return start + timedelta(seconds=offset)


def test_breaker_closed_open_half_open_closed():
    breaker = CircuitBreaker(max_failures=3, reset_seconds=300)
    state = BreakerState()
    for n in range(2):
        state = breaker.after_failure(state, at(n))
        assert breaker.phase(state, at(n)) is BreakerPhase.CLOSED
    state = breaker.after_failure(state, at(2))
    assert state == BreakerState(failures=3, opened_at=at(2))
    assert not breaker.allows(state, at(301))
    assert breaker.phase(state, at(302)) is BreakerPhase.HALF_OPEN
    assert breaker.allows(state, at(302))
    assert breaker.after_success(state) == BreakerState()


def test_a_failure_while_half_open_opens_it_again_for_a_full_cool_down():
    breaker = CircuitBreaker(max_failures=3, reset_seconds=60)
    opened = BreakerState(failures=3, opened_at=T0)
    later = at(90)
    reopened = breaker.after_failure(opened, later)
    assert reopened.opened_at == later and not breaker.allows(reopened, at(59, later))
    assert breaker.allows(reopened, at(60, later))


def test_a_success_resets_the_count_before_it_opens():
    breaker = CircuitBreaker(max_failures=2, reset_seconds=60)
    state = breaker.after_failure(BreakerState(), T0)
    state = breaker.after_success(state)
    state = breaker.after_failure(state, T0)
    assert breaker.phase(state, T0) is BreakerPhase.CLOSED and state.failures == 1
    assert "open since" in breaker.describe(breaker.after_failure(state, T0), T0)


def test_breaker_limits_are_checked():
    with pytest.raises(ValueError, match="max_failures"):
        CircuitBreaker(max_failures=0)


def test_index_definitions_are_retargeted_from_postgres_text():
    unique, tail = index_tail(
        "CREATE UNIQUE INDEX canned_key ON reporting.canned_incidents_by_day USING btree (agency_id, day)"
    )
    assert unique and tail == "USING btree (agency_id, day)"
    assert index_tail("CREATE INDEX i ON ONLY s.t USING hash (x) WHERE (x > 1)") == (
        False,
        "USING hash (x) WHERE (x > 1)",
    )
    with pytest.raises(ValueError, match="unexpected index definition"):
        index_tail("DROP INDEX i")


def test_temp_names_fit_postgres_limit():
    assert temp_name("v") == "v__seeder_new"
    long_name = "x" * 63
    assert len(temp_name(long_name)) == 63 and temp_name(long_name).endswith("__seeder_new")


# --- the manifest's query: one read-only SELECT -------------------------------------

ACCEPTED_QUERIES = [
    "SELECT agency_id, count(*) FILTER (WHERE closed) AS closed FROM reporting_src.incidents GROUP BY agency_id",
    "WITH c AS (SELECT 1 AS a) SELECT * FROM c",
    "SELECT a FROM x UNION ALL SELECT b FROM y",
    "SELECT date_trunc('month', occurred_on)::date AS month FROM t WHERE category LIKE 'th%'",
    "SELECT generate_series(1, 10) AS n",
]
REJECTED_QUERIES = [
    ("SELECT 1; DROP TABLE raw.cases; SELECT 1", "holds 3 statements"),
    ("DROP TABLE raw.cases", "is a DROP statement, not a SELECT"),
    ("CREATE TABLE t AS SELECT 1", "is a CREATE statement"),
    ("COPY raw.cases TO '/tmp/cases'", "is a COPY statement"),
    ("WITH d AS (DELETE FROM raw.cases RETURNING *) SELECT * FROM d", "modifies data (DELETE"),
    ("WITH u AS (UPDATE raw.cases SET id = 1 RETURNING *) SELECT * FROM u", "modifies data (UPDATE"),
    ("SELECT * INTO raw.copy FROM raw.cases", "SELECT INTO"),
    ("SELECT * FROM raw.cases FOR UPDATE", "locking clause"),
    ("SELECT * FROM raw.cases FOR SHARE", "locking clause"),
    ("SELEC 1", "is not valid SQL"),
    ("   ", "is empty"),
]


@pytest.mark.parametrize("query", ACCEPTED_QUERIES)
def test_one_read_only_select_is_accepted(query):
    assert check_query(query).text == query


@pytest.mark.parametrize(("query", "reason"), REJECTED_QUERIES)
def test_anything_but_one_read_only_select_is_rejected_saying_why(query, reason):
    with pytest.raises(QueryRejectedError, match=re.escape(reason)):
        check_query(query)


def test_the_relations_a_query_reads_are_named_as_postgres_resolves_them():
    checked = check_query(
        'WITH c AS (SELECT 1 AS a) SELECT * FROM c, "Src".Tab AS t JOIN Public.Agency AS a ON true,'
        " generate_series(1, 2) AS g WHERE EXISTS (SELECT FROM other.t2)"
    )
    assert checked.tables == (("Src", "tab"), ("public", "agency"), ("other", "t2"))


def test_trailing_semicolons_are_dropped_so_the_statement_stays_one():
    assert check_query("SELECT 1 AS a ;; \n").text == "SELECT 1 AS a"


def test_every_query_of_the_originals_database_and_the_demo_is_accepted():
    from devstack import reporting_data
    from tests.conftest import PROJECT_ROOT

    original = (PROJECT_ROOT / "devstack" / "originals" / "reporting.sql").read_text()
    # The original's manifest queries are SQL string literals ('' for a quote) starting with SELECT.
    queries = [q.replace("''", "'") for q in re.findall(r"'(SELECT (?:[^']|'')*)'", original)]
    queries += [query for *_, query in reporting_data.CANNED_REPORTS]
    queries += [entry[5] for entry in reporting_data.CUSTOM_MANIFESTS]
    assert len(queries) >= 8 + 9
    for query in queries:
        check_query(query)


def test_a_rejected_query_names_the_manifest_row_and_the_field():
    from etl_bundle.reporting.tasks import _failure

    custom = {"report_type": "custom", "manifest_id": 1301, "agency_slug": "metropolis", "table_name": "reporting.x"}
    status, message = _failure(custom, QueryRejectedError("holds 3 statements; exactly one SELECT is allowed"))
    assert status == "rejected"
    assert message == (
        "custom manifest 1301 (agency metropolis, view reporting.x), field query:"
        " holds 3 statements; exactly one SELECT is allowed"
    )
    shared = {**custom, "report_type": "canned", "manifest_id": 1200, "agency_slug": None}
    assert (
        "canned manifest 1200 (shared by several agencies, view reporting.x)"
        in _failure(shared, QueryRejectedError("x"))[1]
    )
    assert _failure(custom, ValueError("not schema.table")) == ("error", "ValueError: not schema.table")
