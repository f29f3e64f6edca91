"""The eCapris sync's queries: Oracle binds per batch, and GraphQL documents valid for Hasura's schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlglot

from etl_bundle.ecapris.sync import status_query_batches

NUMBERS = [Decimal(f"{10_000 + n}.010") for n in range(5)]


def test_oracle_batches_bind_every_number_and_share_one_statement_text():
    batches = list(status_query_batches("oracle", NUMBERS, batch_size=2))
    assert len(batches) == 3
    texts = {sql for sql, _ in batches}
    assert len(texts) == 1, "a short last batch is padded so Oracle parses the statement once"
    [text] = texts
    assert ":sp_0, :sp_1" in text and "%(" not in text
    bound = [number for _, binds in batches for number in binds.values()]
    assert set(bound) == set(NUMBERS)
    assert batches[-1][1] == {"sp_0": NUMBERS[4], "sp_1": NUMBERS[4]}
    parsed = sqlglot.parse_one(text, read="oracle")
    assert parsed.find(sqlglot.exp.In) is not None


def test_a_single_short_batch_is_not_padded():
    [(sql, binds)] = status_query_batches("oracle", NUMBERS[:2], batch_size=500)
    assert binds == {"sp_0": NUMBERS[0], "sp_1": NUMBERS[1]}
    assert ":sp_2" not in sql


def test_the_stand_in_gets_one_array_per_batch():
    batches = list(status_query_batches("postgres", NUMBERS, batch_size=2))
    assert [binds["sp_numbers"] for _, binds in batches] == [NUMBERS[:2], NUMBERS[2:4], NUMBERS[4:]]
    assert all("ANY(%(sp_numbers)s)" in sql for sql, _ in batches)


def test_trailing_zeros_of_the_subproject_number_survive_the_query():
    [(sql, _)] = status_query_batches("oracle", NUMBERS[:1], batch_size=10)
    assert "TO_CHAR(SP_NUMBER, 'FM999999999999999.000') AS SP_NUMBER" in sql


@pytest.mark.parametrize("name", ["subprojects", "existing_statuses", "upsert_statuses"])
def test_graphql_documents_are_valid_against_hasuras_schema(name):
    from graphql import parse, validate

    from devstack.hasura import build_schema
    from etl_bundle.ecapris.moped import operation

    assert validate(build_schema(), parse(operation(name))) == []


def test_the_upsert_is_the_references_mutation():
    from etl_bundle.ecapris.moped import operation
    from etl_bundle.ecapris.transforms import UPDATE_COLUMNS

    text = operation("upsert_statuses")
    assert "constraint: ecapris_subproject_statuses_subproject_status_id_key" in text
    listed = text.split("update_columns: [")[1].split("]")[0].split()
    assert tuple(listed) == UPDATE_COLUMNS


def test_hasura_errors_are_described_with_code_and_path():
    from etl_bundle.ecapris.moped import describe_errors

    payload = {
        "errors": [
            {
                "message": "invalid x-hasura-admin-secret/x-hasura-access-key",
                "extensions": {"path": "$", "code": "access-denied"},
            }
        ]
    }
    assert describe_errors(payload) == "invalid x-hasura-admin-secret/x-hasura-access-key (code access-denied, at $)"
