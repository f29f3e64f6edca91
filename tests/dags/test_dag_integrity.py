"""DAG integrity and policy over one shared DagBag of the bundle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DAGS, PLUGINS, PROJECT_ROOT

DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
# Modules a DAG file must not pull in at parse time (they are imported inside tasks).
HEAVY_MODULES = ("pandas", "openpyxl", "boto3", "botocore", "oracledb", "asyncssh", "paramiko", "numpy", "polars")
# Provider classes that must be imported at module level and pull a heavy module in,
# each with the reason. Their cost shows in benchmarks/parse_time.py.
JUSTIFIED_HEAVY_IMPORTS: dict[str, str] = {}


def test_bundle_has_dags(dagbag):
    assert DAG_FILES, "no DAG files under dags/"
    assert len(dagbag.dags) >= len(DAG_FILES)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_each_file_is_named_after_its_dag(dagbag):
    by_file = {Path(dag.fileloc).stem for dag in dagbag.dags.values()}
    assert by_file == {p.stem for p in DAG_FILES}
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_every_dag_serializes_as_the_dag_processor_would(dagbag):
    # Serialization is where an unregistered timetable or an unserializable argument fails.
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id, dag in dagbag.dags.items():
        serialized = DagSerialization.to_dict(dag)
        assert serialized["dag"]["dag_id"] == dag_id
        assert DagSerialization.from_dict(serialized).dag_id == dag_id


def test_policy_doc_owner_tags_retries(dagbag):
    from etl_bundle.common.dag_defaults import ALLOWED_TAGS, OWNER

    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md.strip()) > 80, (
            f"{dag_id}: doc_md must say what it reads, writes and how to backfill"
        )
        assert dag.tags, f"{dag_id}: no tags"
        assert set(dag.tags) <= ALLOWED_TAGS, f"{dag_id}: tags {set(dag.tags) - ALLOWED_TAGS} not in ALLOWED_TAGS"
        for task in dag.tasks:
            assert task.owner == OWNER, f"{dag_id}.{task.task_id}: owner {task.owner!r}"
            assert task.retries is not None and task.retries >= 0, f"{dag_id}.{task.task_id}: retries not set"


def test_policy_every_dag_alerts_once_per_failed_run(dagbag):
    """One mail per failed run (the DAG's callback), not one per failed task instance."""
    from etl_bundle.common.dag_defaults import RunFailureAlert

    for dag_id, dag in dagbag.dags.items():
        callbacks = dag.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert sum(isinstance(cb, RunFailureAlert) for cb in callbacks) == 1, f"{dag_id}: no run failure alert"
        for task in dag.tasks:
            assert not isinstance(task.on_failure_callback, RunFailureAlert), f"{dag_id}.{task.task_id}"


PARSE_PROBE = """
import sys
from airflow.dag_processing.dagbag import DagBag

trivial, bundle = sys.argv[1:3]
assert DagBag(dag_folder=trivial, bundle_path=trivial, bundle_name="trivial").dags
before = set(sys.modules)
bag = DagBag(dag_folder=bundle, bundle_path=bundle, bundle_name="dags-folder")
assert bag.dags and not bag.import_errors, bag.import_errors
heavy = ("airflow.providers.smtp", "aiosmtplib", "psycopg", "paramiko", "boto3", "openpyxl", "pandas")
print(sorted(m for m in set(sys.modules) - before if m.startswith(heavy)))
"""


def test_parsing_the_dag_files_imports_no_mail_or_database_client(tmp_path):
    """What a DAG file imports beyond a one-task DAG is paid at every parse: clients belong inside tasks."""
    (tmp_path / "trivial.py").write_text(
        "import pendulum\nfrom airflow.sdk import DAG, task\n"
        "with DAG('trivial', schedule=None, start_date=pendulum.datetime(2026, 1, 1)):\n"
        "    task(lambda: None, task_id='noop')()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(tmp_path), str(DAGS)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_policy_schedule_and_catchup_are_explicit(dag_file):
    tree = ast.parse(dag_file.read_text())
    dag_calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("DAG", "dag")
    ]
    assert len(dag_calls) == 1, f"{dag_file.name}: one DAG per file"
    keywords = {kw.arg for kw in dag_calls[0].keywords}
    assert {"schedule", "catchup", "default_args", "doc_md", "tags"} <= keywords
    source = dag_file.read_text()
    assert '"catchup"' not in source and "'catchup'" not in source, "catchup belongs on the DAG, not in default_args"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_imports_no_heavy_module(dag_file):
    """Import the file in a fresh interpreter, as a parse would, and list what came with it."""
    probe = (
        "import importlib.util, json, sys\n"
        f"sys.path.insert(0, {str(PLUGINS)!r})\n"
        f"spec = importlib.util.spec_from_file_location('dag_under_test', {str(dag_file)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    unexplained = loaded - set(JUSTIFIED_HEAVY_IMPORTS)
    assert not unexplained, f"{dag_file.name} imports {sorted(unexplained)} at parse time"


def test_reporting_seeder_waits_for_every_view_asset_the_invoice_refresh_emits(dagbag):
    emitted = {asset.name for asset in dagbag.dags["invoice_demand_refresh"].get_task("refresh_views").outlets}
    schedule = dagbag.dags["reporting_seeder"].timetable
    awaited = {asset.name for asset in schedule.asset_condition.objects}
    assert emitted and awaited == emitted


def test_dfps_receive_runs_period_by_period_with_send(dagbag):
    """Same quarters, same logical dates: a backfill of both lines up run for run."""
    send, receive = dagbag.dags["dfps_dps_send"], dagbag.dags["dfps_dps_receive"]
    assert type(receive.timetable) is type(send.timetable)
    assert receive.timetable.timezone == send.timetable.timezone
    assert receive.start_date == send.start_date
    sensor = receive.get_task("wait_for_dps_answer")
    assert sensor.mode == "reschedule"


# TaskFlow is for glue only: planning what to map over, picking a period, a run's verdict,
# probing a connection. Every step that writes to a target is an operator class; a new
# @task goes here with its reason, or becomes an operator.
_CONNECTION_PROBES = {
    f"check_{conn_id}"
    for conn_id in (
        "warehouse_postgres",
        "ecapris_oracle",
        "dfps_oracle",
        "invoice_aws",
        "dps_sftp",
        "energy_transfer",
        "smtp_default",
        "network_share",
        "moped_hasura",
    )
}
GLUE_TASKS: dict[str, set[str]] = {
    "bundle_connections_check": _CONNECTION_PROBES,  # each proves one connection answers
    "dfps_dps_send": {"resolve_quarter"},  # picks the period
    "dfps_dps_send_yearly": {"resolve_previous_year"},
    "dfps_dps_receive": {"resolve_quarter"},
    "dfps_dps_receive_yearly": {"resolve_previous_year"},
    "ecapris_statuses_sync": {"list_subprojects"},  # the ids to read
    "reporting_seeder": {"check_outcome"},  # the run's verdict from its XComs
    "tec_operational_capacity": {"plan_cycles", "check_cycles"},  # what to map over; the verdict
}


def _is_taskflow(task) -> bool:
    # A @task (mapped or not) reports "@task" (or "@task.<kind>") as its operator name.
    return str(task.operator_name).startswith("@task")


def test_every_task_has_a_doc(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            doc = task.doc_md or task.doc or task.doc_rst or task.doc_yaml or task.doc_json
            assert doc and doc.strip(), f"{dag_id}.{task.task_id}: no doc (a docstring or doc_md)"


def test_writers_are_operators_and_taskflow_is_glue(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            if not _is_taskflow(task):
                continue
            assert not task.outlets, f"{dag_id}.{task.task_id}: a @task emitting an Asset writes a target"
            assert task.task_id in GLUE_TASKS.get(dag_id, {}), (
                f"{dag_id}.{task.task_id}: a @task that is not declared glue in GLUE_TASKS; "
                "a step that writes to a target is an operator class"
            )
    for dag_id, tasks in GLUE_TASKS.items():
        assert set(tasks) <= set(dagbag.dags[dag_id].task_ids), f"{dag_id}: GLUE_TASKS names tasks it lacks"
