"""Database errors reach logs and exceptions without the row's values (real server errors)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.quick


@pytest.mark.parametrize(
    ("statement", "value", "names"),
    [
        ("INSERT INTO fault_probe (id, amount) VALUES (1, '3000000000')", "3000000000", ["integer"]),
        ("INSERT INTO fault_probe (id, amount) VALUES (1, 5), (1, 6)", "(id)=(1)", ["fault_probe", "fault_probe_pkey"]),
        ("INSERT INTO fault_probe (id, amount, name) VALUES (2, 1, NULL)", "Failing row", ["fault_probe", "name"]),
        ("INSERT INTO fault_probe (id, amount) VALUES (3, 'Jane Roe')", "Jane Roe", ["integer"]),
    ],
)
def test_real_errors_are_described_without_values(warehouse, faults, statement, value, names):
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.common.db_errors import values_kept_out

    with psycopg.connect(warehouse.info.dsn, password=warehouse.info.password) as conn:
        conn.execute("CREATE TEMP TABLE fault_probe (id int PRIMARY KEY, amount int, name text NOT NULL DEFAULT 'x')")
        with pytest.raises(psycopg.Error) as raw:
            conn.execute(statement)
        conn.rollback()
        assert value in str(raw.value) or value in str(raw.value.diag.message_detail), "the probe shows the leak"
        conn.execute("CREATE TEMP TABLE fault_probe (id int PRIMARY KEY, amount int, name text NOT NULL DEFAULT 'x')")
        with pytest.raises(AirflowFailException) as described:
            with values_kept_out("probe load"):
                conn.execute(statement)
    text = str(described.value)
    assert value not in text
    assert described.value.__cause__ is None and described.value.__suppress_context__
    faults.bad_input(f"database error {value}", text, "probe load", *names)
