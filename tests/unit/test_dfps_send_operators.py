"""dfps_dps_send's layout: its operators, the SQL Airflow renders for it, and no import circle."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pendulum
import pytest
import sqlglot

from tests.conftest import DAGS, PLUGINS

SEND_MODULES = [
    "etl_bundle.dfps.audit",
    "etl_bundle.dfps.send",
    "etl_bundle.dfps.periods",
    "etl_bundle.dfps.children",
    "etl_bundle.dfps.switchover",
    "etl_bundle.dfps.send_tasks",
    "etl_bundle.dfps.operators",
    "etl_bundle.operators.sftp",
]
HEAVY = ("pandas", "openpyxl", "boto3", "oracledb", "paramiko", "asyncssh")


def _imports(module: str) -> set[str]:
    """Every bundle module ``module`` imports, at module level or inside a function."""
    import importlib.util

    tree = ast.parse(open(importlib.util.find_spec(module).origin).read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("etl_bundle"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("etl_bundle")}
    return found


def test_the_send_modules_import_one_another_without_a_circle():
    graph = {module: _imports(module) & set(SEND_MODULES) for module in SEND_MODULES}
    assert "etl_bundle.dfps.send" not in graph["etl_bundle.dfps.audit"]  # the circle there was

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    circles = [module for module in SEND_MODULES if reaches(module, module, set())]
    assert circles == []


@pytest.mark.parametrize("module", SEND_MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter_without_heavy_modules(module):
    code = f"import sys, json, {module}; print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    heavy = json.loads(done.stdout.strip().splitlines()[-1])
    # send.py and children.py are imported by tasks only; the modules a DAG file imports stay light.
    if module in ("etl_bundle.dfps.send_tasks", "etl_bundle.dfps.operators", "etl_bundle.operators.sftp"):
        assert heavy == []


@pytest.fixture(scope="module")
def send_dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder")
    return {dag_id: bag.dags[dag_id] for dag_id in ("dfps_dps_send", "dfps_dps_send_yearly")}


@pytest.mark.parametrize("dag_id", ["dfps_dps_send", "dfps_dps_send_yearly"])
@pytest.mark.parametrize("conn_type", ["oracle", "postgres"])
def test_the_extract_renders_through_airflow_and_parses_in_its_dialect(send_dags, dag_id, conn_type, monkeypatch):
    import copy

    monkeypatch.setenv("AIRFLOW_CONN_DFPS_ORACLE", f"{conn_type}://user@host:1/db")
    dag = send_dags[dag_id]
    start = pendulum.datetime(2024, 12, 1, tz="America/Chicago")
    context = {
        "dag": dag,
        "params": dag.params.dump(),
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": start.add(months=3),
        "run_id": "scheduled__2024-12-01T06:00:00+00:00",
        "ds": start.to_date_string(),
    }
    task = copy.copy(dag.get_task("send_to_dps"))
    task.period = "{{ params.period or 'FY2025_Q2' }}"  # the XCom of resolve_quarter in a run
    task.render_template_fields(context, dag.get_template_env())
    assert context["dialect"] == conn_type
    assert task.period == "FY2025_Q2" and task.remote_dir == "to_dps"
    assert "{%" not in task.sql and "caps.qtr_dps_cvs" in task.sql
    assert (":fiscal_year" if conn_type == "oracle" else "%(fiscal_year)s") in task.sql  # values stay binds
    statements = [s for s in sqlglot.parse(task.sql, read=conn_type) if s is not None]
    assert len(statements) == 1 and statements[0].key == "select"


@pytest.mark.parametrize("dag_id", ["dfps_dps_send", "dfps_dps_send_yearly"])
def test_the_dags_read_as_operators_with_docs_timeouts_and_described_params(send_dags, dag_id):
    from etl_bundle.dfps.operators import ChildrenInCareToDpsOperator, DpsSendSummaryMailOperator

    dag = send_dags[dag_id]
    assert dag.description and dag.owner_links == {"data-engineering": "mailto:data-engineering@example.org"}
    assert isinstance(dag.get_task("send_to_dps"), ChildrenInCareToDpsOperator)
    mail = dag.get_task("mail_send_summary")
    assert isinstance(mail, DpsSendSummaryMailOperator) and mail.upstream_task_ids == {"send_to_dps"}
    assert "migrate_schema" in dag.get_task("send_to_dps").upstream_task_ids
    for task in dag.tasks:
        assert task.doc_md or task.doc, task.task_id
        assert task.execution_timeout is not None and task.execution_timeout <= pendulum.duration(minutes=30)
    for name in dag.params:
        param = dag.params.get_param(name)
        assert param.schema.get("title") and param.description and param.schema.get("section"), name
    assert dag.params["force"] is False  # a plain click does the scheduled thing


def test_the_summary_mail_holds_counts_and_checksums_and_no_problem_lines():
    from etl_bundle.dfps.send import summary_mail_html

    summary = {
        "period": "FY2025_Q2",
        "children": 12,
        "children_sent": 10,
        "children_records_sent": 11,
        "dropped": {"no_birth_date": 1, "no_usable_last_name": 1, "blank_first_name": 0},
        "merged_care_records": 0,
        "problems": 2,
        "problems_listed": ["row 3 (person 700131): field NM_PERSON_LAST has no letter ...: dropped"],
        "reference_rows": 14,
        "txt_lines": 10,
        "uploaded": "to_dps/Children_in_care_FY2025_Q2.txt",
        "sha256": "a" * 64,
        "reference_sha256": "b" * 64,
        "share_files": ["dfps_dps/to_dps/Children_in_care_FY2025_Q2_20250101_060000.txt"],
        "verified_by": "size and sha256 read back",
    }
    body = summary_mail_html(summary, r"\\server\share\dfps_dps\to_dps")
    assert "FY2025_Q2" in body and "a" * 64 in body and "b" * 64 in body
    assert "10 children sent" in body and "2 dropped" in body and "no_birth_date: 1" in body
    assert "blank_first_name" not in body  # a reason that dropped nothing is not listed
    assert "700131" not in body and "row 3" not in body
    assert "Children_in_care_FY2025_Q2_20250101_060000.txt" in body
