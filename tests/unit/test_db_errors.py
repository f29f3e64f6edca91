"""etl_bundle.common.db_errors: what a database error may say."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from etl_bundle.common.db_errors import describe, is_data_rule_error


class FakePsycopgError(Exception):
    def __init__(self, text: str, **diag):
        super().__init__(text)
        fields = ("sqlstate", "schema_name", "table_name", "column_name", "constraint_name", "datatype_name")
        self.diag = SimpleNamespace(**{f: diag.get(f) for f in fields}, message_primary=diag.get("message_primary"))


def test_unique_violation_names_table_and_constraint_not_the_key():
    err = FakePsycopgError(
        'duplicate key value violates unique constraint "cases_pkey"\nDETAIL:  Key (person_id)=(4711) already exists.',
        sqlstate="23505",
        schema_name="raw",
        table_name="cases",
        constraint_name="cases_pkey",
        message_primary='duplicate key value violates unique constraint "cases_pkey"',
    )
    text = describe(err)
    assert text == (
        "FakePsycopgError, SQLSTATE 23505, table raw.cases, constraint cases_pkey: "
        'duplicate key value violates unique constraint "cases_pkey"'
    )
    assert "4711" not in text
    assert is_data_rule_error(err)


@pytest.mark.parametrize(
    ("primary", "value"),
    [
        ('value "3000000000" is out of range for type integer', "3000000000"),
        ('invalid input syntax for type integer: "Jane Doe"', "Jane Doe"),
        ("invalid input value for enum mood: 'Smith'", "Smith"),
    ],
)
def test_quoted_values_in_the_primary_message_are_replaced(primary, value):
    err = FakePsycopgError(primary, sqlstate="22003", message_primary=primary, datatype_name="integer")
    text = describe(err)
    assert value not in text
    assert "…" in text
    assert "type integer" in text


def test_a_server_error_is_not_a_data_rule_error():
    err = FakePsycopgError("terminating connection", sqlstate="57P01", message_primary="terminating connection")
    assert not is_data_rule_error(err)
    assert describe(err) == "FakePsycopgError, SQLSTATE 57P01: terminating connection"


def test_other_errors_keep_their_first_line():
    assert describe(ValueError("bad thing\nsecond line")) == "ValueError: bad thing"
    assert describe(ConnectionError()) == "ConnectionError"


def test_sqlalchemys_wrapper_is_told_as_the_error_it_wraps_without_its_statement_parameters():
    from sqlalchemy.exc import IntegrityError

    wrapped = FakePsycopgError(
        'duplicate key value violates unique constraint "t_pkey"',
        sqlstate="23505",
        table_name="t",
        constraint_name="t_pkey",
        message_primary='duplicate key value violates unique constraint "t_pkey"',
    )
    err = IntegrityError("INSERT INTO t VALUES (%(name)s)", {"name": "Jane Roe"}, wrapped)
    assert "Jane Roe" in str(err), "the wrapper itself shows the row"
    assert describe(err).startswith("FakePsycopgError, SQLSTATE 23505, table t, constraint t_pkey")
    assert "Jane Roe" not in describe(err)
    assert is_data_rule_error(err)
