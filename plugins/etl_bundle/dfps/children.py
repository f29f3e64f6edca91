"""Children in care → the reference rows and the fixed-width lines DPS matches on. Pure.

As the original: accents stripped, one record per person and care entry (the
earliest exit kept), names upper-cased; last names split on hyphens (two parts) and
spaces (five) without the particles; first names split on hyphens, apostrophes and
spaces (three parts); every variant a row; non-alphanumerics removed; first names of
two characters or fewer and the literal NAN dropped. No name or birth date is ever
put in an error message: records are named by person id and row number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

EXCLUDED_PARTICLES = frozenset({"LA", "MC", "DE", "ST", "ST.", "DEL", "JR", "JR.", "A", "O"})
NAME_WIDTH = 30
LINE_WIDTH = 41  # name 30 + YYYY-MM-DD 10 + sex 1
SEX_CODES = {"MALE": "M", "FEMALE": "F", "M": "M", "F": "F"}
REFERENCE_COLUMNS = (
    "Person_ID",
    "Name",
    "Date_of_Birth",
    "Sex",
    "Last_Name",
    "First_Name",
    "Middle_Name",
    "Entered_Care",
    "Exited_Care",
)
_NON_ALNUM = re.compile(r"[^A-Z0-9]")
_LINE = re.compile(r"^[A-Z0-9, ]{30}\d{4}-\d{2}-\d{2}[MFU]$")


class InvalidLineError(ValueError):
    pass


@dataclass(frozen=True)
class Child:
    person_id: int
    first: str | None
    middle: str | None
    last: str | None
    birth: date | None
    entered: date | None
    exited: date | None
    gender: str | None


@dataclass
class Prepared:
    rows: list[dict[str, Any]]
    dropped: dict[str, int]


def as_date(value: Any) -> date | None:
    """A date from an Oracle DATE (a datetime), the stand-in's date, or an openpyxl cell (a datetime)."""
    return value.date() if isinstance(value, datetime) else value


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _upper(text: str | None) -> str:
    return strip_accents(text or "").upper().strip()


def _clean(part: str) -> str:
    return _NON_ALNUM.sub("", part)


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)


def last_name_variants(last: str | None) -> list[str]:
    """The whole last name, then its hyphen parts and space parts, particles left out."""
    name = _upper(last)
    hyphen_parts = [p.strip() for p in name.split("-", 1)]
    space_parts = [p for p in re.split(r"\s+", name.replace("-", " "), maxsplit=4) if p]
    parts = [p for p in hyphen_parts + space_parts if p not in EXCLUDED_PARTICLES]
    return _unique(_clean(v) for v in [name, *parts])


def first_name_variants(first: str | None) -> list[str]:
    """The whole first name, then its parts split on hyphens, apostrophes and spaces."""
    name = _upper(first)
    parts = [p for p in re.split(r"[-'\s]+", name, maxsplit=2) if p]
    variants = _unique(_clean(v) for v in [name, *parts])
    return [v for v in variants if len(v) > 2 and v != "NAN"]


def sex_code(gender: str | None) -> str:
    return SEX_CODES.get((gender or "").strip().upper(), "U")


def earliest_exit_per_entry(children: Iterable[Child]) -> list[Child]:
    """One record per person and care entry: the one with the earliest exit (an open one last)."""
    kept: dict[tuple[int, date], Child] = {}
    for child in children:
        key = (child.person_id, child.entered)
        current = kept.get(key)
        if current is None or (child.exited or date.max) < (current.exited or date.max):
            kept[key] = child
    return list(kept.values())


def prepare(children: Iterable[Child]) -> Prepared:
    """Reference rows, one per name variant; children without birth or entry date are dropped and counted."""
    dropped = {"no_birth_or_entry_date": 0, "no_usable_first_name": 0}
    usable = []
    for child in children:
        if child.birth is None or child.entered is None:
            dropped["no_birth_or_entry_date"] += 1
        else:
            usable.append(child)
    rows = []
    for child in sorted(earliest_exit_per_entry(usable), key=lambda c: (c.person_id, c.entered)):
        firsts = first_name_variants(child.first)
        if not firsts:
            dropped["no_usable_first_name"] += 1
            continue
        middle = _clean(_upper(child.middle)) or None
        for last in last_name_variants(child.last):
            for first in firsts:
                rows.append(
                    {
                        "Person_ID": child.person_id,
                        "Name": f"{last},{first}"[:NAME_WIDTH],
                        "Date_of_Birth": child.birth,
                        "Sex": sex_code(child.gender),
                        "Last_Name": last,
                        "First_Name": first,
                        "Middle_Name": middle,
                        "Entered_Care": child.entered,
                        "Exited_Care": child.exited,
                    }
                )
    return Prepared(rows=_unique_rows(rows), dropped=dropped)


def _unique_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, unique = set(), []
    for row in rows:
        key = (row["Person_ID"], row["Name"], row["Date_of_Birth"], row["Entered_Care"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def fixed_width_line(row: dict[str, Any]) -> str:
    """``Name`` left-justified to 30, ``YYYY-MM-DD``, one-letter sex: 41 characters."""
    return f"{row['Name']:<{NAME_WIDTH}.{NAME_WIDTH}}{row['Date_of_Birth'].isoformat()}{row['Sex']}"


def validate_lines(lines: list[str], file_name: str) -> None:
    """Every line exactly 41 characters of the expected shape; the error names file and line, never the data."""
    for number, line in enumerate(lines, start=1):
        if len(line) != LINE_WIDTH:
            raise InvalidLineError(f"{file_name} line {number}: {len(line)} characters, expected {LINE_WIDTH}")
        if not _LINE.match(line):
            field = "name" if not re.match(r"^[A-Z0-9, ]{30}", line) else "date of birth or sex"
            raise InvalidLineError(f"{file_name} line {number}: field {field} is not in the expected form")
    if not lines:
        raise InvalidLineError(f"{file_name}: no lines; nothing to send")
