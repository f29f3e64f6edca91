"""The original's reconciliation rules (reference §2.6-2.7) on small fixtures (made-up people)."""

from __future__ import annotations

from datetime import date

import pytest

from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.dfps.receive import snapshot_month
from etl_bundle.dfps.reconcile import (
    CUSTODY_STATUSES,
    NOT_IN_IMPACT_COLUMNS,
    OPEN_EXIT,
    SA98_DROPPED,
    best_per_person,
    dps_not_in_impact,
    eighteenth_birthday,
    event_window,
    impact_columns,
    impact_not_in_dps,
    in_event_window,
    match_reference,
    runaway_events,
    status_code,
    under_18_at,
)

Q2 = (date(2024, 12, 1), date(2025, 2, 28))
S, E = Q2


def ref(person, name, birth, entered=date(2024, 1, 1), exited=None):
    return {"Person_ID": person, "Name": name, "Date_of_Birth": birth, "Entered_Care": entered, "Exited_Care": exited}


def dps(name, birth, contact, status="LOC", **more):
    return {"CPS_NAME": name, "CPS_DOB": birth, "LAST_CONT": contact, "STS": status} | more


def test_a_leap_day_birthday_turns_18_on_march_1():
    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert under_18_at(date(2008, 2, 29), date(2026, 2, 28))
    assert not under_18_at(date(2008, 2, 29), date(2026, 3, 1))
    assert not under_18_at(date(2007, 1, 10), date(2025, 1, 10))  # the birthday itself is 18
    assert under_18_at(None, date(2025, 1, 10))  # no birth date: kept, as the original's NULL test


@pytest.mark.parametrize(
    ("dps_code", "written"),
    [("LOC", "1LOC"), ("ACTV", "2ACTV"), ("CLRD", "3CLRD"), ("CANC", "4CANC"), ("HOLD", "HOLD"), ("", "")],
)
def test_status_codes_as_the_original_wrote_them_unknown_unchanged(dps_code, written):
    assert status_code(dps_code) == written


