"""Builders of the invoice demand pipeline: one DynamoDB item in, one raw.* row out.

Pure functions, no Airflow. Nested values may arrive as plain maps, JSON strings
or DynamoDB-typed values ({"S": ..}, {"N": ..}, {"M": ..}, {"L": ..}); numbers are
Decimals and stay exact. A bad item raises RejectedItemError naming the field:
besides missing and mistyped values, what Postgres would refuse or silently
wrap (NUL bytes, unpaired surrogates, NaN/Infinity, integers beyond the
column's type, sets and binary values boto3 hands over, nesting deeper than
DynamoDB's own limit) is rejected here, so one bad item never fails the load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_TEXT_LENGTH = 10_000  # an attribute longer than this is quarantined, not loaded
# DynamoDB's own limit for nested attributes; a JSON string attribute is held to it too.
MAX_NESTING = 32
# Bits of the integer column types the load writes; the ranges follow from them.
INTEGER_BITS = {"int2": 16, "int4": 32, "int8": 64}

CASE_COLUMNS = (
    "documentId",
    "customerId",
    "version",
    "matterTechId",
    "matterName",
    "claimCoverage",
    "claimNumber",
    "lossState",
    "sendingFirm",
    "recipientCarrier",
    "assignedAttorney",
    "assignedCaseCollaborator",
    "assignedCaseManager",
    "clientId",
    "clientName",
    "matterId",
    "relatedInsuranceId",
)
METADATA_COLUMNS = (
    "documentType",
    "documentId",
    "receiptAckTimeStamp",
    "demandIsDeliverable",
    "demandTemplateId",
    "demandTemplatePinnedVersion",
    "demandUploadedTimeStamp",
    "demandArchivedTimeStamp",
)
TEMPLATE_COLUMNS = ("templateId", "templateName", "version", "defaultDemandConfig")
AUDIT_COLUMNS = ("auditRecordId", "createdTs", "documentId", "actionType", "lastArchiveReason", "lastArchiveComment")


class RejectedItemError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------- value shapes

_TYPED_TAGS = {"S", "N", "BOOL", "NULL", "M", "L", "SS", "NS"}


def unwrap(value: Any) -> Any:
    """A DynamoDB-typed value as plain Python (maps and lists recursively); other values as they are."""
    if isinstance(value, dict):
        if len(value) == 1:
            tag, inner = next(iter(value.items()))
            if tag in _TYPED_TAGS:
                if tag == "S":
                    return inner
                if tag == "N":
                    return Decimal(str(inner))
                if tag == "BOOL":
                    return bool(inner)
                if tag == "NULL":
                    return None
                if tag == "M":
                    return {k: unwrap(v) for k, v in inner.items()}
                if tag == "L":
                    return [unwrap(v) for v in inner]
                if tag == "SS":
                    return list(inner)
                return [Decimal(str(v)) for v in inner]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _kind(value: Any) -> str:
    """A value's type as a reader of the item would name it."""
    if isinstance(value, (set, frozenset)):
        return "a set (DynamoDB SS/NS/BS)"
    if isinstance(value, (bytes, bytearray)) or type(value).__name__ == "Binary":
        return "binary (DynamoDB B)"
    return type(value).__name__


def _depth(value: Any) -> int:
    """How deeply maps and lists nest in ``value`` (iterative: a hostile value cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, (list, tuple)):
            children = current
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _unwrapped(value: Any, field: str) -> Any:
    """:func:`unwrap`, with a malformed DynamoDB-typed value (``{"N": "x"}``, ``{"M": 5}``) rejected."""
    if _depth(value) > MAX_NESTING:
        raise RejectedItemError(field, f"nested deeper than {MAX_NESTING} levels")
    try:
        return unwrap(value)
    except (InvalidOperation, AttributeError, TypeError, ValueError):
        raise RejectedItemError(field, "malformed DynamoDB-typed value") from None


def _decoded(value: Any, field: str) -> Any:
    """A JSON string decoded (numbers as Decimal), then any DynamoDB typing removed."""
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_float=Decimal, parse_constant=_refuse_constant)
        except json.JSONDecodeError as err:
            raise RejectedItemError(field, f"malformed JSON string ({err.msg} at char {err.pos})") from None
        except ValueError as err:  # NaN, Infinity: Python's json reads them, JSON and jsonb do not
            raise RejectedItemError(field, f"malformed JSON string ({err})") from None
        except RecursionError:
            raise RejectedItemError(field, f"nested deeper than {MAX_NESTING} levels") from None
    return _unwrapped(value, field)


def as_map(value: Any, field: str) -> dict[str, Any] | None:
    """A nested object given as a map, a JSON string or a typed {"M": ..}; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    value = _decoded(value, field)
    if not isinstance(value, dict):
        raise RejectedItemError(field, f"expected a map, got {_kind(value)}")
    return value


