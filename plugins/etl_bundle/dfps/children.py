"""Children in care → the reference rows and the fixed-width lines DPS matches on. Pure.

The original's rules, in its order (reference §2.3): rows without birth or care-entry
date, or with a blank first or last name, dropped; names transliterated to ASCII
(Unidecode, as the original); one record per person and care entry (the earliest exit
kept); names upper-cased. Last names: the whole name kept and its hyphen parts (two)
added, hyphens removed; then its space parts (five) added except the particles,
spaces removed; anything but letters and digits removed. First names: hyphen parts
(two), apostrophe parts (two), space parts (three) added, each delimiter removed;
other punctuation kept; names of two characters or fewer and the literal NAN
dropped. Every last × first variant is a row. No name or birth date is ever put in
an error message: records are named by person id and row number.

No child is lost silently: every source row is sent, merged into another record of
its care entry, or dropped with a reason; each drop is counted and told (source
row, person id and field, never the value). Beyond the original's rules, a last
name with nothing left after the name rules (only non-Latin signs, say) and a birth
date after the care entry or before 1900 are dropped and counted, and control
characters (a NUL, a tab, a line break) are removed from names and told.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from unidecode import unidecode

# Left out of a last name's space parts only (never its hyphen parts).
EXCLUDED_PARTICLES = frozenset({"LA", "MC", "DE", "ST", "ST.", "DEL", "JR", "JR.", "A", "O"})
NAME_WIDTH = 30
LINE_WIDTH = 41  # name 30 + YYYY-MM-DD 10 + sex 1
SEX_CODES = {"MALE": "M", "FEMALE": "F"}
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
# A NUL, tab or line break in a name would break the fixed-width line (or be lost by a reader).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EARLIEST_BIRTH = date(1900, 1, 1)  # before it a birth date is a placeholder, not a child's
DROP_REASONS = (
    "no_birth_or_entry_date",
    "implausible_birth_date",
    "blank_first_or_last_name",
    "no_usable_last_name",
    "no_usable_first_name",
)
PROBLEMS_KEPT = 50  # problems listed in the summary; all of them are counted and logged
# First names keep punctuation other than - ' and space, so the name field is any printable ASCII.
_LINE = re.compile(r"^[\x20-\x7e]{30}\d{4}-\d{2}-\d{2}[MFU]$")
_NAME_FIELD = re.compile(r"^[\x20-\x7e]{30}")


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
    row: int | None = None  # the source row's number, to tell a problem without the data


@dataclass
class Prepared:
    rows: list[dict[str, Any]]
    dropped: dict[str, int]
    # One line per dropped row or repaired name: source row, person id, field, what was done.
    problems: list[str] = field(default_factory=list)
    merged: int = 0  # further records of a care entry (the earliest exit kept), as the original

    @property
    def persons(self) -> int:
        return len({row["Person_ID"] for row in self.rows})

    @property
    def records(self) -> int:
        """Care records sent: one per person and care entry."""
        return len({(row["Person_ID"], row["Entered_Care"]) for row in self.rows})


def as_date(value: Any) -> date | None:
    """A date from an Oracle DATE (a datetime), the stand-in's date, or an openpyxl cell (a datetime)."""
    return value.date() if isinstance(value, datetime) else value


def transliterate(text: str) -> str:
    """ASCII spelling of a name: ``Đặng`` → ``Dang``, ``Østergaard`` → ``Ostergaard``."""
    return unidecode(text)


def _upper(text: str | None) -> str:
    return _CONTROL.sub("", transliterate(text or "")).upper()


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)


def _add_parts(names: list[str], delimiter: str, max_parts: int, excluded: frozenset[str] = frozenset()) -> list[str]:
    """Each name followed by its parts (at most ``max_parts``, the rest left in the last one),
    parts in ``excluded`` not added; then the delimiter removed from every name."""
    expanded = []
    for name in names:
        expanded.append(name)
        parts = name.split(delimiter, max_parts - 1)
        if len(parts) > 1:
            expanded.extend(part for part in parts if part not in excluded)
    return [name.replace(delimiter, "") for name in expanded]


def last_name_variants(last: str | None) -> list[str]:
    """The whole last name, then its hyphen parts, then every name's space parts without the particles."""
    names = _add_parts([_upper(last)], "-", 2)
    names = _add_parts(names, " ", 5, EXCLUDED_PARTICLES)
    return _unique(_NON_ALNUM.sub("", name) for name in names)


def first_name_variants(first: str | None) -> list[str]:
    """The whole first name, then its parts split on hyphens, apostrophes and spaces; punctuation kept."""
    names = _add_parts([_upper(first)], "-", 2)
    names = _add_parts(names, "'", 2)
    names = _add_parts(names, " ", 3)
    return [name for name in _unique(names) if len(name) > 2 and name != "NAN"]


def sex_code(gender: str | None) -> str:
    """Male → M, Female → F, anything else U, as the original."""
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


