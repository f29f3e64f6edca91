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