def as_list(value: Any, field: str) -> list[Any] | None:
    """A list given as a list, a JSON string or a typed {"L": ..}; None when absent."""
    if value is None:
        return None
    value = _decoded(value, field)
    if not isinstance(value, list):
        raise RejectedItemError(field, f"expected a list, got {_kind(value)}")
    return value


def checked_text(text: str, field: str) -> str:
    """``text`` if Postgres can store it: no NUL byte (text refuses \\x00), no unpaired surrogate (not UTF-8)."""
    if "\x00" in text:
        raise RejectedItemError(field, "contains a NUL byte (\\x00), which Postgres text cannot hold")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise RejectedItemError(field, f"not valid Unicode (unpaired surrogate at char {err.start})") from None
    return text


def as_text(value: Any, field: str, *, required: bool = False) -> str | None:
    value = _unwrapped(value, field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RejectedItemError(field, "required, missing")
        return None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RejectedItemError(field, f"expected text, got the number {value}")
        value = format(value, "f")
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RejectedItemError(field, f"expected text, got {_kind(value)}")
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise RejectedItemError(field, f"oversized: {len(text)} characters (limit {MAX_TEXT_LENGTH})")
    return checked_text(text, field)


def as_int(value: Any, field: str, *, required: bool = False) -> int | None:
    """An exact integer; a fractional or non-numeric value is rejected, not rounded."""
    value = _unwrapped(value, field)
    if value is None or value == "":
        if required:
            raise RejectedItemError(field, "required, missing")
        return None
    if isinstance(value, bool):
        raise RejectedItemError(field, "expected an integer, got a boolean")
    if not isinstance(value, (str, int, Decimal)):
        raise RejectedItemError(field, f"expected an integer, got {_kind(value)}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RejectedItemError(field, "expected an integer, got text that is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RejectedItemError(field, f"expected an integer, got {number}")
    return int(number)


def as_epoch_seconds(value: Any, field: str) -> int | None:
    """Unix seconds from a number or numeric string (fractions truncated, as the original's int(float()))."""
    value = _unwrapped(value, field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise RejectedItemError(field, f"expected epoch seconds, got {_kind(value)}")
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError, OverflowError):  # not a number, NaN, Infinity
        raise RejectedItemError(field, "expected epoch seconds, got something that is not a finite number") from None


def as_bool(value: Any, field: str) -> bool | None:
    value = _unwrapped(value, field)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, Decimal) and value in (0, 1):
        return bool(value)
    raise RejectedItemError(field, f"expected a boolean, got {_kind(value)}")


def person_name(person: Any, field: str) -> str | None:
    person = as_map(person, field)
    if not person:
        return None
    parts = [
        as_text(person.get("firstName"), f"{field}.firstName"),
        as_text(person.get("lastName"), f"{field}.lastName"),
    ]
    name = " ".join(p.strip() for p in parts if p and p.strip())
    return name or None


def json_text(value: Any) -> str:
    """JSON for a JSONB column with Decimals written exactly (10 stays 10, 0.1 stays 0.1)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return json.dumps(value)


def json_document(value: Any, field: str) -> str:
    """:func:`json_text` of a value bound for a JSONB column, or RejectedItemError naming the element
    jsonb would refuse (sets, binary, NaN/Infinity, NUL bytes, unpaired surrogates)."""
    stack = [(value, field)]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict):
            for key, child in current.items():
                checked_text(str(key), f"{path}.{key}")
                stack.append((child, f"{path}.{key}"))
        elif isinstance(current, (list, tuple)):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(current))
        elif isinstance(current, str):
            checked_text(current, path)
        elif isinstance(current, Decimal):
            if not current.is_finite():
                raise RejectedItemError(path, f"{current} has no JSON form")
        elif current is not None and not isinstance(current, (bool, int)):
            raise RejectedItemError(path, f"{_kind(current)} has no JSON form")
    return json_text(value)


def check_integer_ranges(row: tuple, columns: tuple[str, ...], types: tuple[str, ...]) -> tuple:
    """``row`` unchanged, or RejectedItemError naming the first integer beyond its column's type.

    A binary COPY would wrap it silently (3,000,000,000 into int4 is -1,294,967,296).
    """
    for value, column, type_name in zip(row, columns, types, strict=True):
        bits = INTEGER_BITS.get(type_name)
        if bits and value is not None:
            low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            if not low <= value <= high:
                raise RejectedItemError(column, f"out of range for {type_name} ({low}..{high})")
    return row


# ---------------------------------------------------------------- builders


def build_case(item: dict[str, Any]) -> tuple:
    firm = as_map(item.get("sendingFirm"), "sendingFirm") or {}
    claim = as_map(item.get("claimInfo"), "claimInfo") or {}
    matter = as_map(item.get("caseManagementMetadata"), "caseManagementMetadata") or {}
    carrier = as_map(item.get("recipientCarrier"), "recipientCarrier") or {}
    firm_name = as_text(firm.get("firmName"), "sendingFirm.firmName")
    managers = as_list(firm.get("caseManagers"), "sendingFirm.caseManagers") or []
    names = (person_name(m, f"sendingFirm.caseManagers[{i}]") for i, m in enumerate(managers))
    collaborators = list(dict.fromkeys(n for n in names if n))  # {} when there are none, as the original
    row = {
        "documentId": as_text(item.get("documentId"), "documentId", required=True),
        "customerId": as_text(item.get("customerId"), "customerId", required=True),
        "version": as_int(item.get("version"), "version", required=True),
        "matterTechId": as_text(matter.get("matterTechId"), "caseManagementMetadata.matterTechId"),
        "matterName": as_text(matter.get("matterName"), "caseManagementMetadata.matterName"),
        "claimCoverage": as_text(claim.get("claimCoverage"), "claimInfo.claimCoverage"),
        "claimNumber": as_text(claim.get("claimNumber"), "claimInfo.claimNumber"),
        "lossState": as_text(claim.get("lossState"), "claimInfo.lossState"),
        "sendingFirm": firm_name.rstrip() if firm_name else None,
        "recipientCarrier": as_text(carrier.get("carrierCommonName"), "recipientCarrier.carrierCommonName"),
        "assignedAttorney": person_name(firm.get("attorney"), "sendingFirm.attorney"),
        "assignedCaseCollaborator": collaborators,
        "assignedCaseManager": person_name(firm.get("primaryContact"), "sendingFirm.primaryContact"),
        "clientId": as_text(matter.get("clientId"), "caseManagementMetadata.clientId"),
        "clientName": person_name(claim.get("claimant"), "claimInfo.claimant"),
        "matterId": as_text(matter.get("matterId"), "caseManagementMetadata.matterId"),
        "relatedInsuranceId": as_text(matter.get("relatedInsuranceId"), "caseManagementMetadata.relatedInsuranceId"),
    }
    return tuple(row[c] for c in CASE_COLUMNS)


STATUS_COLUMNS = {"DocumentReceived": "receiptAckTimeStamp", "DocumentArchived": "demandArchivedTimeStamp"}


def build_metadata(item: dict[str, Any]) -> tuple:
    row = {
        "documentType": as_text(item.get("documentType"), "documentType", required=True),
        "documentId": as_text(item.get("documentId"), "documentId", required=True),
        "receiptAckTimeStamp": None,
        "demandIsDeliverable": as_bool(item.get("demandIsDeliverable"), "demandIsDeliverable"),
        "demandTemplateId": as_text(item.get("demandTemplateId"), "demandTemplateId"),
        "demandTemplatePinnedVersion": as_text(item.get("demandTemplatePinnedVersion"), "demandTemplatePinnedVersion"),
        "demandUploadedTimeStamp": as_epoch_seconds(item.get("createdTs"), "createdTs"),
        "demandArchivedTimeStamp": None,
    }
    history = as_list(item.get("documentStatusHistory"), "documentStatusHistory") or []
    for i, entry in enumerate(history):  # in order: the last occurrence of a status wins
        entry = as_map(entry, f"documentStatusHistory[{i}]") or {}
        column = STATUS_COLUMNS.get(as_text(entry.get("documentStatus"), f"documentStatusHistory[{i}].documentStatus"))
        if column:
            row[column] = as_epoch_seconds(entry.get("timestamp"), f"documentStatusHistory[{i}].timestamp")
    return tuple(row[c] for c in METADATA_COLUMNS)


def build_template(item: dict[str, Any]) -> tuple:
    config = item.get("defaultDemandConfig")
    config_map = as_map(config, "defaultDemandConfig") if config is not None else None
    return (
        as_text(item.get("templateId"), "templateId", required=True),
        as_text(item.get("templateName"), "templateName", required=True),
        as_int(item.get("version"), "version", required=True),
        json_document(config_map, "defaultDemandConfig") if config_map is not None else None,
    )


def build_audit(item: dict[str, Any]) -> tuple:
    payload = as_map(item.get("payload"), "payload") or {}
    return (
        as_text(item.get("auditRecordId"), "auditRecordId", required=True),
        as_epoch_seconds(item.get("createdTs"), "createdTs"),
        as_text(item.get("documentId"), "documentId", required=True),
        as_text(item.get("actionType"), "actionType"),
        as_text(payload.get("archiveReason"), "payload.archiveReason"),
        as_text(payload.get("archiveComments"), "payload.archiveComments"),
    )


@dataclass(frozen=True)
class SourceTable:
    """One DynamoDB table and how it becomes one raw.* table."""

    name: str  # raw.<name>
    dynamodb_suffix: str  # exchange-{env}<suffix>
    columns: tuple[str, ...]
    build: Callable[[dict[str, Any]], tuple]
    key_attributes: tuple[str, ...]  # the DynamoDB table's key: hash, then range if any
    parallel: bool
    column_types: tuple[str, ...]  # the raw table's Postgres types, one per column
    filter_action: str | None = None
    projection: tuple[str, ...] | None = None
    binary_copy: bool = True  # not for JSONB given as text

    def dynamodb_table(self, source_env: str) -> str:
        return f"exchange-{source_env}{self.dynamodb_suffix}"

    @property
    def copy_types(self) -> tuple[str, ...] | None:
        return self.column_types if self.binary_copy else None

    def row(self, item: dict[str, Any]) -> tuple:
        """The item's row, every integer checked against its column's type."""
        return check_integer_ranges(self.build(item), self.columns, self.column_types)


SOURCES = (
    SourceTable(
        "cases",
        "-documents",
        CASE_COLUMNS,
        build_case,
        ("documentId", "version"),
        parallel=True,
        column_types=("text", "text", "int4", *["text"] * 8, "text[]", *["text"] * 5),
    ),
    SourceTable(
        "metadata",
        "-documents-metadata",
        METADATA_COLUMNS,
        build_metadata,
        ("documentId",),
        parallel=False,
        column_types=("text", "text", "int8", "bool", "text", "text", "int8", "int8"),
    ),
    SourceTable(
        "templates",
        "-templates",
        TEMPLATE_COLUMNS,
        build_template,
        ("templateId", "version"),
        parallel=False,
        column_types=("text", "text", "int4", "jsonb"),
        binary_copy=False,
    ),
    SourceTable(
        "audit",
        "-documents-audit",
        AUDIT_COLUMNS,
        build_audit,
        ("auditRecordId",),
        parallel=True,
        filter_action="DemandArchived",
        # The original's projection left out payload, so archive reason and comment were always NULL.
        projection=("auditRecordId", "createdTs", "documentId", "actionType", "payload"),
        column_types=("text", "int8", "text", "text", "text", "text"),
    ),
)
SOURCES_BY_NAME = {source.name: source for source in SOURCES}


def storable_text(text: str) -> str:
    """``text`` with what Postgres text refuses (NUL, unpaired surrogates) written as escapes."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _key_text(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray)) or type(value).__name__ == "Binary":
        return "0x" + bytes(getattr(value, "value", value)).hex()
    return storable_text(str(value))


def item_key(item: dict[str, Any], source: SourceTable) -> str:
    """The item's DynamoDB key as text, e.g. ``DOC-1 (version 2)``: what a quarantine row is unique by per run."""
    hash_key, *range_key = source.key_attributes
    text = _key_text(item.get(hash_key))
    for attribute in range_key:
        text += f" ({attribute} {_key_text(item.get(attribute))})"
    return text


# ---------------------------------------------------------------- run settings

# The original's deployment read SOURCE_ENV=demo; the invoice_source_env Variable says otherwise.
DEFAULT_SOURCE_ENV = "demo"
_SOURCE_ENV = re.compile(r"^[a-z0-9-]+$")


def resolve_source_env(param: str | None, variable: str | None) -> str:
    """The run's source_env: the Param on a manual run when given, else the Variable, else the default."""
    value = param if param not in (None, "") else variable if variable not in (None, "") else DEFAULT_SOURCE_ENV
    if not isinstance(value, str) or not _SOURCE_ENV.match(value):
        raise ValueError(f"source_env {value!r}: expected lower-case letters, digits and '-' (exchange-<env>-*)")
    return value


def checked_timezone(name: str) -> str:
    """An IANA time zone name (what analytics.demands_summary counts months in), or ValueError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"not a time zone: {name!r} (e.g. UTC, America/Chicago)") from None
    return name


TEMPLATE_EXCLUSION_REASONS = ("template_not_found", "client_template")


def template_exclusions(rows) -> dict[str, int]:
    """(reason, documents) rows of template_exclusions.sql as one count per reason and their total."""
    counts = dict.fromkeys(TEMPLATE_EXCLUSION_REASONS, 0)
    for reason, documents in rows:
        if reason not in counts:
            raise ValueError(f"unknown template exclusion reason {reason!r}")
        counts[reason] += documents
    return {**counts, "total": sum(counts.values())}
