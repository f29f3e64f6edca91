"""Every SQL a task's templated fields hold renders through Airflow and parses in its dialect.

Generic over the DagBag: a field counts as SQL when the operator's
``template_fields_renderers`` gives it the ``sql`` renderer or its value names a
``.sql`` file. Its dialect comes from the connection's type, as at run time: the
test gives each connection id an ``AIRFLOW_CONN_*`` of type oracle (ids naming
oracle: the sources) or postgres (the warehouse).
"""

from __future__ import annotations

import pendulum
import pytest

# What this test must find at least (more arrive as the pipelines' operators do).
EXPECTED = {
    ("ecapris_statuses_sync", "plan_changes", "statuses_sql"),
    ("ecapris_statuses_sync", "plan_changes", "insert_reject_sql"),
    ("ecapris_statuses_sync", "plan_changes", "purge_rejects_sql"),
}
LOGICAL_DATE = pendulum.datetime(2026, 3, 2, 6, tz="UTC")


def _value(task, field):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    if isinstance(task, MappedOperator):
        # A mapped field is only known at run time; a partial one is fixed now.
        return task.partial_kwargs.get(field)
    return getattr(task, field, None)


def _is_sql(task, field, value) -> bool:
    renderers = getattr(task, "template_fields_renderers", None) or {}
    if renderers.get(field) == "sql":
        return value is not None
    values = value if isinstance(value, list | tuple) else [value]
    return bool(values) and all(isinstance(v, str) and v.endswith(".sql") for v in values)


def _conn_id(task, field) -> str | None:
    # An operator whose fields run on different connections names them per field.
    attr = (getattr(task, "sql_field_conn_attrs", None) or {}).get(field) or getattr(
        task, "dialect_conn_attr", "conn_id"
    )
    return _value(task, attr)


def _sql_fields(dagbag):
    for _, dag in sorted(dagbag.dags.items()):
        for task in dag.tasks:
            for field in task.template_fields:
                value = _value(task, field)
                if _is_sql(task, field, value):
                    yield dag, task, field, value


def _dialect(conn_id: str) -> str:
    return "oracle" if "oracle" in conn_id else "postgres"


@pytest.fixture
def sql_fields(dagbag, monkeypatch):
    found = list(_sql_fields(dagbag))
    for _, task, field, _ in found:
        conn_id = _conn_id(task, field)
        assert conn_id, f"{task.dag_id}.{task.task_id}.{field}: no connection gives its SQL a dialect"
        url = f"{_dialect(conn_id)}://user:pw@db.example.org:1/db"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", url)
    return found


def _context(dag, dialect: str) -> dict:
    return {
        "dag": dag,
        "params": dag.params.dump(),
        "logical_date": LOGICAL_DATE,
        "data_interval_start": LOGICAL_DATE,
        "data_interval_end": LOGICAL_DATE.add(days=1),
        "ds": LOGICAL_DATE.to_date_string(),
        "ds_nodash": LOGICAL_DATE.format("YYYYMMDD"),
        "run_id": "manual__2026-03-02T06:00:00+00:00",
        "dialect": dialect,
    }


# Tasks whose SQL renders only with an upstream task's XCom (the cycle's table): their own
# test renders them through Airflow with a recorded upstream value.
RENDERED_BY_THEIR_OWN_TEST = {
    ("tec_operational_capacity", "cycle.load"): "tests/unit/test_tec_operators.py",
    ("tec_operational_capacity", "cycle.quality_gate"): "tests/unit/test_tec_operators.py",
}


def _xcom_fields(task) -> set[str]:
    from airflow.sdk.definitions.xcom_arg import XComArg

    return {field for field in task.template_fields if isinstance(getattr(task, field, None), XComArg)}


def _rendered(task, dag, dialect):
    """The task's SQL fields as Airflow renders them: through the operator's own
    ``render_template_fields`` (where it adds its dialect, tables or views), on a copy."""
    import copy

    from airflow.sdk.definitions.mappedoperator import MappedOperator

    context = _context(dag, dialect)
    if isinstance(task, MappedOperator):
        return {f: task.render_template(_value(task, f), context, dag.get_template_env()) for f in task.template_fields}
    copied = copy.deepcopy(task)
    # An upstream's XCom (a period, the files found) is known at run time only; the SQL is not.
    copied.template_fields = tuple(f for f in task.template_fields if f not in _xcom_fields(task))
    copied.render_template_fields(context, dag.get_template_env())
    return {field: getattr(copied, field) for field in task.template_fields}


def test_every_templated_sql_renders_and_parses_in_its_dialect(sql_fields):
    import sqlglot

    from tests.conftest import PROJECT_ROOT

    assert EXPECTED <= {(dag.dag_id, task.task_id, field) for dag, task, field, _ in sql_fields}
    checked = 0
    for dag, task, field, _ in sql_fields:
        own_test = RENDERED_BY_THEIR_OWN_TEST.get((dag.dag_id, task.task_id))
        if own_test:
            assert _xcom_fields(task) and (PROJECT_ROOT / own_test).is_file(), (dag.dag_id, task.task_id)
            continue
        dialect = _dialect(_conn_id(task, field))
        rendered = _rendered(task, dag, dialect)[field]
        where = f"{dag.dag_id}.{task.task_id}.{field} ({dialect})"
        for sql in rendered if isinstance(rendered, list | tuple) else [rendered]:
            assert isinstance(sql, str) and not sql.endswith(".sql"), f"{where}: file not rendered: {sql!r}"
            assert "{{" not in sql and "{%" not in sql, f"{where}: Jinja left in {sql!r}"
            statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
            assert statements, f"{where}: no statement in {sql!r}"
            checked += 1
    assert checked >= len(EXPECTED)


def test_sql_operators_take_their_connections_dialect(sql_fields):
    """The dialect an operator puts in its own rendering (the one the UI shows) is its connection's."""
    from etl_bundle.operators.base import SqlTemplatedOperator

    operators = {id(task): task for _, task, _, _ in sql_fields if isinstance(task, SqlTemplatedOperator)}
    assert operators
    for task in operators.values():
        assert task.sql_dialect() == _dialect(getattr(task, task.dialect_conn_attr)), task.task_id
