"""The original's reconciliation rules for DPS results (reference §2.6-2.7), as pure functions.

DPS rows are matched to the reference rows send wrote (``Name`` and ``Date_of_Birth``),
kept when the child was under 18 at the last contact (a Feb 29 birthday turns 18 on
Mar 1), their status recoded as the original wrote it (``LOC`` → ``1LOC`` … ``CANC`` →
``4CANC``, unknown codes unchanged, so the codes sort by priority), reduced to one row
per person and contact date (the lowest code), then to the latest contact per person,
and only then filtered by the event window (clauses A-D of ``in_event_window``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.dfps.children import as_date

STATUS_CODES = {"LOC": "1LOC", "ACTV": "2ACTV", "CLRD": "3CLRD", "CANC": "4CANC"}
STILL_MISSING = STATUS_CODES["ACTV"]
OPEN_EXIT = date(2200, 1, 1)  # the original's stand-in for "still in care", also in the workbooks
Q4_WINDOWS = ("fiscal_year", "quarter")


def status_code(status: str) -> str:
    return STATUS_CODES.get(status, status)


def event_window(period: FiscalPeriod, q4_window: str = "fiscal_year") -> tuple[date, date]:
    """The window events are kept in: the period, but the whole fiscal year for Q4 (the original's rule)
    unless ``q4_window`` is ``quarter``."""
    if q4_window not in Q4_WINDOWS:
        raise ValueError(f"[dfps_dps] q4_window must be one of {Q4_WINDOWS}, not {q4_window!r}")
    if period.quarter == 4 and q4_window == "fiscal_year":
        year = FiscalPeriod(period.fiscal_year)
        return year.start, year.end
    return period.start, period.end


def eighteenth_birthday(birth: date) -> date:
    if birth.month == 2 and birth.day == 29:
        return date(birth.year + 18, 3, 1)
    return birth.replace(year=birth.year + 18)


def under_18_at(birth: date | None, day: date | None) -> bool:
    """The original keeps a row whose 18th birthday is unknown, or after the contact."""
    if birth is None:
        return True
    return day is not None and day < eighteenth_birthday(birth)


@dataclass
class Matched:
    rows: list[dict[str, Any]]
    unmatched: int


def match_reference(results: Iterable[dict[str, Any]], reference: Iterable[dict[str, Any]]) -> Matched:
    """Each DPS row joined to every reference row with its name and birth date (a left join whose
    unmatched rows the original lost in its group-by: here they are counted)."""
    by_key: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for ref in reference:
        birth = as_date(ref["Date_of_Birth"])
        if birth is None:
            continue
        by_key.setdefault((str(ref["Name"]).strip().replace(" ", "").upper(), birth), []).append(ref)
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
                    "STS": status_code(result["STS"]),
                    "Person_ID": ref["Person_ID"],
                    "Entered_Care": as_date(ref["Entered_Care"]),
                    "Exited_Care": as_date(ref["Exited_Care"]) or OPEN_EXIT,
                }
            )
    return Matched(rows=rows, unmatched=unmatched)


def best_per_person(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (person, contact date) the row with the lowest status code, then per person the latest
    contact; ties keep the first row read. Whole rows, never fields of different rows mixed."""
    per_contact: dict[tuple[str, date], dict[str, Any]] = {}
    for row in rows:
        key = (person_key(row["Person_ID"]), row["LAST_CONT"])
        current = per_contact.get(key)
        if current is None or row["STS"] < current["STS"]:
            per_contact[key] = row
    latest: dict[str, dict[str, Any]] = {}
    for (person, _), row in per_contact.items():
        current = latest.get(person)
        if current is None or row["LAST_CONT"] > current["LAST_CONT"]:
            latest[person] = row
    return [latest[person] for person in sorted(latest)]


def _on_or_after(day: date | None, bound: date | None) -> bool:
    return day is not None and bound is not None and day >= bound


def _on_or_before(day: date | None, bound: date | None) -> bool:
    return day is not None and bound is not None and day <= bound


def in_event_window(row: dict[str, Any], start: date, end: date) -> bool:
    """The original's mask; every comparison with a missing date is false.

    (A contact on or after the start, or B contact on or before it and neither located nor
    cleared, or C contact on or before it and located or cleared on or after it) and D the
    contact on or before the end and inside the care episode.
    """
    contact, located, cleared = row["LAST_CONT"], row.get("LOCATE_DT"), row.get("CLR_CAN_DT")
    during = _on_or_after(contact, start)
    open_since_before = _on_or_before(contact, start) and located is None and cleared is None
    resolved_during = _on_or_before(contact, start) and (_on_or_after(located, start) or _on_or_after(cleared, start))
    in_care = (
        _on_or_before(contact, end)
        and _on_or_before(contact, row.get("Exited_Care"))
        and _on_or_after(contact, row.get("Entered_Care"))
    )
    return (during or open_since_before or resolved_during) and in_care


def runaway_events(
    results: Iterable[dict[str, Any]], reference: Iterable[dict[str, Any]], start: date, end: date
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``DPS_total_runaway_events`` rows (with ``CombDate``), by person, and the counts of each step."""
    matched = match_reference(results, reference)
    minors = [r for r in matched.rows if under_18_at(r["CPS_DOB"], r["LAST_CONT"])]
    best = best_per_person(minors)
    kept = [
        {**r, "CombDate": r.get("LOCATE_DT") or r.get("CLR_CAN_DT")} for r in best if in_event_window(r, start, end)
    ]
    counts = {
        "matched": len(matched.rows),
        "unmatched": matched.unmatched,
        "under_18": len(minors),
        "people": len(best),
        "events": len(kept),
    }
    return kept, counts


# The workbooks' columns, in the original's order (reference §2.7).
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
# get_sa_98's recovery columns, which the original left out of IMPACT_not_in_DPS.
SA98_DROPPED = (
    "DT_RECOVERED",
    "RETURNED_BY",
    "RECOVERY_INTERVW_CONDUCTED",
    "RSN_NOT_INTERVIEWED",
    "RECOVERY_INTERVW_DT",
    "CONFIRMED_RSN_ABSENCE",
    "SEX_TRF",
    "LABOR_TRF",
    "PHAB",
    "SXAB",
    "OTHER",
    "TXT_RUN_RSN",
)
# Legal statuses under which a runaway still in IMPACT should have a DPS record, exactly as the
# original spelled them (no space in the father's); None: no legal status recorded.
CUSTODY_STATUSES = frozenset(
    {"TMC", "PMC/ Rts Not Term", "PMC/ Rts Term (All)", "PMC/ Rts Term (Mother)", "PMC/Rts Term (Father)", None}
)


def impact_columns(sa98_columns: Sequence[str]) -> list[str]:
    """IMPACT_not_in_DPS's columns: get_sa_98's, in its order, without the recovery ones, then Outcome."""
    return [name for name in sa98_columns if name.upper() not in SA98_DROPPED] + ["Outcome"]


def person_key(value: Any) -> str:
    """Person ids compare as text: the workbook gives text or ints, Oracle numbers or strings."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def dps_not_in_impact(
    events: Iterable[dict[str, Any]],
    impact_rows: Iterable[dict[str, Any]],
    legal_rows: Iterable[dict[str, Any]],
    region_rows: Iterable[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Events whose child is on none of get_sa_98's rows, left-joined to the legal county snapshot
    (``ID_SA_PERSON``, ``DECODE``, ``NM_PERSON_NAME``) by person and to the regions
    (``CNTY_NAME``, ``REGION``) by county name, stripped: a person with two snapshot rows, or a
    county with two regions, gives two rows, as the original's joins did."""
    in_impact = {person_key(row["CHILD_PID"]) for row in impact_rows}
    legal_by_person: dict[str, list[dict[str, Any]]] = {}
    for row in legal_rows:
        county = row.get("DECODE")
        legal_by_person.setdefault(person_key(row["ID_SA_PERSON"]), []).append(
            {"Legal_County": county.strip() if isinstance(county, str) else county, "Name": row.get("NM_PERSON_NAME")}
        )
    regions: dict[str, list[Any]] = {}
    for row in region_rows:
        regions.setdefault(str(row["CNTY_NAME"]).strip(), []).append(row["REGION"])
    out = []
    for event in events:
        if person_key(event["Person_ID"]) in in_impact:
            continue
        for legal in legal_by_person.get(person_key(event["Person_ID"]), [{"Legal_County": None, "Name": None}]):
            county = legal["Legal_County"]
            for region in regions.get(county, [None]) if county is not None else [None]:
                out.append({**event, **legal, "Legal_Region": region, "Outcome": None})
    return out


def impact_not_in_dps(
    impact_rows: Iterable[dict[str, Any]], sa98_columns: Sequence[str], events: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """get_sa_98's rows not recovered, in custody (or without a legal status), whose child DPS has no
    still-missing (``2ACTV``) event of; the columns of ``impact_columns``."""
    still_missing = {person_key(e["Person_ID"]) for e in events if e["STS"] == STILL_MISSING}
    columns = impact_columns(sa98_columns)[:-1]
    out = []
    for row in impact_rows:
        if row["DT_RECOVERED"] is not None or row["LEGAL_STATUS"] not in CUSTODY_STATUSES:
            continue
        if person_key(row["CHILD_PID"]) in still_missing:
            continue
        out.append({**{name: row.get(name) for name in columns}, "Outcome": None})
    return out
