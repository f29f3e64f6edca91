"""eCapris subproject statuses, from Oracle rows to Moped payloads: pure functions.

A row of ``ATD_SUB_PROJECT_STATUS_VW`` (keys as the query selects them, upper
case) becomes one ``ecapris_subproject_statuses_insert_input`` object, or a
``Reject`` naming the status, the field and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

CENTRAL = ZoneInfo("America/Chicago")
REVIEW_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# Moped field <- Oracle column, as the reference's payload maps them.
COLUMN_MAP = {
    "subproject_status_id": "SUB_PROJECT_STATUS_ID",
    "subproject_name": "SP_NAME",
    "ecapris_subproject_id": "SP_NUMBER",
    "current_status_fl": "CURR_STATUS_FL",
    "sub_project_status_desc": "SUB_PROJECT_STATUS_DESC",
    "review_timestamp": "STATUS_REVIEW_DATE",
    "subproject_status_impacts": "SUB_PROJECT_STATUS_IMPACTS",
    "summary_description": "SUMM_DESC",
    "reviewed_by_name": "REVIEWED_BY",
    "reviewed_by_email": "REVIEWED_BY_EMAIL",
}
# The mutation's on_conflict update list: subproject_name and review_timestamp keep
# their first-insert values, as in the original.
UPDATE_COLUMNS = (
    "ecapris_subproject_id",
    "current_status_fl",
    "sub_project_status_desc",
    "subproject_status_impacts",
    "summary_description",
    "reviewed_by_name",
    "reviewed_by_email",
)
# The columns issue #23912 found double-encoded.
REPAIRED_TEXT_COLUMNS = (
    "subproject_name",
    "sub_project_status_desc",
    "subproject_status_impacts",
    "summary_description",
)
REQUIRED = ("subproject_status_id", "ecapris_subproject_id", "subproject_name", "review_timestamp", "reviewed_by_name")
SOURCE_VIEW = "ATD_SUB_PROJECT_STATUS_VW"
# Moped's subproject_status_id is a Postgres INTEGER; Oracle's NUMBER holds more. One id out of
# range would fail the whole mutation it travels in.
MOPED_INTEGER_RANGE = (-(2**31), 2**31 - 1)

# Byte-level repairs from the reference's mojibake branch: curly quotes that went
# through Oracle's charset conversion (their last byte lost to 0xBF, '¿') and then
# got UTF-8-encoded a second time.
_BYTE_REPAIRS = (
    (bytes.fromhex("C3A2C2BFC2BF"), bytes.fromhex("E2809C")),  # â¿¿ -> “
    (bytes.fromhex("C3A2C2BFC29D"), bytes.fromhex("E2809D")),  # â¿\x9d -> ”
    (bytes.fromhex("E2BFBF"), bytes.fromhex("E2809C")),  # U+2FFF -> “
    (bytes.fromhex("E2BF9D"), bytes.fromhex("E2809D")),  # U+2FDD -> ”
)
# After the encoding is fixed, an inverted question mark standing where no Spanish
# question can start is a character Oracle could not convert: inside a word it was an
# apostrophe (FDU¿s), between spaces a dash (a ¿ b).
_LOST_APOSTROPHE = re.compile(r"(?<=\w)¿(?=\w)")
_LOST_DASH = re.compile(r"(?<= )¿(?= )")
_FLAG_VALUES = {
    "Y": True,
    "YES": True,
    "T": True,
    "TRUE": True,
    "1": True,
    "N": False,
    "NO": False,
    "F": False,
    "FALSE": False,
    "0": False,
}


class InvalidRowError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Reject:
    subproject_status_id: Any
    ecapris_subproject_id: Any
    field: str
    reason: str
    row: dict[str, Any]

    def describe(self) -> str:
        return (
            f"{SOURCE_VIEW} row status {self.subproject_status_id} of subproject {self.ecapris_subproject_id}: "
            f"field {self.field}: {self.reason}"
        )


def _apply_byte_repairs(text: str) -> str:
    raw = text.encode("utf-8", errors="surrogatepass")
    for broken, fixed in _BYTE_REPAIRS:
        raw = raw.replace(broken, fixed)
    return raw.decode("utf-8", errors="surrogatepass")


def repair_mojibake(text: str | None) -> str | None:
    """Undo double-encoded UTF-8 (the reference's byte patterns and the general case)."""
    if text is None:
        return None
    import ftfy

    repaired = _apply_byte_repairs(text)
    repaired = ftfy.fix_encoding(repaired)
    # ftfy may turn â¿¿ into U+2FFF, which the byte repairs know.
    repaired = _apply_byte_repairs(repaired)
    repaired = _LOST_APOSTROPHE.sub("\u2019", repaired)
    return _LOST_DASH.sub("\u2014", repaired)


def review_timestamp_iso(value: Any) -> str:
    """A naive Central wall time (``YYYY-MM-DD HH24:MI:SS``) as ISO 8601 with its offset.

    At the autumn change an hour repeats: the earlier (daylight) one is taken. In the
    spring gap a wall time does not exist: it is read with the offset before the
    change and written as the real wall time it stands for (02:30 -> 03:30 CDT).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRowError("review_timestamp", "missing (STATUS_REVIEW_DATE is null)")
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
    else:
        try:
            naive = datetime.strptime(str(value).strip(), REVIEW_DATE_FORMAT)
        except ValueError:
            raise InvalidRowError("review_timestamp", f"not a {REVIEW_DATE_FORMAT} time: {value!r}") from None
    # fold=0: the first of a repeated hour; the round trip through UTC normalises a gap time.
    instant = naive.replace(tzinfo=CENTRAL, fold=0).astimezone(UTC)
    return instant.astimezone(CENTRAL).isoformat()


def parse_flag(value: Any) -> bool:
    """CURR_STATUS_FL as a boolean Hasura accepts (Y/N, 1/0, T/F, true/false)."""
    if isinstance(value, bool):
        return value
    if value is None:
        raise InvalidRowError("current_status_fl", "missing (CURR_STATUS_FL is null)")
    if isinstance(value, int | Decimal | float) and value in (0, 1):
        return bool(value)
    key = str(value).strip().upper()
    if key not in _FLAG_VALUES:
        raise InvalidRowError("current_status_fl", f"not a yes/no flag: {value!r}")
    return _FLAG_VALUES[key]


def _text(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    # Oracle's VARCHAR2 may hold a NUL; Postgres text cannot, so Hasura would fail the batch.
    if "\x00" in text:
        raise InvalidRowError(field_name, f"holds a NUL character at offset {text.index(chr(0))}")
    return text or None


def to_status(row: dict[str, Any]) -> dict[str, Any]:
    """One view row as a Moped status object; raises ``InvalidRowError`` naming the field."""
    status: dict[str, Any] = {}
    for target, column in COLUMN_MAP.items():
        value = row.get(column)
        if target == "subproject_status_id":
            status[target] = _status_id(value)
        elif target == "current_status_fl":
            status[target] = parse_flag(value)
        elif target == "review_timestamp":
            status[target] = review_timestamp_iso(value)
        elif target in REPAIRED_TEXT_COLUMNS:
            status[target] = repair_mojibake(_text(value, target))
        else:
            status[target] = _text(value, target)
    for name in REQUIRED:
        if status[name] is None:
            raise InvalidRowError(name, f"missing ({COLUMN_MAP[name]} is null or blank)")
    return status


def _status_id(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRowError("subproject_status_id", f"not an integer: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise InvalidRowError("subproject_status_id", f"not an integer: {value!r}")
    low, high = MOPED_INTEGER_RANGE
    if not low <= number <= high:
        raise InvalidRowError("subproject_status_id", f"{value} is out of range for Moped's integer column")
    return int(number)


@dataclass
class Transformed:
    statuses: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def transform_rows(rows: Iterable[dict[str, Any]]) -> Transformed:
    """Statuses to send and rows rejected; a status id seen twice keeps its first row."""
    result = Transformed()
    seen: set[int] = set()
    for row in rows:
        try:
            status = to_status(row)
        except InvalidRowError as err:
            result.rejects.append(_reject(row, err.field, err.reason))
            continue
        if status["subproject_status_id"] in seen:
            result.rejects.append(_reject(row, "subproject_status_id", "duplicate in the view; the first row is kept"))
            continue
        seen.add(status["subproject_status_id"])
        result.statuses.append(status)
    return result


def _reject(row: dict[str, Any], field_name: str, reason: str) -> Reject:
    plain = {k: v if v is None or isinstance(v, int | str) else str(v) for k, v in row.items()}
    return Reject(row.get("SUB_PROJECT_STATUS_ID"), row.get("SP_NUMBER"), field_name, reason, plain)


def subproject_number(moped_id: str) -> Decimal:
    """A Moped ``ecapris_subproject_id`` (text) as the NUMBER(18,3) Oracle compares with."""
    try:
        number = Decimal(moped_id.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not an eCapris subproject number: {moped_id!r}") from None
    if not number.is_finite() or number != number.quantize(Decimal("0.001")) or abs(number) >= Decimal(10) ** 15:
        raise ValueError(f"not an eCapris subproject number (NUMBER(18,3)): {moped_id!r}")
    return number


@dataclass
class ChangePlan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    # {subproject_status_id, subproject_name}: names stored garbled, to set to their repair.
    name_repairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def objects(self) -> list[dict[str, Any]]:
        return self.inserts + self.updates


def plan_changes(statuses: Iterable[dict[str, Any]], existing: dict[int, dict[str, Any]]) -> ChangePlan:
    """New statuses and those whose updatable columns differ; the rest would only bump updated_at.

    ``subproject_name`` keeps its first-insert value, as the original's upsert, except
    where Moped holds a garbled copy of the same name (stored before the mojibake repair):
    that name is repaired, as Moped's own backfill did, and nothing else of the row changes.
    """
    plan = ChangePlan()
    for status in statuses:
        current = existing.get(status["subproject_status_id"])
        if current is None:
            plan.inserts.append(status)
            continue
        if any(status[column] != current.get(column) for column in UPDATE_COLUMNS):
            plan.updates.append(status)
        else:
            plan.unchanged += 1
        if is_garbled_copy(current.get("subproject_name"), status["subproject_name"]):
            plan.name_repairs.append(
                {"subproject_status_id": status["subproject_status_id"], "subproject_name": status["subproject_name"]}
            )
    return plan


def is_garbled_copy(stored: str | None, repaired: str | None) -> bool:
    """Whether ``stored`` is ``repaired`` with mojibake (a renamed subproject is not)."""
    return stored is not None and stored != repaired and repair_mojibake(stored) == repaired
