"""Pure functions of the TEC pipeline: requests, file names, CSV parsing, change hashes.

No Airflow, no network, no database: everything here is tested on fixtures.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

GAS_DAY_TZ = ZoneInfo("America/Chicago")

# Sanitised Energy Transfer headers, in the file's order.
CAPACITY_COLUMNS = (
    "loc",
    "loc_zn",
    "loc_name",
    "loc_purp_desc",
    "loc_qti",
    "flow_ind",
    "dc",
    "opc",
    "tsq",
    "oac",
    "it",
    "auth_overrun_ind",
    "nom_cap_exceed_ind",
    "all_qty_avail",
    "qty_reason",
)
NUMERIC_COLUMNS = ("dc", "opc", "tsq", "oac")
REQUIRED_COLUMNS = ("loc", "loc_name")
NUMERIC_MAX_INTEGER_DIGITS, NUMERIC_MAX_SCALE = 131072, 16383  # Postgres numeric's limits
KEY_COLUMNS = ("loc", "loc_name", "measure_date", "cycle_id")
VALUE_COLUMNS = tuple(c for c in CAPACITY_COLUMNS if c not in KEY_COLUMNS)
# Column order of the rows handed to the loader (and of the staging COPY).
TARGET_COLUMNS = (*CAPACITY_COLUMNS, "measure_date", "cycle_id", "download_timestamp", "source_system", "row_hash")


class CapacityFileError(ValueError):
    """The file cannot be loaded at all (its columns are wrong); names the file and column."""


# ---------------------------------------------------------------- requests


def request_path(endpoint: dict[str, Any]) -> str:
    """``/ipost/TW/capacity/operationally-available``: routing path + asset id + endpoint."""
    return f"{endpoint['routing_path']}{endpoint['asset_id']}{endpoint['endpoint']}"


def request_params(endpoint: dict[str, Any], gas_day: date, cycle_code: int | None) -> dict[str, str]:
    """The query of the reference's URL shape; ``gasDay`` is MM/DD/YYYY (encoded as %2F on the wire)."""
    params = {
        "f": "csv",
        "extension": "csv",
        "asset": endpoint["asset_id"],
        "gasDay": gas_day.strftime("%m/%d/%Y"),
        "searchType": endpoint.get("search_type", "ALL"),
        "searchString": "",
        "locType": "ALL",
        "locZone": "ALL",
    }
    if cycle_code is not None:
        params["cycle"] = str(cycle_code)
    return params


# ---------------------------------------------------------------- file names


@dataclass(frozen=True)
class FilenameRules:
    cycle_patterns: tuple[tuple[re.Pattern[str], str], ...]
    date_patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FilenameRules:
        return cls(
            cycle_patterns=tuple(
                (re.compile(p["pattern"], re.IGNORECASE), p["cycle"]) for p in config["cycle_patterns"]
            ),
            date_patterns=tuple(re.compile(p) for p in config["date_patterns"]),
        )


def cycle_from_filename(filename: str, rules: FilenameRules) -> str | None:
    """The cycle a file name names (``data_intraday1_20250608.csv`` → ``Intraday 1``), or None."""
    for pattern, template in rules.cycle_patterns:
        match = pattern.search(filename)
        if match:
            return template.format(**match.groupdict())
    return None


def date_from_filename(filename: str, rules: FilenameRules) -> date | None:
    for pattern in rules.date_patterns:
        for match in pattern.finditer(filename):
            parts = match.groupdict()
            try:
                return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
            except ValueError:
                continue
    return None


def cycle_id(cycle_name: str) -> str:
    """``Intraday 1`` → ``Intraday_1``: the stored ``cycle_id``, as the original stored it
    (``Intraday_1..3``, ``Evening``, ``Timely``, ``Final``). The only place names become ids."""
    return cycle_name.replace(" ", "_")