def test_rows_match_every_name_variant_recoded_and_unmatched_are_counted():
    reference = [
        ref(1, "CRUZ,JOSE", date(2010, 1, 2)),
        ref(1, "DE LA CRUZ,JOSE ", date(2010, 1, 2)),  # stripped, spaces removed, as the original
        ref(2, "NODOB,KID", None),  # no birth date: never matched
    ]
    results = [
        dps("DELACRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5)),
        dps("CRUZ,JOSE", date(2011, 1, 2), date(2025, 1, 5)),
    ]
    matched = match_reference(results, reference)
    assert [(r["Person_ID"], r["STS"], r["Exited_Care"]) for r in matched.rows] == [(1, "1LOC", OPEN_EXIT)]
    assert matched.unmatched == 1


@pytest.mark.parametrize(
    ("statuses", "kept"),
    [
        (["4CANC", "3CLRD", "2ACTV", "1LOC"], "1LOC"),
        (["4CANC", "3CLRD"], "3CLRD"),
        (["4CANC", "2ACTV"], "2ACTV"),
        (["HOLD", "4CANC"], "4CANC"),  # an unknown code sorts after the four, as text
    ],
)
def test_the_lowest_code_per_person_and_contact(statuses, kept):
    rows = [{"Person_ID": 1, "LAST_CONT": date(2025, 1, 5), "STS": s} for s in statuses]
    assert [r["STS"] for r in best_per_person(rows)] == [kept]


def test_the_latest_contact_per_person_is_kept_and_people_come_in_id_order():
    rows = [
        {"Person_ID": "2", "LAST_CONT": date(2025, 1, 5), "STS": "1LOC"},
        {"Person_ID": "2", "LAST_CONT": date(2025, 2, 1), "STS": "4CANC"},
        {"Person_ID": "1", "LAST_CONT": date(2024, 12, 2), "STS": "2ACTV"},
    ]
    assert [(r["Person_ID"], r["STS"]) for r in best_per_person(rows)] == [("1", "2ACTV"), ("2", "4CANC")]


def event(contact, located=None, cleared=None, entered=date(2024, 1, 1), exited=OPEN_EXIT):
    return {
        "LAST_CONT": contact,
        "LOCATE_DT": located,
        "CLR_CAN_DT": cleared,
        "Entered_Care": entered,
        "Exited_Care": exited,
    }


@pytest.mark.parametrize(
    ("row", "kept"),
    [
        # A: a contact on or after the start
        (event(S), True),
        (event(date(2025, 1, 5), located=date(2025, 1, 7)), True),
        (event(E), True),  # the last day
        # B: before the start, neither located nor cleared (whatever the status)
        (event(date(2024, 11, 20)), True),
        # C: before the start, located or cleared on or after it
        (event(date(2024, 11, 20), located=S), True),
        (event(date(2024, 11, 20), cleared=date(2025, 3, 9)), True),
        (event(date(2024, 11, 20), located=date(2024, 11, 21)), False),  # resolved before the window
        (event(date(2024, 11, 20), located=date(2024, 11, 21), cleared=S), True),  # cleared in it
        # D: on or before the end, inside the care episode
        (event(date(2025, 3, 1)), False),  # after the window
        (event(date(2025, 1, 5), entered=date(2025, 1, 6)), False),  # before entering care
        (event(date(2025, 1, 5), exited=date(2025, 1, 4)), False),  # after leaving care
        (event(E, exited=E), True),  # left care on the day
        # comparisons with a missing date are false
        (event(None), False),
        (event(date(2025, 1, 5), entered=None), False),
        (event(date(2025, 1, 5), exited=None), False),
    ],
)
def test_event_window_clauses_a_b_c_and_d(row, kept):
    assert in_event_window(row, S, E) is kept


def test_q4_is_the_whole_fiscal_year_by_default_and_the_quarter_on_request():
    q4 = FiscalPeriod(2025, 4)
    assert event_window(q4) == (date(2024, 9, 1), date(2025, 8, 31))
    assert event_window(q4, "quarter") == (date(2025, 6, 1), date(2025, 8, 31))
    assert event_window(FiscalPeriod(2025, 2)) == (date(2024, 12, 1), date(2025, 2, 28))
    assert event_window(FiscalPeriod(2025)) == (date(2024, 9, 1), date(2025, 8, 31))
    with pytest.raises(ValueError, match="q4_window"):
        event_window(q4, "year")


@pytest.mark.parametrize(
    ("run_day", "month"),
    [
        (date(2025, 1, 15), (2024, 12)),  # the original asked for month 0
        (date(2024, 12, 1), (2024, 11)),
        (date(2025, 3, 1), (2025, 2)),
        (date(2025, 9, 1), (2025, 8)),
    ],
)
def test_time_dim_month_is_the_month_before_the_run_january_gives_december(run_day, month):
    assert snapshot_month(run_day) == month


def test_runaway_events_end_to_end_with_counts():
    reference = [ref("1", "CRUZ,JOSE", date(2010, 1, 2)), ref("2", "DOE,JANE", date(2006, 12, 1))]
    results = [
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5), "CLRD", CLR_CAN_DT=date(2025, 1, 9), LOCATE_DT=None),
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5), "LOC", LOCATE_DT=date(2025, 1, 7), CLR_CAN_DT=None),
        dps("DOE,JANE", date(2006, 12, 1), date(2025, 1, 5)),  # 18 since Dec 1, 2024
        dps("NOBODY,KNOWN", date(2010, 1, 1), date(2025, 1, 5)),
    ]
    events, counts = runaway_events(results, reference, *Q2)
    assert [(e["Person_ID"], e["STS"], e["CombDate"]) for e in events] == [("1", "1LOC", date(2025, 1, 7))]
    assert counts == {"matched": 3, "unmatched": 1, "under_18": 2, "people": 1, "events": 1}


def test_one_row_per_person_is_chosen_before_the_window():
    """The latest contact is after the window: the person is dropped, though an earlier one was in it."""
    reference = [ref("1", "CRUZ,JOSE", date(2010, 1, 2))]
    results = [
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5), LOCATE_DT=date(2025, 1, 6)),
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 3, 5), LOCATE_DT=date(2025, 3, 6)),
    ]
    events, counts = runaway_events(results, reference, *Q2)
    assert events == [] and counts["people"] == 1


# A get_sa_98 cursor as wide as the original's (at least 29 columns), known names and others.
SA98 = [
    "RPT_REGION", "CNTY_LEGAL", "UNIT", "ID_STAGE", "ID_CASE", "CHILD_PID", "CHILD_NAME", "DT_BIRTH",
    "AGE_AT_RUN", "GENDER", "LEGAL_STATUS", "LIVING_ARR", "PLACEMENT_TYPE", "DT_RUN", "DT_REPORTED_LE",
    "NCIC_ENTERED", "DT_RECOVERED", "RETURNED_BY", "RECOVERY_INTERVW_CONDUCTED", "RSN_NOT_INTERVIEWED",
    "RECOVERY_INTERVW_DT", "CONFIRMED_RSN_ABSENCE", "SEX_TRF", "LABOR_TRF", "PHAB", "SXAB", "OTHER",
    "TXT_RUN_RSN", "DAYS_MISSING", "NBR_RUNS_FY", "CASEWORKER_PID",
]  # fmt: skip


