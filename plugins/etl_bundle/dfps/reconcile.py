"""The reference's reconciliation rules for DPS results, as pure functions.

DPS rows are matched to the reference rows send wrote (``Name`` and ``Date_of_Birth``),
kept when the child was under 18 at the last contact (a Feb 29 birthday turns 18 on
Mar 1), reduced to one row per person and contact date by status priority
(LOC > ACTV > CLRD > CANC) and then to the latest contact per person, and kept when
the contact falls in the period's window, or is still open (ACTV) and began before
it, and lies within the care episode (an open exit counts as 2200-01-01).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from etl_bundle.dfps.children import as_date

STATUS_PRIORITY = {"LOC": 1, "ACTV": 2, "CLRD": 3, "CANC": 4}
OPEN_EXIT = date(2200, 1, 1)


def eighteenth_birthday(birth: date) -> date:
    if birth.month == 2 and birth.day == 29:
        return date(birth.year + 18, 3, 1)
    return birth.replace(year=birth.year + 18)


def under_18_at(birth: date, day: date) -> bool:
    return day < eighteenth_birthday(birth)


@dataclass
class Matched:
    rows: list[dict[str, Any]]
    unmatched: int


def match_reference(results: Iterable[dict[str, Any]], reference: Iterable[dict[str, Any]]) -> Matched:
    """Each DPS row joined to every reference row with its name and birth date (a left join: unmatched counted)."""
    by_key: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for ref in reference:
        by_key.setdefault((ref["Name"].replace(" ", "").upper(), as_date(ref["Date_of_Birth"])), []).append(ref)
    rows, unmatched = [], 0
    for result in results:
        refs = by_key.get((result["CPS_NAME"], result["CPS_DOB"]))
        if not refs:
            unmatched += 1
            continue
        for ref in refs:
            rows.append(
                {
                    **result,
                    "Person_ID": ref["Person_ID"],
                    "Entered_Care": as_date(ref["Entered_Care"]),
                    "Exited_Care": as_date(ref["Exited_Care"]),
                }
            )
    return Matched(rows=rows, unmatched=unmatched)


def best_per_person(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (person, contact date) by status priority, then the latest contact per person."""
    per_contact: dict[tuple[Any, date], dict[str, Any]] = {}
    for row in rows:
        key = (row["Person_ID"], row["LAST_CONT"])
        current = per_contact.get(key)
        if current is None or STATUS_PRIORITY[row["STS"]] < STATUS_PRIORITY[current["STS"]]:
            per_contact[key] = row
    latest: dict[Any, dict[str, Any]] = {}
    for row in per_contact.values():
        current = latest.get(row["Person_ID"])
        if current is None or row["LAST_CONT"] > current["LAST_CONT"]:
            latest[row["Person_ID"]] = row
    return sorted(latest.values(), key=lambda r: (r["LAST_CONT"], str(r["Person_ID"])))


def in_window_and_care(row: dict[str, Any], start: date, end: date) -> bool:
    contact = row["LAST_CONT"]
    in_window = start <= contact <= end or (row["STS"] == "ACTV" and contact < start)
    exited = row["Exited_Care"] or OPEN_EXIT
    return in_window and row["Entered_Care"] <= contact <= exited


def runaway_events(
    results: Iterable[dict[str, Any]], reference: Iterable[dict[str, Any]], start: date, end: date
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``DPS_total_runaway_events`` rows (with ``CombDate``) and the counts of each step."""
    matched = match_reference(results, reference)
    minors = [r for r in matched.rows if under_18_at(r["CPS_DOB"], r["LAST_CONT"])]
    best = best_per_person(minors)
    kept = [
        {**r, "CombDate": r.get("LOCATE_DT") or r.get("CLR_CAN_DT")} for r in best if in_window_and_care(r, start, end)
    ]
    counts = {
        "matched": len(matched.rows),
        "unmatched": matched.unmatched,
        "under_18": len(minors),
        "people": len(best),
        "events": len(kept),
    }
    return kept, counts


# The three workbooks' columns, as the reference names them.
EVENT_COLUMNS = [
    "CPS_DOB",
    "S",
    "R",
    "E",
    "LAST_CONT",
    "HR",
    "ORI_DESC",
    "COUNTY_NAME",
    "ORI_PHONE",
    "NIC",
    "STS",
    "LOCATE_DT",
    "CLR_CAN_DT",
    "Person_ID",
    "Entered_Care",
    "Exited_Care",
    "CombDate",
]
NOT_IN_IMPACT_COLUMNS = [*EVENT_COLUMNS, "Legal_County", "Name", "Legal_Region", "Outcome"]
IMPACT_COLUMNS = ["CHILD_PID", "NM_CHILD", "DT_RUNAWAY", "LEGAL_STATUS", "LEGAL_COUNTY", "Outcome"]
# Legal statuses under which a runaway still in IMPACT should have a DPS record (None: not recorded).
CUSTODY_STATUSES = frozenset(
    {"TMC", "PMC/ Rts Not Term", "PMC/ Rts Term (All)", "PMC/ Rts Term (Mother)", "PMC/Rts Term (Father)", None}
)


def person_key(value: Any) -> str:
    """Person ids compare as text: the workbook gives ints, Oracle gives numbers or strings."""
    return str(int(value)) if isinstance(value, (int, float)) or str(value).strip().isdigit() else str(value).strip()


def dps_not_in_impact(
    events: Iterable[dict[str, Any]],
    impact_rows: Iterable[dict[str, Any]],
    legal_by_person: dict[str, dict[str, Any]],
    region_by_county: dict[str, str],
) -> list[dict[str, Any]]:
    """Runaway events DPS knows of whose child is not on IMPACT's runaway list, for manual review."""
    in_impact = {person_key(row["CHILD_PID"]) for row in impact_rows}
    out = []
    for event in events:
        person = person_key(event["Person_ID"])
        if person in in_impact:
            continue
        legal = legal_by_person.get(person, {})
        county = legal.get("LEGAL_COUNTY")
        out.append(
            {
                **event,
                "Legal_County": county,
                "Name": legal.get("NM_PERSON_NAME"),
                "Legal_Region": region_by_county.get((county or "").strip().upper()),
                "Outcome": None,
            }
        )
    return out


def impact_not_in_dps(impact_rows: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Children IMPACT lists as still missing (not recovered, in custody) that DPS has no open record of."""
    open_in_dps = {person_key(e["Person_ID"]) for e in events if e["STS"] == "ACTV"}
    out = []
    for row in impact_rows:
        if row["DT_RECOVERED"] is not None or row["LEGAL_STATUS"] not in CUSTODY_STATUSES:
            continue
        if person_key(row["CHILD_PID"]) in open_in_dps:
            continue
        out.append({**{c: row.get(c) for c in IMPACT_COLUMNS if c != "Outcome"}, "Outcome": None})
    return out