_DISPOSITION_FILENAME = re.compile(r"""filename\*?\s*=\s*(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


def filename_from_disposition(header: str | None) -> str | None:
    if not header:
        return None
    match = _DISPOSITION_FILENAME.search(header)
    return match.group(1).strip() if match else None


@dataclass(frozen=True)
class Publication:
    published: bool
    reason: str
    filename: str | None = None
    found_cycle: str | None = None  # set when the file names another cycle than the one asked for


def check_publication(
    *,
    status: int,
    content_disposition: str | None,
    body_size: int,
    expected_cycle: str,
    gas_day: date,
    rules: FilenameRules,
    min_body_bytes: int,
) -> Publication:
    """Whether an answer is the published file of ``expected_cycle`` on ``gas_day``.

    A 200 alone proves nothing (Energy Transfer answers 200 with an HTML error page,
    or with another cycle's file): the CSV file name must name this cycle and date,
    and the body must be a real file.
    """
    if status != 200:
        return Publication(False, f"HTTP {status}")
    filename = filename_from_disposition(content_disposition)
    if filename is None or not filename.lower().endswith(".csv"):
        return Publication(False, "no CSV file name in Content-Disposition (not a published file)")
    found_cycle = cycle_from_filename(filename, rules)
    if found_cycle != expected_cycle:
        return Publication(
            False,
            f"file {filename} is for cycle {found_cycle!r}, not {expected_cycle!r}",
            filename,
            found_cycle=found_cycle or "unknown",
        )
    found_date = date_from_filename(filename, rules)
    if found_date != gas_day:
        return Publication(False, f"file {filename} is for {found_date}, not gas day {gas_day}", filename)
    if body_size < min_body_bytes:
        return Publication(False, f"file {filename} has {body_size} bytes (< {min_body_bytes})", filename)
    return Publication(True, "published", filename)


# ---------------------------------------------------------------- gas days


def gas_day_of_run(gas_day_param: str | None, interval_start: datetime | None, run_after: datetime) -> date:
    """The gas day a run loads: the ``gas_day`` Param, else its data interval's Central date,
    else (a manual run with no logical date) the Central date it was triggered for."""
    if gas_day_param:
        return date.fromisoformat(gas_day_param)
    moment = interval_start if interval_start is not None else run_after
    return moment.astimezone(GAS_DAY_TZ).date()


def gas_day_start(gas_day: date) -> datetime:
    return datetime(gas_day.year, gas_day.month, gas_day.day, tzinfo=GAS_DAY_TZ)


def publication_deadline(gas_day: date, hours_after_start: float) -> datetime:
    """When waiting for a cycle of ``gas_day`` stops: elapsed hours after the gas day's Central
    midnight (added in UTC: aware arithmetic in one zone would add wall-clock hours across DST)."""
    return gas_day_start(gas_day).astimezone(UTC) + timedelta(hours=hours_after_start)


# ---------------------------------------------------------------- CSV parsing


def sanitize_header(name: str) -> str:
    """As the original: lower case, spaces to ``_``, every other non-word character to ``_``."""
    return re.sub(r"[^\w]", "_", name.strip().lstrip("\ufeff").lower().replace(" ", "_"))


def parse_decimal(text: str | None) -> Decimal | None:
    """Exact decimal of a quantity; blank is NULL; thousands separators allowed."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a number: {_shown(text)}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {_shown(text)}")
    # Postgres numeric holds up to 131072 digits before the point and 16383 after.
    if value.adjusted() >= NUMERIC_MAX_INTEGER_DIGITS or -value.as_tuple().exponent > NUMERIC_MAX_SCALE:
        raise ValueError(f"out of range for a numeric column: {_shown(text)}")
    return value


def _shown(text: str) -> str:
    """A value as a reason quotes it: at most 40 characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def normalize_qty_reason(text: str | None) -> str | None:
    if text and "unavailable" in text.lower():
        return "Unavailable"
    return text


def row_hash(values: dict[str, Any]) -> str:
    """Hash of the value columns: equal hashes mean nothing changed (1.0 == 1.00)."""

    def canonical(value: Any) -> str:
        if value is None:
            return "\x00"
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return str(value)

    joined = "\x1f".join(canonical(values.get(column)) for column in VALUE_COLUMNS)
    return hashlib.sha256(joined.encode()).hexdigest()


@dataclass(frozen=True)
class Reject:
    line: int
    field: str | None
    reason: str
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    filename: str
    rows: list[tuple] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def parse_capacity_csv(
    text: str,
    *,
    filename: str,
    measure_date: date,
    cycle_name: str,
    downloaded_at: float,
    source_system: str,
) -> ParsedFile:
    """Rows ready for the loader (in TARGET_COLUMNS order) and the rows rejected, with reasons.

    A wrong set of columns fails the whole file (CapacityFileError naming the column);
    a bad row is rejected and counted, never silently dropped.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        raw_header = next(reader)
    except StopIteration:
        raise CapacityFileError(f"{filename}: empty file, no header") from None
    except csv.Error as err:
        raise _unreadable(err, text, filename, 1, None) from None
    header = [sanitize_header(h) for h in raw_header]
    for raw, name in zip(raw_header, header, strict=True):
        if name not in CAPACITY_COLUMNS:
            raise CapacityFileError(f"{filename} line 1 field {raw!r}: unknown column (sanitised {name!r})")
    missing = [c for c in CAPACITY_COLUMNS if c not in header]
    if missing:
        raise CapacityFileError(f"{filename} line 1 field {', '.join(missing)}: missing column(s)")
    if len(set(header)) != len(header):
        raise CapacityFileError(f"{filename} line 1: a column appears twice in the header {raw_header!r}")

    parsed = ParsedFile(filename=filename)
    stored_cycle = cycle_id(cycle_name)
    first_line_of_key: dict[tuple[str, str], int] = {}
    while True:
        first_line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            # The reader cannot tell where this record ends (an open quote swallows what
            # follows), so no row after it can be trusted: the file fails, naming the place.
            raise _unreadable(err, text, filename, first_line, header) from None
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raw = _storable(dict(zip(header, record, strict=False)))
            parsed.rejects.append(Reject(line, None, f"expected {len(header)} fields, found {len(record)}", raw))
            continue
        raw = _storable(dict(zip(header, record, strict=True)))
        nul_column = next((column for column, value in zip(header, record, strict=True) if "\x00" in value), None)
        if nul_column is not None:
            parsed.rejects.append(Reject(line, nul_column, "NUL byte in the value (a text column cannot hold it)", raw))
            continue
        reject = _validate_and_convert(raw, line)
        if isinstance(reject, Reject):
            parsed.rejects.append(reject)
            continue
        values = reject
        key = (values["loc"], values["loc_name"])
        if key in first_line_of_key:
            parsed.rejects.append(
                Reject(
                    line, "loc", f"duplicate key (loc, loc_name) {key!r}, first on line {first_line_of_key[key]}", raw
                )
            )
            continue
        first_line_of_key[key] = line
        values.update(
            measure_date=measure_date,
            cycle_id=stored_cycle,
            download_timestamp=downloaded_at,
            source_system=source_system,
        )
        values["row_hash"] = row_hash(values)
        parsed.rows.append(tuple(values[c] for c in TARGET_COLUMNS))
    return parsed


def _storable(raw: dict[str, str]) -> dict[str, str]:
    """A rejected row as the rejects table can keep it: JSONB holds no NUL character, so it is
    written as the four characters ``\\x00``."""
    return {column: value.replace("\x00", "\\x00") for column, value in raw.items()}


def _field_of_offset(record_text: str, offset: int, header: list[str] | None) -> str:
    """The column (by the header) that character ``offset`` of one CSV record falls in."""
    index, quoted = 0, False
    for char in record_text[:offset]:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            index += 1
    if header is None:
        return f"header column {index + 1}"
    return header[index] if index < len(header) else f"column {index + 1} (beyond the header)"


def _field_over_limit(record_text: str, header: list[str] | None) -> tuple[int, str]:
    """(line offset within the record, column) of the first field longer than csv's limit."""
    limit = csv.field_size_limit()
    length, quoted, line = 0, False, 0
    for offset, char in enumerate(record_text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            length = 0
            continue
        elif char == "\n":
            line += 1
            if not quoted:
                length = 0
                continue
        length += 1
        if length > limit:
            return line, _field_of_offset(record_text, offset, header)
    return 0, _field_of_offset(record_text, 0, header)


def _unreadable(err: csv.Error, text: str, filename: str, first_line: int, header) -> CapacityFileError:
    lines = text.split("\n")
    record_text = "\n".join(lines[first_line - 1 :])
    if "field larger than field limit" in str(err):
        extra_lines, column = _field_over_limit(record_text, header)
        return CapacityFileError(
            f"{filename} line {first_line + extra_lines} field {column}: value longer than "
            f"{csv.field_size_limit()} characters (an unclosed quote?); nothing after it can be read"
        )
    return CapacityFileError(f"{filename} line {first_line}: unreadable CSV ({err})")


def decode_capacity_file(body: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 for the whole file, the fallback Energy
    Transfer's exports may use. A byte neither decodes fails the file, naming its line and field:
    with the file's encoding unknown, none of its text can be trusted."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError as err:
        line_start = body.rfind(b"\n", 0, err.start) + 1
        line = body.count(b"\n", 0, err.start) + 1
        header_end = body.find(b"\n")
        header_text = body[: header_end if header_end >= 0 else len(body)].decode("latin-1")
        header = None if line == 1 else [sanitize_header(h) for h in next(csv.reader([header_text]), [])]
        record_text = body[line_start : err.start].decode("latin-1")
        column = _field_of_offset(record_text, len(record_text), header)
        raise CapacityFileError(
            f"{filename} line {line} field {column}: byte 0x{body[err.start]:02x} is neither UTF-8 nor "
            "Windows-1252 (the file's encoding is unknown); nothing loaded"
        ) from None


def _validate_and_convert(raw: dict[str, str], line: int) -> dict[str, Any] | Reject:
    values: dict[str, Any] = {k: (v.strip() or None) for k, v in raw.items()}
    for column in REQUIRED_COLUMNS:
        if values[column] is None:
            return Reject(line, column, f"{column} is required (part of the key)", raw)
    for column in NUMERIC_COLUMNS:
        try:
            number = parse_decimal(values[column])
        except ValueError as err:
            return Reject(line, column, str(err), raw)
        if number is not None and number < 0:
            return Reject(line, column, f"negative quantity {number} (table CHECK requires >= 0)", raw)
        values[column] = number
    values["qty_reason"] = normalize_qty_reason(values["qty_reason"])
    return values
