"""The reconciliation rules on small fixtures (made-up people)."""

from __future__ import annotations

from datetime import date

import pytest

from etl_bundle.dfps.reconcile import (
    IMPACT_COLUMNS,
    best_per_person,
    dps_not_in_impact,
    eighteenth_birthday,
    impact_not_in_dps,
    in_window_and_care,
    match_reference,
    runaway_events,
    under_18_at,
)

Q2 = (date(2024, 12, 1), date(2025, 2, 28))


def ref(person, name, birth, entered=date(2024, 1, 1), exited=None):
    return {"Person_ID": person, "Name": name, "Date_of_Birth": birth, "Entered_Care": entered, "Exited_Care": exited}


def dps(name, birth, contact, status="LOC", **more):
    return {"CPS_NAME": name, "CPS_DOB": birth, "LAST_CONT": contact, "STS": status} | more


def test_a_leap_day_birthday_turns_18_on_march_1():
    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert under_18_at(date(2008, 2, 29), date(2026, 2, 28))
    assert not under_18_at(date(2008, 2, 29), date(2026, 3, 1))
    assert not under_18_at(date(2007, 1, 10), date(2025, 1, 10))  # the birthday itself is 18


def test_rows_match_every_name_variant_and_unmatched_are_counted():
    reference = [ref(1, "CRUZ,JOSE", date(2010, 1, 2)), ref(1, "DELACRUZ,JOSE", date(2010, 1, 2))]
    results = [
        dps("DELACRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5)),
        dps("CRUZ,JOSE", date(2011, 1, 2), date(2025, 1, 5)),
    ]
    matched = match_reference(results, reference)
    assert [r["Person_ID"] for r in matched.rows] == [1] and matched.unmatched == 1


@pytest.mark.parametrize(
    ("statuses", "kept"),
    [(["CANC", "CLRD", "ACTV", "LOC"], "LOC"), (["CANC", "CLRD"], "CLRD"), (["CANC", "ACTV"], "ACTV")],
)
def test_status_priority_per_person_and_contact(statuses, kept):
    rows = [{"Person_ID": 1, "LAST_CONT": date(2025, 1, 5), "STS": s} for s in statuses]
    assert [r["STS"] for r in best_per_person(rows)] == [kept]


def test_the_latest_contact_per_person_is_kept():
    rows = [
        {"Person_ID": 1, "LAST_CONT": date(2025, 1, 5), "STS": "LOC"},
        {"Person_ID": 1, "LAST_CONT": date(2025, 2, 1), "STS": "CANC"},
        {"Person_ID": 2, "LAST_CONT": date(2024, 12, 2), "STS": "ACTV"},
    ]
    assert [(r["Person_ID"], r["STS"]) for r in best_per_person(rows)] == [(2, "ACTV"), (1, "CANC")]


@pytest.mark.parametrize(
    ("contact", "status", "entered", "exited", "kept"),
    [
        (date(2025, 1, 5), "LOC", date(2024, 1, 1), None, True),  # in window, open exit
        (date(2024, 11, 20), "LOC", date(2024, 1, 1), None, False),  # before the window, closed
        (date(2024, 11, 20), "ACTV", date(2024, 1, 1), None, True),  # before, still open
        (date(2025, 3, 1), "ACTV", date(2024, 1, 1), None, False),  # after the window
        (date(2025, 1, 5), "LOC", date(2025, 1, 6), None, False),  # before entering care
        (date(2025, 1, 5), "LOC", date(2024, 1, 1), date(2025, 1, 4), False),  # after leaving care
        (date(2025, 2, 28), "LOC", date(2024, 1, 1), date(2025, 2, 28), True),  # last day of Q2
    ],
)
def test_quarter_window_and_care_episode(contact, status, entered, exited, kept):
    row = {"LAST_CONT": contact, "STS": status, "Entered_Care": entered, "Exited_Care": exited}
    assert in_window_and_care(row, *Q2) is kept


def test_runaway_events_end_to_end_with_counts():
    reference = [ref(1, "CRUZ,JOSE", date(2010, 1, 2)), ref(2, "DOE,JANE", date(2006, 12, 1))]
    results = [
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5), "CLRD", CLR_CAN_DT=date(2025, 1, 9), LOCATE_DT=None),
        dps("CRUZ,JOSE", date(2010, 1, 2), date(2025, 1, 5), "LOC", LOCATE_DT=date(2025, 1, 7), CLR_CAN_DT=None),
        dps("DOE,JANE", date(2006, 12, 1), date(2025, 1, 5)),  # 18 since Dec 1, 2024
        dps("NOBODY,KNOWN", date(2010, 1, 1), date(2025, 1, 5)),
    ]
    events, counts = runaway_events(results, reference, *Q2)
    assert [(e["Person_ID"], e["STS"], e["CombDate"]) for e in events] == [(1, "LOC", date(2025, 1, 7))]
    assert counts == {"matched": 3, "unmatched": 1, "under_18": 2, "people": 1, "events": 1}


def impact(pid, status="TMC", recovered=None, county="Travis"):
    return {
        "CHILD_PID": pid,
        "NM_CHILD": "MADE UP",
        "DT_RUNAWAY": date(2025, 1, 2),
        "LEGAL_STATUS": status,
        "LEGAL_COUNTY": county,
        "DT_RECOVERED": recovered,
    }


def test_dps_events_not_on_impacts_list_get_legal_county_region_and_blank_outcome():
    events = [{"Person_ID": 11, "STS": "LOC"}, {"Person_ID": 12, "STS": "ACTV"}, {"Person_ID": 13, "STS": "CLRD"}]
    legal = {"12": {"LEGAL_COUNTY": "Travis ", "NM_PERSON_NAME": "DOE, JANE"}}
    regions = {"TRAVIS": "07"}
    rows = dps_not_in_impact(events, [impact("11")], legal, regions)
    assert [r["Person_ID"] for r in rows] == [12, 13]  # "11" from Oracle matches 11 from the workbook
    assert (rows[0]["Legal_County"], rows[0]["Name"], rows[0]["Legal_Region"]) == ("Travis ", "DOE, JANE", "07")
    assert rows[1]["Legal_County"] is None and rows[1]["Legal_Region"] is None
    assert all(r["Outcome"] is None and "Outcome" in r for r in rows)


@pytest.mark.parametrize(
    ("row", "kept"),
    [
        (impact(1), True),
        (impact(1, status=None), True),  # no legal status recorded: still in scope
        (impact(1, status="PMC/Rts Term (Father)"), True),
        (impact(1, status="JMC"), False),
        (impact(1, recovered=date(2025, 1, 9)), False),
        (impact(2), False),  # DPS has an open (ACTV) record of child 2
        (impact(3), True),  # DPS knows child 3, but the record is closed
    ],
)
def test_impact_runaways_without_an_open_dps_record(row, kept):
    events = [{"Person_ID": 2, "STS": "ACTV"}, {"Person_ID": 3, "STS": "CLRD"}]
    rows = impact_not_in_dps([row], events)
    assert bool(rows) is kept
    if kept:
        assert list(rows[0]) == IMPACT_COLUMNS and rows[0]["Outcome"] is None
        assert "DT_RECOVERED" not in rows[0]
