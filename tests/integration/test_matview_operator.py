"""MaterializedViewRefreshOperator on the devstack's Postgres: order, CONCURRENTLY, optional views, one transaction."""

from __future__ import annotations

import pendulum
import pytest

pytestmark = pytest.mark.integration

SETUP = """
CREATE SCHEMA s;
CREATE TABLE s.src (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW s.first AS SELECT id FROM s.src;
CREATE UNIQUE INDEX first_idx ON s.first (id);
-- Reads s.first: refreshed after it, it sees the new rows (the order matters).
CREATE MATERIALIZED VIEW s.second AS SELECT count(*) AS n FROM s.first;
CREATE UNIQUE INDEX second_idx ON s.second (n);
"""


def _operator(**kwargs):
    from airflow.sdk import DAG

    from etl_bundle.common.dag_defaults import SQL_FILTERS, TEMPLATE_SEARCHPATH
    from etl_bundle.operators.matview import MaterializedViewRefreshOperator

    with DAG(
        "matview_probe",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1),
        template_searchpath=TEMPLATE_SEARCHPATH,
        user_defined_filters=SQL_FILTERS,
        params={"schema": "s"},
    ) as dag:
        task = MaterializedViewRefreshOperator(task_id="refresh", conn_id="warehouse_postgres", **kwargs)
    task.render_template_fields({"dag": dag, "params": {"schema": "s"}}, dag.get_template_env())
    return task


@pytest.fixture
def views(scratch_warehouse):
    with scratch_warehouse() as conn:
        conn.execute(SETUP)
        conn.execute("INSERT INTO s.src SELECT generate_series(1, 5)")
        conn.commit()
    return scratch_warehouse


def test_views_refresh_in_order_concurrently_and_missing_optional_ones_are_left_out(views):
    task = _operator(
        views=["{{ params.schema }}.first", "s.absent", "s.second"],
        optional_views=["s.absent"],
    )
    assert task.views == ["s.first", "s.absent", "s.second"]  # templated
    assert 'REFRESH MATERIALIZED VIEW CONCURRENTLY "s"."first"' in task.refresh_sql
    result = task.execute({})
    assert result == {"views": {"s.first": 5, "s.second": 1}}
    with views() as conn:
        assert conn.execute("SELECT n FROM s.second").fetchone() == (5,)  # after s.first: the order held


def test_a_failed_refresh_rolls_back_every_view(views):
    from etl_bundle.common.db_errors import DatabaseError

    with views() as conn:
        conn.execute("INSERT INTO s.src SELECT generate_series(6, 9)")
        conn.execute("DROP INDEX s.second_idx")  # CONCURRENTLY needs it: the second refresh fails
        conn.commit()
    task = _operator(views=["s.first", "s.second"])
    with pytest.raises(DatabaseError):
        task.execute({})
    with views() as conn:
        assert conn.execute("SELECT count(*) FROM s.first").fetchone() == (0,)  # as created: rolled back with it
    plain = _operator(views=["s.first", "s.second"], concurrently=False)
    assert 'CONCURRENTLY "s"' not in plain.refresh_sql and 'MATERIALIZED VIEW "s"."first";' in plain.refresh_sql
    assert plain.execute({}) == {"views": {"s.first": 9, "s.second": 1}}