def test_impact_not_in_dps_columns_are_get_sa_98s_in_order_minus_the_twelve_plus_outcome():
    assert len(SA98_DROPPED) == 12
    assert impact_columns(SA98) == [
        "RPT_REGION", "CNTY_LEGAL", "UNIT", "ID_STAGE", "ID_CASE", "CHILD_PID", "CHILD_NAME", "DT_BIRTH",
        "AGE_AT_RUN", "GENDER", "LEGAL_STATUS", "LIVING_ARR", "PLACEMENT_TYPE", "DT_RUN", "DT_REPORTED_LE",
        "NCIC_ENTERED", "DAYS_MISSING", "NBR_RUNS_FY", "CASEWORKER_PID", "Outcome",
    ]  # fmt: skip
    reordered = ["CHILD_PID", "TXT_RUN_RSN", "NEW_COLUMN", "DT_RECOVERED", "LEGAL_STATUS"]
    assert impact_columns(reordered) == ["CHILD_PID", "NEW_COLUMN", "LEGAL_STATUS", "Outcome"]


def test_the_legal_statuses_are_the_originals_exact_strings():
    assert CUSTODY_STATUSES == {
        "TMC",
        "PMC/ Rts Not Term",
        "PMC/ Rts Term (All)",
        "PMC/ Rts Term (Mother)",
        "PMC/Rts Term (Father)",
        None,
    }


def impact(pid, status="TMC", recovered=None):
    row = dict.fromkeys(SA98)
    return row | {"CHILD_PID": pid, "LEGAL_STATUS": status, "DT_RECOVERED": recovered, "TXT_RUN_RSN": "x"}


@pytest.mark.parametrize(
    ("row", "kept"),
    [
        (impact(1), True),
        (impact(1, status=None), True),  # no legal status recorded: still in scope
        (impact(1, status="PMC/Rts Term (Father)"), True),
        (impact(1, status="PMC/ Rts Term (Father)"), False),  # the original's string has no space
        (impact(1, status="TMC "), False),  # exact strings
        (impact(1, status="JMC"), False),
        (impact(1, recovered=date(2025, 1, 9)), False),
        (impact(2), False),  # DPS has a still-missing (2ACTV) record of child 2
        (impact(3), True),  # DPS knows child 3, but the record is closed
    ],
)
def test_impact_runaways_without_a_still_missing_dps_record(row, kept):
    events = [{"Person_ID": "2", "STS": "2ACTV"}, {"Person_ID": "3", "STS": "3CLRD"}]
    rows = impact_not_in_dps([row], SA98, events)
    assert bool(rows) is kept
    if kept:
        assert list(rows[0]) == impact_columns(SA98) and rows[0]["Outcome"] is None


def test_dps_events_not_on_impacts_list_get_legal_county_region_and_blank_outcome():
    events = [
        {"Person_ID": "11", "STS": "1LOC"},
        {"Person_ID": "12", "STS": "2ACTV"},
        {"Person_ID": "13", "STS": "3CLRD"},
    ]
    legal = [
        {"ID_SA_PERSON": 12, "CD_LEGAL_CNTY": "227", "DECODE": "Travis ", "NM_PERSON_NAME": "MADE UP, ONE"},
        {"ID_SA_PERSON": 12, "CD_LEGAL_CNTY": "101", "DECODE": "Harris", "NM_PERSON_NAME": "MADE UP, ONE"},
        {"ID_SA_PERSON": 13, "CD_LEGAL_CNTY": "255", "DECODE": None, "NM_PERSON_NAME": "MADE UP, TWO"},
    ]
    regions = [{"CNTY_NAME": "Travis", "REGION": "07"}, {"CNTY_NAME": "Harris", "REGION": "06"}]
    rows = dps_not_in_impact(events, [impact(11.0)], legal, regions)
    # 11.0 from Oracle is "11" from the workbook; child 12 has two snapshot rows: two rows, as the original
    assert [(r["Person_ID"], r["Legal_County"], r["Legal_Region"]) for r in rows] == [
        ("12", "Travis", "07"),
        ("12", "Harris", "06"),
        ("13", None, None),
    ]
    assert rows[2]["Name"] == "MADE UP, TWO"
    assert all(r["Outcome"] is None and set(NOT_IN_IMPACT_COLUMNS[-4:]) <= set(r) for r in rows)
    unknown = dps_not_in_impact([{"Person_ID": "99", "STS": "1LOC"}], [], [], regions)
    assert [(r["Legal_County"], r["Name"], r["Legal_Region"]) for r in unknown] == [(None, None, None)]
