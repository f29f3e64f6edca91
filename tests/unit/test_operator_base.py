"""The shared operator base: Airflow renders a .sql file from include/sql in the connection's dialect."""

from __future__ import annotations

import pendulum
import pytest


def _dag_with(conn_type, monkeypatch, sql="common/ping.sql", **fields):
    from airflow.sdk import DAG

    from etl_bundle.common.dag_defaults import SQL_FILTERS, TEMPLATE_SEARCHPATH
    from etl_bundle.operators.base import SqlTemplatedOperator

    class Probe(SqlTemplatedOperator):
        template_fields = ("sql", "table")

        def __init__(self, *, sql: str, conn_id: str, table: str = "t", **kwargs):
            super().__init__(**kwargs)
            self.sql, self.conn_id, self.table = sql, conn_id, table

    monkeypatch.setenv("AIRFLOW_CONN_PROBE_DB", f"{conn_type}://user@host:1/db")
    with DAG(
        "probe",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1),
        template_searchpath=TEMPLATE_SEARCHPATH,
        user_defined_filters=SQL_FILTERS,
    ) as dag:
        probe = Probe(task_id="probe", sql=sql, conn_id="probe_db", **fields)
    return dag, probe


@pytest.mark.parametrize(("conn_type", "expected"), [("postgres", "SELECT 1 AS ok"), ("oracle", "FROM dual")])
def test_sql_file_renders_in_the_connection_dialect(conn_type, expected, monkeypatch):
    dag, probe = _dag_with(conn_type, monkeypatch)
    context = {"dag": dag, "params": {}}
    probe.render_template_fields(context, dag.get_template_env())
    assert expected in probe.sql
    assert "{%" not in probe.sql
    assert context["dialect"] == conn_type


def test_ident_filter_quotes_and_refuses(monkeypatch):
    dag, probe = _dag_with("postgres", monkeypatch, sql="SELECT * FROM {{ 'raw' | ident }}")
    env = dag.get_template_env()
    probe.render_template_fields({"dag": dag, "params": {}}, env)
    assert probe.sql == 'SELECT * FROM "raw"'
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        env.from_string("{{ 'x; drop' | ident }}").render()


def test_unknown_connection_type_is_refused(monkeypatch):
    dag, probe = _dag_with("mysql", monkeypatch)
    with pytest.raises(ValueError, match="no SQL dialect for connection type 'mysql'"):
        probe.render_template_fields({"dag": dag, "params": {}}, dag.get_template_env())


def test_class_docstring_is_the_task_doc_unless_the_dag_gives_one(monkeypatch):
    _, probe = _dag_with("postgres", monkeypatch)
    assert probe.doc_md is None  # Probe has no docstring

    from airflow.sdk import DAG

    from etl_bundle.operators.base import BundleOperator

    class Documented(BundleOperator):
        """Moves rows.

        In detail."""

    with DAG("doc_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
        assert Documented(task_id="a").doc_md == "Moves rows.\n\nIn detail."
        assert Documented(task_id="b", doc_md="Own doc").doc_md == "Own doc"
