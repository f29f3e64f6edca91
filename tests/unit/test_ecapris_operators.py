"""The eCapris operators' pure parts: templated values and batches of the Airflow-rendered read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl_bundle.common.sql import render_sql
from etl_bundle.ecapris.operators import as_bool, as_int
from etl_bundle.ecapris.sync import status_query_batches

NUMBERS = [Decimal("10553.030"), Decimal("10554.001"), Decimal("10555.000")]


@pytest.mark.parametrize(("text", "value"), [("True", True), ("False", False), (True, True), ("false", False)])
def test_templated_booleans(text, value):
    assert as_bool(text) is value


def test_a_templated_boolean_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not a boolean"):
        as_bool("maybe")
    assert as_int("200") == 200


def test_rendered_oracle_read_pads_every_batch_to_its_binds():
    sql = render_sql("ecapris/subproject_statuses.sql", dialect="oracle", id_count=2)
    batches = list(status_query_batches("oracle", NUMBERS, batch_size=2, sql=sql))
    assert [text for text, _ in batches] == [sql, sql]
    assert batches[1][1] == {"sp_0": NUMBERS[2], "sp_1": NUMBERS[2]}


def test_rendered_oracle_read_with_fewer_binds_than_a_batch_is_refused():
    sql = render_sql("ecapris/subproject_statuses.sql", dialect="oracle", id_count=2)
    with pytest.raises(ValueError, match="binds 2 ids, fewer than batch_size 3"):
        list(status_query_batches("oracle", NUMBERS, batch_size=3, sql=sql))


def test_rendered_stand_in_read_binds_one_array_per_batch():
    sql = render_sql("ecapris/subproject_statuses.sql", dialect="postgres", id_count=0)
    batches = list(status_query_batches("postgres", NUMBERS, batch_size=2, sql=sql))
    assert [binds for _, binds in batches] == [{"sp_numbers": NUMBERS[:2]}, {"sp_numbers": NUMBERS[2:]}]
