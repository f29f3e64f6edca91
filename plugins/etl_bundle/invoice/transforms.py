"""Builders of the invoice demand pipeline: one DynamoDB item in, one raw.* row out.

Pure functions, no Airflow. Nested values may arrive as plain maps, JSON strings
or DynamoDB-typed values ({"S": ..}, {"N": ..}, {"M": ..}, {"L": ..}); numbers are
Decimals and stay exact. A bad item raises RejectedItemError naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_TEXT_LENGTH = 10_000  # an attribute longer than this is quarantined, not loaded

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


def _decoded(value: Any, field: str) -> Any:
    """A JSON string decoded (numbers as Decimal), then any DynamoDB typing removed."""
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_float=Decimal)
        except ValueError as err:
            raise RejectedItemError(field, f"malformed JSON string ({err.msg} at char {err.pos})") from None
    return unwrap(value)


def as_map(value: Any, field: str) -> dict[str, Any] | None:
    """A nested object given as a map, a JSON string or a typed {"M": ..}; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    value = _decoded(value, field)
    if not isinstance(value, dict):
        raise RejectedItemError(field, f"expected a map, got {type(value).__name__}")
    return value


def as_list(value: Any, field: str) -> list[Any] | None:
    """A list given as a list, a JSON string or a typed {"L": ..}; None when absent."""
    if value is None:
        return None
    value = _decoded(value, field)
    if not isinstance(value, list):
        raise RejectedItemError(field, f"expected a list, got {type(value).__name__}")
    return value


def as_text(value: Any, field: str, *, required: bool = False) -> str | None:
    value = unwrap(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RejectedItemError(field, "required, missing")
        return None
    if isinstance(value, Decimal):
        value = format(value, "f")
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RejectedItemError(field, f"expected text, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise RejectedItemError(field, f"oversized: {len(text)} characters (limit {MAX_TEXT_LENGTH})")
    return text


def as_int(value: Any, field: str, *, required: bool = False) -> int | None:
    """An exact integer; a fractional or non-numeric value is rejected, not rounded."""
    value = unwrap(value)
    if value is None or value == "":
        if required:
            raise RejectedItemError(field, "required, missing")
        return None
    if isinstance(value, bool):
        raise RejectedItemError(field, "expected an integer, got a boolean")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RejectedItemError(field, f"expected an integer, got {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise RejectedItemError(field, f"expected an integer, got {value!r}")
    return int(number)


def as_epoch_seconds(value: Any, field: str) -> int | None:
    """Unix seconds from a number or numeric string (fractions truncated, as the original's int(float()))."""
    value = unwrap(value)
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise RejectedItemError(field, f"expected epoch seconds, got {value!r}") from None


def as_bool(value: Any, field: str) -> bool | None:
    value = unwrap(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, Decimal) and value in (0, 1):
        return bool(value)
    raise RejectedItemError(field, f"expected a boolean, got {value!r}")


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
        json_text(config_map) if config_map is not None else None,
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
    key_attribute: str
    parallel: bool
    filter_action: str | None = None
    projection: tuple[str, ...] | None = None
    copy_types: tuple[str, ...] | None = None  # binary COPY when set (not for JSONB given as text)

    def dynamodb_table(self, source_env: str) -> str:
        return f"exchange-{source_env}{self.dynamodb_suffix}"


SOURCES = (
    SourceTable(
        "cases",
        "-documents",
        CASE_COLUMNS,
        build_case,
        "documentId",
        parallel=True,
        copy_types=("text", "text", "int4", *["text"] * 8, "text[]", *["text"] * 5),
    ),
    SourceTable(
        "metadata",
        "-documents-metadata",
        METADATA_COLUMNS,
        build_metadata,
        "documentId",
        parallel=False,
        copy_types=("text", "text", "int8", "bool", "text", "text", "int8", "int8"),
    ),
    SourceTable("templates", "-templates", TEMPLATE_COLUMNS, build_template, "templateId", parallel=False),
    SourceTable(
        "audit",
        "-documents-audit",
        AUDIT_COLUMNS,
        build_audit,
        "auditRecordId",
        parallel=True,
        filter_action="DemandArchived",
        # The original's projection left out payload, so archive reason and comment were always NULL.
        projection=("auditRecordId", "createdTs", "documentId", "actionType", "payload"),
        copy_types=("text", "int8", "text", "text", "text", "text"),
    ),
)
SOURCES_BY_NAME = {source.name: source for source in SOURCES}


def item_key(item: dict[str, Any], source: SourceTable) -> str:
    try:
        return as_text(item.get(source.key_attribute), source.key_attribute) or "?"
    except RejectedItemError:
        return "?"


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
