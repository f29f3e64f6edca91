"""tec_operational_capacity's operators without services: the trigger form's choices and the
SQL its tasks run, rendered by Airflow for the Params' defaults and parsed as Postgres."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DAGS

PUBLISHED = {
    "endpoint": "tw_operational_capacity",
    "cycle": "Intraday 1",
    "cycle_code": 3,
    "gas_day": "2026-11-02",
    "lookback": False,
    "filename": "x.csv",
}
LOADED = {**PUBLISHED, "file": "x.csv", "parsed_rows": 20, "kept_rejected": 0, "table": "staging.operational_capacity"}


def test_the_forms_choices_are_the_configured_cycles_and_endpoints():
    from etl_bundle.tec.config import CYCLE_CHOICES, ENDPOINT_CHOICES, load_config

    config = load_config()
    assert CYCLE_CHOICES == tuple(config["cycles"])
    assert ENDPOINT_CHOICES == tuple(config["endpoints"])


@pytest.fixture(scope="module")
def tec_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "tec_operational_capacity.py"), bundle_path=DAGS, bundle_name="dags-folder")
    assert bag.import_errors == {}
    return bag.dags["tec_operational_capacity"]


def render(dag, task_id: str, field: str, value: dict, monkeypatch) -> dict:
    import copy

    import pendulum

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "postgres://user:pw@localhost:5432/warehouse")
    task = copy.copy(dag.get_task(task_id))
    setattr(task, field, value)  # stands for the upstream task's XCom
    start = pendulum.datetime(2026, 11, 2, tz="America/Chicago")
    context = {
        "params": dag.params.dump(),
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": start.add(days=1),
        "ds": "2026-11-02",
        "run_id": "scheduled__2026-11-02T06:00:00+00:00",
        "dag": dag,
        "task": task,
    }
    task.render_template_fields(context, dag.get_template_env())
    return task


def parse_postgres(statement: str) -> None:
    import sqlglot

    # Bind parameters stand as literals for the parser; the temporary tables' names as is.
    text = re.sub(r"%\(\w+\)s", "'0'", statement)
    assert "{{" not in text and "{%" not in text
    assert sqlglot.parse(text, read="postgres")


def test_the_merge_renders_every_statement_through_airflow(tec_dag, monkeypatch):
    from etl_bundle.tec.config import MERGE_STATEMENTS
    from etl_bundle.tec.load import _sql

    task = render(tec_dag, "cycle.load", "published", PUBLISHED, monkeypatch)
    assert set(task.sql) == set(MERGE_STATEMENTS)
    for name, statement in task.sql.items():
        # What Airflow renders is what the home-made renderer did for direct calls.
        assert statement.split() == _sql(name, "staging", "operational_capacity").split(), name
        if name != "stage":  # CREATE TEMPORARY TABLE ... WITH NO DATA: sqlglot does not know it
            parse_postgres(statement)
    assert '"staging"."operational_capacity"' in task.sql["merge"]


def test_the_gate_renders_its_lock_and_its_check(tec_dag, monkeypatch):
    task = render(tec_dag, "cycle.quality_gate", "loaded", LOADED, monkeypatch)
    lock, check = task.sql
    assert "pg_advisory_xact_lock" in lock
    assert '"staging"."operational_capacity_loads"' in check and "%(own_rows)s" in check
    for statement in task.sql:
        parse_postgres(statement)


def test_every_task_has_a_doc_and_its_own_timeout(tec_dag):
    for task in tec_dag.tasks:
        assert task.doc_md, task.task_id
        assert task.execution_timeout is not None and task.execution_timeout.total_seconds() <= 30 * 60, task.task_id


def test_every_param_has_a_title_and_a_description(tec_dag):
    for name in tec_dag.params:
        param = tec_dag.params.get_param(name)
        assert param.schema.get("title") and param.description, name
    cycles = tec_dag.params.get_param("cycles").schema
    assert cycles["items"]["enum"] == list(cycles["examples"])


def test_asset_extra_carries_the_cycles_counts():
    from etl_bundle.tec.operators import asset_extra

    summary = {
        **LOADED,
        "staged": 20,
        "rejected": 2,
        "inserted": 18,
        "updated": 2,
        "deleted": 1,
        "versions_opened": 20,
        "versions_closed": 2,
        "skipped": None,
    }
    extra = asset_extra(summary)
    assert (extra["rows_loaded"], extra["rows_rejected"], extra["versions_opened"]) == (20, 2, 20)
    assert extra["skipped"] is False
