"""dfps_dps_receive's operators: the DAGs' shape, every task's doc and timeout, and the SQL Airflow
renders for the reconcile and the load (both dialects), parsed with sqlglot."""

from __future__ import annotations

import inspect
import re

import pendulum
import pytest
import sqlglot

from etl_bundle.common.paths import SQL_DIR
from etl_bundle.common.sql import render_sql

DAG_IDS = ("dfps_dps_receive", "dfps_dps_receive_yearly")
OPERATOR_TASKS = {
    "collect_answer": "DpsAnswerCollectOperator",
    "reconcile": "DpsReconciliationOperator",
    "load_dps_results": "DpsResultsLoadOperator",
    "notify_stakeholders": "DpsStakeholderNoticeOperator",
    "remove_from_server": "DpsAnswerRemoveOperator",
    "purge_archive": "DpsArchivePurgeOperator",
}


@pytest.fixture(scope="module")
def receive_dags():
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import DAGS

    dags = {}
    for dag_id in DAG_IDS:
        bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"), bundle_path=DAGS, bundle_name="dags-folder")
        assert not bag.import_errors
        dags[dag_id] = bag.dags[dag_id]
    return dags


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_writing_step_is_an_operator_and_every_task_has_a_doc_and_a_timeout(receive_dags, dag_id):
    dag = receive_dags[dag_id]
    kinds = {task.task_id: type(task).__name__ for task in dag.tasks}
    assert {task_id: kinds[task_id] for task_id in OPERATOR_TASKS} == OPERATOR_TASKS
    assert kinds["wait_for_dps_answer"] == "DpsAnswerSensor"
    for task in dag.tasks:
        assert task.doc_md, f"{task.task_id} has no doc"
        assert task.execution_timeout is not None and task.execution_timeout <= pendulum.duration(minutes=30)
    assert dag.description and dag.owner_links == {"data-engineering": "mailto:data-engineering@example.org"}
    # ``period`` is send_tasks' Param, shared with the send DAGs (their engineer titles it).
    for name, param in dag.params.items():
        assert param.description, name
        if name != "period":
            assert param.schema.get("title") and param.schema.get("section") in {"Waiting", "Limits", "Safety"}, name


def _context(dag):
    logical = pendulum.datetime(2025, 3, 1, tz="America/Chicago")
    return {
        "dag": dag,
        "params": {name: param.value for name, param in dag.params.items()},
        "logical_date": logical,
        "data_interval_start": logical,
        "data_interval_end": logical.add(months=3),
        "run_id": "manual__render_test",
        "ds": logical.to_date_string(),
    }


@pytest.mark.parametrize("dialect", ["oracle", "postgres"])
@pytest.mark.parametrize("dag_id", DAG_IDS)
@pytest.mark.parametrize("task_id", ["collect_answer", "reconcile", "load_dps_results"])
def test_the_sql_fields_render_through_airflow_and_parse_in_the_source_dialect(
    receive_dags, dag_id, task_id, dialect, monkeypatch
):
    dag = receive_dags[dag_id]
    task = dag.get_task(task_id)
    monkeypatch.setenv("AIRFLOW_CONN_DFPS_ORACLE", f"{dialect}://user@host:1/db")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", "postgres://user@host:1/db")
    context = _context(dag)
    context["dialect"] = task.sql_dialect()
    # The collect's statements run on the warehouse; the others in the source's dialect.
    assert context["dialect"] == ("postgres" if task_id == "collect_answer" else dialect)
    env = dag.get_template_env()
    fields = [field for field in task.template_fields if field.endswith("_sql")]
    assert len(fields) == {"collect_answer": 4, "reconcile": 4, "load_dps_results": 5}[task_id]
    # The DAG holds each file's text (Airflow reads the .sql files when the DAG is built); the file
    # names are the operator's defaults.
    files = {field: inspect.signature(type(task).__init__).parameters[field].default for field in fields}
    for field in fields:
        assert files[field].endswith(".sql") and getattr(task, field) == (SQL_DIR / files[field]).read_text()
        text = task.render_template(getattr(task, field), context, env).strip()
        assert "{%" not in text and "{{" not in text, field
        warehouse = task_id == "collect_answer" or field in {"loaded_sql", "record_sql"}
        # The statement Airflow renders is the one the home-made renderer gave before: same SQL runs.
        assert text == render_sql(files[field], dialect="postgres" if warehouse else dialect), field
        checked = "postgres" if warehouse else dialect  # the warehouse's statements are Postgres
        if checked == "oracle":
            assert "%(" not in text, f"{field}: Postgres bind parameters in the Oracle text"
            text = re.sub(r"(?ms)^BEGIN\s+(.*?)\s*END;\s*$", r"\1", text)  # sqlglot has no PL/SQL blocks
        assert [s for s in sqlglot.parse(text, read=checked) if s is not None], field
