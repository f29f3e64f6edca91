"""eCapris rows to Moped payloads: mapping, time zones, mojibake, flags, rejects, change plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl_bundle.ecapris.transforms import (
    UPDATE_COLUMNS,
    InvalidRowError,
    parse_flag,
    plan_changes,
    repair_mojibake,
    review_timestamp_iso,
    subproject_number,
    to_status,
    transform_rows,
)


def oracle_row(**overrides):
    row = {
        "SP_NUMBER": "10553.030",
        "SP_NAME": "Lamar Blvd \u2013 phase 1",
        "SUB_PROJECT_STATUS_ID": 4711,
        "CURR_STATUS_FL": "Y",
        "SUB_PROJECT_STATUS_DESC": "Design 60%",
        "STATUS_REVIEW_DATE": "2025-06-02 14:05:00",
        "SUB_PROJECT_STATUS_IMPACTS": None,
        "SUMM_DESC": "  On schedule ",
        "REVIEWED_BY": "Garcia, Ana",
        "REVIEWED_BY_EMAIL": "ana.garcia@austintexas.gov",
    }
    row.update(overrides)
    return row


def test_row_maps_to_the_reference_payload():
    assert to_status(oracle_row()) == {
        "subproject_status_id": 4711,
        "subproject_name": "Lamar Blvd \u2013 phase 1",
        "ecapris_subproject_id": "10553.030",
        "current_status_fl": True,
        "sub_project_status_desc": "Design 60%",
        "review_timestamp": "2025-06-02T14:05:00-05:00",
        "subproject_status_impacts": None,
        "summary_description": "On schedule",
        "reviewed_by_name": "Garcia, Ana",
        "reviewed_by_email": "ana.garcia@austintexas.gov",
    }


@pytest.mark.parametrize(
    ("wall_time", "expected"),
    [
        ("2025-01-15 09:00:00", "2025-01-15T09:00:00-06:00"),  # CST
        ("2025-07-15 09:00:00", "2025-07-15T09:00:00-05:00"),  # CDT
        ("2025-03-09 01:59:59", "2025-03-09T01:59:59-06:00"),  # just before spring forward
        ("2025-03-09 03:00:00", "2025-03-09T03:00:00-05:00"),  # just after
        ("2025-03-09 02:30:00", "2025-03-09T03:30:00-05:00"),  # in the gap: the real wall time it stands for
        ("2025-11-02 01:30:00", "2025-11-02T01:30:00-05:00"),  # repeated hour: the first (daylight) one
        ("2025-11-02 02:30:00", "2025-11-02T02:30:00-06:00"),  # after fall back
    ],
)
def test_review_date_gets_the_central_offset_across_dst(wall_time, expected):
    assert review_timestamp_iso(wall_time) == expected


@pytest.mark.parametrize(
    ("broken", "repaired"),
    [
        # The reference's byte patterns (issue #23912 and the mojibake branch).
        ("\u00e2\u00bf\u00bfspecialty\u00e2\u00bf\u009d", "\u201cspecialty\u201d"),
        ("\u2fffspecialty\u2fdd", "\u201cspecialty\u201d"),
        ("FDU\u00c2\u00bfs request", "FDU\u2019s request"),
        ("phase 1 \u00c2\u00bf phase 2", "phase 1 \u2014 phase 2"),
        # The general case: UTF-8 read as Windows-1252.
        ("Caf\u00c3\u00a9 frontage \u00e2\u20ac\u201d phase 2", "Caf\u00e9 frontage \u2014 phase 2"),
        ("it\u00e2\u20ac\u2122s done", "it\u2019s done"),
        # Text that is right stays as it is.
        ("\u00bfQu\u00e9 pasa?", "\u00bfQu\u00e9 pasa?"),
        ("\u201cok\u201d \u2014 it\u2019s fine", "\u201cok\u201d \u2014 it\u2019s fine"),
        ('plain "quotes"', 'plain "quotes"'),
        (None, None),
    ],
)
def test_mojibake_is_repaired(broken, repaired):
    assert repair_mojibake(broken) == repaired


def test_mojibake_is_repaired_in_the_four_text_columns_only():
    broken = "FDU\u00c2\u00bfs"
    status = to_status(
        oracle_row(
            SP_NAME=broken,
            SUB_PROJECT_STATUS_DESC=broken,
            SUB_PROJECT_STATUS_IMPACTS=broken,
            SUMM_DESC=broken,
            REVIEWED_BY="Garcia, Ana",
        )
    )
    for column in ("subproject_name", "sub_project_status_desc", "subproject_status_impacts", "summary_description"):
        assert status[column] == "FDU\u2019s"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Y", True), ("N", False), ("y", True), (" n ", False), (1, True), (0, False), (Decimal("1"), True)]
    + [("T", True), ("F", False), ("true", True), ("FALSE", False), (True, True), (False, False)],
)
def test_current_status_flag_is_a_boolean(value, expected):
    assert parse_flag(value) is expected


@pytest.mark.parametrize("value", ["X", "", 2, None, "maybe"])
def test_a_bad_flag_is_rejected_naming_the_field(value):
    with pytest.raises(InvalidRowError) as err:
        parse_flag(value)
    assert err.value.field == "current_status_fl"


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("REVIEWED_BY", None, "reviewed_by_name"),
        ("REVIEWED_BY", "   ", "reviewed_by_name"),
        ("SP_NAME", None, "subproject_name"),
        ("STATUS_REVIEW_DATE", None, "review_timestamp"),
        ("STATUS_REVIEW_DATE", "02/06/2025", "review_timestamp"),
        ("SUB_PROJECT_STATUS_ID", None, "subproject_status_id"),
        ("SUB_PROJECT_STATUS_ID", "12.5", "subproject_status_id"),
        ("SUB_PROJECT_STATUS_ID", Decimal("12.5"), "subproject_status_id"),
        ("SUB_PROJECT_STATUS_ID", Decimal("3000000000"), "subproject_status_id"),  # beyond Moped's INTEGER
        ("SUB_PROJECT_STATUS_ID", Decimal("-2147483649"), "subproject_status_id"),
        ("SUB_PROJECT_STATUS_ID", "NaN", "subproject_status_id"),
        ("SUB_PROJECT_STATUS_ID", "abc", "subproject_status_id"),
        ("CURR_STATUS_FL", "?", "current_status_fl"),
        ("SP_NAME", "Lamar\x00Blvd", "subproject_name"),  # Oracle holds a NUL; Postgres text cannot
        ("REVIEWED_BY", "Garcia,\x00Ana", "reviewed_by_name"),
        ("SUB_PROJECT_STATUS_DESC", "Design\x00", "sub_project_status_desc"),
    ],
)
def test_rows_missing_required_fields_are_rejected_and_counted(column, value, field):
    good = oracle_row(SUB_PROJECT_STATUS_ID=1)
    bad = oracle_row(**{"SUB_PROJECT_STATUS_ID": 2, column: value})
    result = transform_rows([good, bad])
    assert [s["subproject_status_id"] for s in result.statuses] == [1]
    [reject] = result.rejects
    assert reject.field == field
    assert reject.row[column] == (str(value) if isinstance(value, Decimal) else value)  # kept as text
    assert field in reject.describe() and "10553.030" in reject.describe()


def test_a_duplicate_status_id_keeps_the_first_row():
    result = transform_rows([oracle_row(SP_NAME="first"), oracle_row(SP_NAME="second")])
    assert [s["subproject_name"] for s in result.statuses] == ["first"]
    assert [r.reason for r in result.rejects] == ["duplicate in the view; the first row is kept"]


def test_only_new_and_changed_statuses_are_planned():
    same, changed, new = (to_status(oracle_row(SUB_PROJECT_STATUS_ID=i)) for i in (1, 2, 3))
    existing = {
        1: {**same},
        2: {**changed, "current_status_fl": False},
    }
    plan = plan_changes([same, changed, new], existing)
    assert [s["subproject_status_id"] for s in plan.inserts] == [3]
    assert [s["subproject_status_id"] for s in plan.updates] == [2]
    assert plan.unchanged == 1


def test_a_difference_outside_the_update_columns_sends_nothing():
    # subproject_name and review_timestamp are not updated by the mutation: sending would
    # only fire Moped's updated_at trigger.
    status = to_status(oracle_row())
    existing = {4711: {**status, "subproject_name": "old name", "review_timestamp": "2020-01-01T00:00:00+00:00"}}
    assert "subproject_name" not in UPDATE_COLUMNS and "review_timestamp" not in UPDATE_COLUMNS
    plan = plan_changes([status], existing)
    assert (plan.objects, plan.unchanged, plan.name_repairs) == ([], 1, [])


def test_a_name_stored_garbled_is_repaired_alone():
    status = to_status(oracle_row(SP_NAME="Caf\u00e9 Street \u2013 phase 1"))
    garbled = status["subproject_name"].encode("utf-8").decode("cp1252")  # as the original stored it
    existing = {4711: {**status, "subproject_name": garbled}}
    plan = plan_changes([status], existing)
    assert plan.objects == [] and plan.unchanged == 1
    assert plan.name_repairs == [{"subproject_status_id": 4711, "subproject_name": "Caf\u00e9 Street \u2013 phase 1"}]


@pytest.mark.parametrize(
    ("moped_id", "number"), [("10553.030", Decimal("10553.03")), ("10553", Decimal(10553)), (" 7.5 ", Decimal("7.5"))]
)
def test_moped_ids_become_oracle_numbers(moped_id, number):
    assert subproject_number(moped_id) == number


@pytest.mark.parametrize("moped_id", ["CIP-7", "", "1.2345", "NaN", "1e20"])
def test_ids_that_are_not_number_18_3_are_refused(moped_id):
    with pytest.raises(ValueError, match="subproject number"):
        subproject_number(moped_id)


def test_the_largest_moped_integer_is_accepted():
    [status] = transform_rows([oracle_row(SUB_PROJECT_STATUS_ID=Decimal(2**31 - 1))]).statuses
    assert status["subproject_status_id"] == 2**31 - 1


def test_a_nul_rejection_says_where_not_what():
    [reject] = transform_rows([oracle_row(REVIEWED_BY="Garcia, Ana\x00x")]).rejects
    assert "offset 11" in reject.reason and "Garcia" not in reject.reason
    assert "ATD_SUB_PROJECT_STATUS_VW" in reject.describe()