def _where(child: Child, column: str) -> str:
    return f"row {child.row} (person {child.person_id}): field {column}"


def _without_control_characters(child: Child, problems: list[str]) -> Child:
    """The child's names without control characters, each repair told."""
    cleaned = {}
    for attribute, column in (("first", "NM_PERSON_FIRST"), ("middle", "NM_PERSON_MIDDLE"), ("last", "NM_PERSON_LAST")):
        value = getattr(child, attribute)
        if value and _CONTROL.search(value):
            cleaned[attribute] = _CONTROL.sub("", value)
            problems.append(f"{_where(child, column)} holds control characters: removed")
    return replace(child, **cleaned) if cleaned else child


def _drop_reason(child: Child) -> tuple[str, str, str] | None:
    """(reason, column, what is wrong) for a row the rules drop before the name variants, or None."""
    for column, value in (("DT_CHILD_BIRTH", child.birth), ("DT_ENTER_CARE", child.entered)):
        if value is None:
            return "no_birth_or_entry_date", column, "is empty"
    if child.birth > child.entered:
        return "implausible_birth_date", "DT_CHILD_BIRTH", "is after DT_ENTER_CARE"
    if child.birth < EARLIEST_BIRTH:
        return "implausible_birth_date", "DT_CHILD_BIRTH", f"is before {EARLIEST_BIRTH.year}"
    for column, value in (("NM_PERSON_FIRST", child.first), ("NM_PERSON_LAST", child.last)):
        if not (value or "").strip():
            return "blank_first_or_last_name", column, "is blank"
    return None


def prepare(children: Iterable[Child]) -> Prepared:
    """Reference rows, one per name variant; every row not sent is merged or dropped, counted and told."""
    dropped = dict.fromkeys(DROP_REASONS, 0)
    problems: list[str] = []

    def drop(child: Child, reason: str, column: str, what: str) -> None:
        dropped[reason] += 1
        problems.append(f"{_where(child, column)} {what}: dropped ({reason})")

    usable, read = [], 0
    for child in children:
        read += 1
        child = _without_control_characters(child, problems)
        reason = _drop_reason(child)
        if reason:
            drop(child, *reason)
        else:
            usable.append(child)
    records = earliest_exit_per_entry(usable)
    rows = []
    for child in sorted(records, key=lambda c: (c.person_id, c.entered)):
        lasts = last_name_variants(child.last)
        if not lasts:
            drop(child, "no_usable_last_name", "NM_PERSON_LAST", "has no letter or digit left after the name rules")
            continue
        firsts = first_name_variants(child.first)
        if not firsts:
            drop(child, "no_usable_first_name", "NM_PERSON_FIRST", "has no name of three characters left")
            continue
        middle = _NON_ALNUM.sub("", _upper(child.middle)) or None
        for last in lasts:
            for first in firsts:
                rows.append(
                    {
                        "Person_ID": str(child.person_id),  # text in the workbook, as the original
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
    merged = len(usable) - len(records)
    sent = len({(row["Person_ID"], row["Entered_Care"]) for row in rows})
    # Every row read is accounted for; a rule that loses one silently is a bug to stop on.
    if sent + merged + sum(dropped.values()) != read:
        raise AssertionError(f"{read} rows read, but {sent} sent, {merged} merged and {dropped} dropped")
    return Prepared(rows=_unique_rows(rows), dropped=dropped, problems=problems, merged=merged)


def _unique_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exact duplicate rows dropped, first kept (as the original's drop_duplicates)."""
    seen, unique = set(), []
    for row in rows:
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def fixed_width_line(row: dict[str, Any]) -> str:
    """``Name`` left-justified to 30, ``YYYY-MM-DD``, one-letter sex: 41 characters."""
    return f"{row['Name']:<{NAME_WIDTH}.{NAME_WIDTH}}{row['Date_of_Birth'].isoformat()}{row['Sex']}"


def fixed_width_lines(rows: Iterable[dict[str, Any]]) -> list[str]:
    """One line per (Name, date of birth, sex), in the rows' order: a child with two care
    entries, or two variants truncated alike, gives one line, as the original."""
    return _unique(fixed_width_line(row) for row in rows)


def validate_lines(lines: list[str], file_name: str) -> None:
    """Every line exactly 41 characters of the expected shape; the error names file and line, never the data."""
    for number, line in enumerate(lines, start=1):
        if len(line) != LINE_WIDTH:
            raise InvalidLineError(f"{file_name} line {number}: {len(line)} characters, expected {LINE_WIDTH}")
        if not _LINE.match(line):
            field = "name" if not _NAME_FIELD.match(line) else "date of birth or sex"
            raise InvalidLineError(f"{file_name} line {number}: field {field} is not in the expected form")
    if not lines:
        raise InvalidLineError(f"{file_name}: no lines; nothing to send")
