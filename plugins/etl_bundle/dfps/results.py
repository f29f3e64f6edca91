"""DPS's answer files, parsed. Pure.

The results file is colon-separated: the header has no trailing colon, every data row
ends with one. Cells are stripped; the four date columns become real dates, and a date
that cannot be read rejects its row with file, line and field (never silently nulled).
A wrong field count or an empty file is an error naming file and line. A status other
than DPS's four known codes is kept unchanged, as the original did (and warned about). The counts file
has no documented format: it is read tolerantly as ``label <sep> number`` lines and
only ever yields warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

RENAMES = {
    "CPS NAME": "CPS_NAME",
    "FULL NAME": "FULL_NAME",
    "CPS DOB": "CPS_DOB",
    "LAST CONT": "LAST_CONT",
    "ORI DESC": "ORI_DESC",
    "COUNTY NAME": "COUNTY_NAME",
    "ORI PHONE": "ORI_PHONE",
    "NIC #": "NIC",
    "LOCATE DTE": "LOCATE_DT",
    "CLR/CAN DTE": "CLR_CAN_DT",
}
REQUIRED = ("CPS_NAME", "CPS_DOB", "LAST_CONT", "STS")
DATE_COLUMNS = ("CPS_DOB", "LAST_CONT", "LOCATE_DT", "CLR_CAN_DT")
STATUSES = frozenset({"LOC", "ACTV", "CLRD", "CANC"})
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m/%d/%y", "%m-%d-%Y")
_COUNT_LINE = re.compile(r"^\s*(?P<label>[^:=,\t]*?[A-Za-z][^:=,\t]*?)\s*[:=,\t]\s*(?P<value>[\d,]+)\s*:?\s*$")


class ResultsFileError(ValueError):
    """The file cannot be read as DPS results: nothing from it is used."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    field: str
    reason: str


@dataclass
class ParsedResults:
    file_name: str
    rows: list[dict[str, Any]]
    rejects: list[RejectedRow] = field(default_factory=list)


def decode_results(data: bytes, file_name: str) -> str:
    """The file's text (UTF-8, a BOM allowed); a byte that is not UTF-8 is an error naming the line and
    the field it is in (from the header), never the bytes around it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        header = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip().removesuffix(":").split(":")
        position = data.count(b":", line_start, err.start)
        if line == 1:
            where = "the header"
        elif position < len(header):
            where = f"field {RENAMES.get(header[position].strip(), header[position].strip())}"
        else:
            where = f"field {position + 1} (beyond the header's {len(header)})"
        raise ResultsFileError(
            f"{file_name} line {line}, {where}: byte 0x{data[err.start]:02X} is not UTF-8 "
            "(was the file written in another encoding?)"
        ) from None


def parse_date(text: str) -> date | None:
    """A DPS date in any of the formats seen; ``None`` for an empty cell; ``ValueError`` otherwise."""
    text = text.strip()
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date in a known format ({', '.join(DATE_FORMATS)})")


def parse_results(text: str, file_name: str) -> ParsedResults:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ResultsFileError(f"{file_name}: empty results file (no header, no rows)")
    header = [RENAMES.get(name.strip(), name.strip()) for name in lines[0].rstrip().removesuffix(":").split(":")]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ResultsFileError(f"{file_name} line 1: header lacks {', '.join(missing)}")
    parsed = ParsedResults(file_name=file_name, rows=[])
    for number, line in enumerate(text.splitlines(), start=1):
        if number == 1 or not line.strip():
            continue
        body = line.rstrip()
        if not body.endswith(":"):
            raise ResultsFileError(
                f"{file_name} line {number}: a data row must end with ':' (is it still being written?)"
            )
        cells = [cell.strip() for cell in body[:-1].split(":")]
        if len(cells) != len(header):
            raise ResultsFileError(f"{file_name} line {number}: {len(cells)} fields, the header has {len(header)}")
        row: dict[str, Any] = dict(zip(header, cells, strict=True))
        reject = _check_row(row, number)
        if reject:
            parsed.rejects.append(reject)
        else:
            parsed.rows.append(row)
    return parsed


def _check_row(row: dict[str, Any], number: int) -> RejectedRow | None:
    for column in DATE_COLUMNS:
        if column not in row:
            continue
        try:
            row[column] = parse_date(row[column])
        except ValueError as err:
            return RejectedRow(number, column, str(err))
    for column in REQUIRED:
        if row.get(column) in (None, ""):
            return RejectedRow(number, column, "missing")
    row["CPS_NAME"] = row["CPS_NAME"].replace(" ", "").upper()
    return None


def unknown_statuses(results: ParsedResults) -> list[str]:
    """A warning per status code outside DPS's four, with how many rows carry it."""
    seen: dict[str, int] = {}
    for row in results.rows:
        if row["STS"] not in STATUSES:
            seen[row["STS"]] = seen.get(row["STS"], 0) + 1
    return [f"{n} rows with status {code!r}, not one of {sorted(STATUSES)}: kept unchanged" for code, n in seen.items()]


def parse_counts(text: str) -> dict[str, int]:
    """``label -> number`` for every line that reads as one; anything else is ignored."""
    counts = {}
    for line in text.splitlines():
        match = _COUNT_LINE.match(line)
        if match:
            counts[" ".join(match.group("label").split()).upper()] = int(match.group("value").replace(",", ""))
    return counts


def _totals(counts: dict[str, int]) -> dict[str, int]:
    return {label: value for label, value in counts.items() if re.search(r"TOTAL|RECORD|ROWS|RESULT", label)}


def counts_disagreement(counts_text: str, file_name: str, received: int, tolerance: int) -> str | None:
    """Why the results file (``received`` data rows) is not yet what the counts file announces, when a
    total there differs from it by more than ``tolerance`` rows; None when they agree or the counts
    file has no total to compare (reconcile then warns)."""
    for label, value in _totals(parse_counts(counts_text)).items():
        if abs(value - received) > tolerance:
            return (
                f"the counts file says {label} = {value} but {file_name} has {received} rows "
                f"(more than {tolerance} apart: truncated or still coming?)"
            )
    return None


def counts_warnings(counts_text: str | None, results: ParsedResults) -> list[str]:
    """What the summary email and the log say about the counts file; never an error."""
    if counts_text is None:
        return ["no counts file arrived: the results were reconciled without a cross-check"]
    counts = parse_counts(counts_text)
    if not counts:
        return ["the counts file could not be read (no 'label: number' line); it is archived as received"]
    received = len(results.rows) + len(results.rejects)
    totals = _totals(counts)
    if not totals:
        return [f"the counts file has no total to compare (labels: {', '.join(sorted(counts))})"]
    return [
        f"counts file says {label} = {value}, the results file has {received} rows"
        for label, value in totals.items()
        if value != received
    ]
