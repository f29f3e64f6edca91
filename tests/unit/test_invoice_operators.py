"""invoice_demand_refresh's operators and DAG: Airflow renders every SQL they run, in Postgres' dialect."""

from __future__ import annotations

import pendulum
import pytest
import sqlglot

from etl_bundle.common.paths import PROJECT_ROOT

DAG_FILE = PROJECT_ROOT / "dags" / "invoice_demand_refresh.py"
SQL_FIELDS = {
    "load_raw_tables": ("clear_sql", "count_sql", "prune_sql", "reject_sql"),
    "check_raw_counts": ("sql",),
    "refresh_views": ("setup_sql", "refresh_sql", "count_sql", "exists_sql", "exclusions_sql"),
}


@pytest.fixture(scope="module")
def loaded_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE), bundle_path=DAG_FILE.parent, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    return bag.dags["invoice_demand_refresh"]


@pytest.fixture
def dag(loaded_dag, monkeypatch):
    # The dialect comes from the connection's type; no connection is opened.
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "postgres://user@host:5432/warehouse")
    return loaded_dag


def _context(dag) -> dict:
    when = pendulum.datetime(2026, 3, 2, 15, 25, tz="UTC")
    return {
        "dag": dag,
        "params": {name: param.value for name, param in dag.params.items()},
        "logical_date": when,
        "data_interval_start": when,
        "data_interval_end": when,
        "run_id": "scheduled__2026-03-02T15:25:00+00:00",
        "ds": when.to_date_string(),
    }


def _rendered(dag, task_id):
    import copy

    task = copy.deepcopy(dag.get_task(task_id))
    task.render_template_fields(_context(dag), dag.get_template_env())
    return task


@pytest.mark.parametrize("task_id", sorted(SQL_FIELDS))
def test_every_sql_the_task_runs_renders_and_parses_as_postgres(dag, task_id):
    task = _rendered(dag, task_id)
    for field in SQL_FIELDS[task_id]:
        text = getattr(task, field)
        assert text and "{{" not in text and "{%" not in text, f"{task_id}.{field} not rendered: {text!r}"
        statements = [s for s in sqlglot.parse(text, read="postgres") if s is not None]
        assert statements, f"{task_id}.{field}"


def test_the_load_renders_one_clear_and_one_count_per_raw_table_in_order(dag):
    from etl_bundle.invoice.load import LoadStatements

    task = _rendered(dag, "load_raw_tables")
    statements = LoadStatements.from_rendered(
        task.tables, clear=task.clear_sql, count=task.count_sql, prune=task.prune_sql, insert_reject=task.reject_sql
    )
    assert list(statements.clear) == ["cases", "metadata", "templates", "audit"]
    assert statements.clear["audit"] == 'DELETE FROM raw."audit"'
    assert statements.count["templates"] == 'SELECT count(*) FROM raw."templates"'
    # The same statements as rendered outside Airflow (benchmarks, direct calls).
    assert statements == LoadStatements.rendered()
    assert (task.source_env, task.scan_segments, task.dry_run) == ("", "4", "False")


def test_the_refresh_renders_the_original_order_concurrently(dag):
    task = _rendered(dag, "refresh_views")
    refresh = [s.strip() for s in task.refresh_sql.split(";") if s.strip() and not s.strip().startswith("--")]
    assert [line.splitlines()[-1] for line in refresh] == [
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "curated"."demands_archived"',
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "curated"."demands_uploaded"',
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "curated"."verifyplus"',
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "analytics"."demands_summary"',
    ]
    assert task.optional_views == ["curated.verifyplus"]


def test_a_backfill_is_not_an_allowed_run_type(dag):
    allowed = {t.value for t in dag.allowed_run_types}
    assert "backfill" not in allowed
    assert {"scheduled", "manual"} <= allowed


def test_every_param_has_title_description_section(dag):
    for name, param in dag.params.items():
        schema = param.schema
        assert schema.get("title") and param.description and schema.get("section"), name


def test_every_task_has_a_doc_and_its_own_timeout(dag):
    for task in dag.tasks:
        assert task.doc_md or task.doc, task.task_id
        assert task.execution_timeout is not None and task.execution_timeout < dag.dagrun_timeout, task.task_id
    assert dag.description and dag.owner_links


def test_flags_rendered_by_airflow_read_back_as_booleans():
    from etl_bundle.invoice.operators import _as_bool

    assert [_as_bool(v) for v in (True, "True", "true", "1", False, "False", "", "None")] == [True] * 4 + [False] * 4
    with pytest.raises(ValueError, match="not a flag"):
        _as_bool("maybe")


def test_a_view_name_without_its_schema_is_refused():
    from etl_bundle.operators.matview import split_view_name

    assert split_view_name("curated.demands_archived") == ("curated", "demands_archived")
    with pytest.raises(ValueError, match="expected schema.view"):
        split_view_name("demands_archived")
