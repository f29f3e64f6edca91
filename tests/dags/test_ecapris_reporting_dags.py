"""ecapris_statuses_sync, reporting_seeder and bundle_connections_check as the UI shows them."""

from __future__ import annotations

import pendulum
import pytest
from airflow.providers.common.sql.operators.sql import SQLCheckOperator

OWN_DAGS = ("ecapris_statuses_sync", "reporting_seeder", "bundle_connections_check")


@pytest.mark.parametrize("dag_id", ["ecapris_statuses_sync", "reporting_seeder"])
def test_backfills_are_not_allowed(dagbag, dag_id):
    allowed = {run_type.value for run_type in dagbag.dags[dag_id].allowed_run_types}
    assert "backfill" not in allowed
    assert {"scheduled", "manual"} <= allowed


@pytest.mark.parametrize("dag_id", OWN_DAGS)
def test_dag_description_owner_links_and_task_docs_and_timeouts(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.description and "\n" not in dag.description
    assert dag.owner_links == {"data-engineering": "mailto:data-engineering@example.org"}
    for task in dag.tasks:
        assert task.doc_md or task.doc, f"{task.task_id} has no doc"
        # Each task's own limit, well under the run's: a hung call fails and retries.
        assert task.execution_timeout is not None, task.task_id
        assert task.execution_timeout <= pendulum.duration(hours=1), task.task_id


@pytest.mark.parametrize("dag_id", OWN_DAGS)
def test_every_param_has_a_title_description_and_section(dagbag, dag_id):
    for name, param in dagbag.dags[dag_id].params.items():
        schema = param.schema
        assert schema.get("title") and param.description and schema.get("section"), name
        if "enum" in schema:
            assert set(schema["values_display"]) == set(schema["enum"]), name


def test_the_writers_are_operators_and_the_glue_taskflow(dagbag):
    kinds = {
        dag_id: {task.task_id: task.operator_name for task in dagbag.dags[dag_id].tasks}
        for dag_id in ("ecapris_statuses_sync", "reporting_seeder")
    }
    assert kinds["ecapris_statuses_sync"]["plan_changes"] == "EcaprisStatusPlanOperator"
    assert kinds["ecapris_statuses_sync"]["upsert_statuses"] == "MopedStatusUpsertOperator"
    assert kinds["reporting_seeder"]["refresh_view"] == "ReportingViewRefreshOperator"
    assert kinds["reporting_seeder"]["plan_views"] == "ReportingPlanOperator"
    assert kinds["reporting_seeder"]["check_outcome"] == "@task"
    gate = dagbag.dags["reporting_seeder"].get_task("check_no_view_emptied")
    assert gate.operator_name == "ReportingEmptiedViewsCheckOperator"
    assert isinstance(gate, SQLCheckOperator)  # its result shows as a check result
    assert gate.upstream_task_ids == {"refresh_view"} and gate.trigger_rule == "all_done"


@pytest.mark.parametrize(("conn_type", "expected"), [("oracle", ":sp_199)"), ("postgres", "= ANY(%(sp_numbers)s)")])
def test_the_statuses_read_renders_in_the_sources_dialect(dagbag, monkeypatch, conn_type, expected):
    import copy

    import sqlglot

    dag = dagbag.dags["ecapris_statuses_sync"]
    monkeypatch.setenv("AIRFLOW_CONN_ECAPRIS_ORACLE", f"{conn_type}://user:pw@db.example.org:1/db")
    plan = copy.copy(dag.get_task("plan_changes"))
    plan.subprojects = {"subproject_ids": [], "invalid_ids": []}  # the XCom, not resolvable here
    context = {"dag": dag, "params": dag.params.dump(), "run_id": "manual__1", "ds": "2026-03-02"}
    plan.render_template_fields(context, dag.get_template_env())
    assert expected in plan.statuses_sql
    assert ":sp_200" not in plan.statuses_sql  # batch_size (200) binds, no more
    assert sqlglot.parse_one(plan.statuses_sql, read=conn_type)
    assert plan.purge_rejects_sql.startswith("-- The retention")
    assert (plan.batch_size, plan.dry_run, plan.retention_days) == ("200", "False", "30")
