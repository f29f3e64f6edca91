"""invoice_demand_refresh builders on fixtures covering the three nested-value shapes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from etl_bundle.invoice import transforms as t
from etl_bundle.invoice.extract import scan_request

FIRM = {
    "firmName": "Hale & Dorr LLP  ",
    "primaryContact": {"firstName": "Pat", "lastName": "Contact"},
    "attorney": {"firstName": "Sam", "lastName": "Counsel"},
    "caseManagers": [
        {"firstName": "Ann", "lastName": "Lee"},
        {"firstName": "Bo", "lastName": "Chan"},
        {"firstName": "Ann", "lastName": "Lee"},
        {"firstName": "", "lastName": ""},
    ],
}
CLAIM = {
    "claimCoverage": "Bodily Injury",
    "claimNumber": "CLM-1",
    "lossState": "TX",
    "claimant": {"firstName": "Chris", "lastName": "Client"},
}
MATTER = {
    "relatedInsuranceId": "INS-1",
    "clientId": "CL-1",
    "matterId": "M-1",
    "matterTechId": "MT-1",
    "matterName": "X",
}


def typed(value):
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [typed(v) for v in value]}
    if isinstance(value, Decimal):
        return {"N": str(value)}
    return {"S": value}


SHAPES = {"plain": lambda v: v, "json": json.dumps, "typed": typed}


def case_item(shape: str, **overrides):
    wrap = SHAPES[shape]
    item = {
        "documentId": "DOC-1",
        "customerId": "CUST-1",
        "version": Decimal(3),
        "sendingFirm": wrap(FIRM),
        "recipientCarrier": wrap({"carrierCommonName": "Travelers"}),
        "claimInfo": wrap(CLAIM),
        "caseManagementMetadata": wrap(MATTER),
    }
    item.update(overrides)
    return item


@pytest.mark.parametrize("shape", SHAPES)
def test_case_builder_reads_every_nested_shape_alike(shape):
    row = dict(zip(t.CASE_COLUMNS, t.build_case(case_item(shape)), strict=True))
    assert row == {
        "documentId": "DOC-1",
        "customerId": "CUST-1",
        "version": 3,
        "matterTechId": "MT-1",
        "matterName": "X",
        "claimCoverage": "Bodily Injury",
        "claimNumber": "CLM-1",
        "lossState": "TX",
        "sendingFirm": "Hale & Dorr LLP",
        "recipientCarrier": "Travelers",
        "assignedAttorney": "Sam Counsel",
        "assignedCaseCollaborator": ["Ann Lee", "Bo Chan"],
        "assignedCaseManager": "Pat Contact",
        "clientId": "CL-1",
        "clientName": "Chris Client",
        "matterId": "M-1",
        "relatedInsuranceId": "INS-1",
    }


def test_case_optional_fields_are_null_when_absent():
    row = dict(
        zip(t.CASE_COLUMNS, t.build_case({"documentId": "D", "customerId": "C", "version": Decimal(1)}), strict=True)
    )
    assert row["version"] == 1 and isinstance(row["version"], int)
    assert row["assignedCaseCollaborator"] == []  # {} when absent, as the original
    assert all(
        row[c] is None
        for c in t.CASE_COLUMNS
        if c not in ("documentId", "customerId", "version", "assignedCaseCollaborator")
    )


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"customerId": None}, "customerId", "required"),
        ({"documentId": "  "}, "documentId", "required"),
        ({"version": Decimal("2.5")}, "version", "integer"),
        ({"version": "v2"}, "version", "integer"),
        ({"customerId": {"id": "x"}}, "customerId", "expected text"),
        ({"claimInfo": "{not json"}, "claimInfo", "malformed JSON"),
        ({"claimInfo": ["a"]}, "claimInfo", "expected a map"),
        ({"claimInfo": {"claimNumber": "9" * 10_001}}, "claimInfo.claimNumber", "oversized"),
    ],
)
def test_bad_case_items_are_rejected_naming_the_field(overrides, field, reason):
    with pytest.raises(t.RejectedItemError) as raised:
        t.build_case(case_item("plain", **overrides))
    assert raised.value.field == field
    assert reason in raised.value.reason


def test_metadata_status_history_last_status_wins_in_every_shape():
    history = [
        {"documentStatus": "DocumentReceived", "timestamp": Decimal("1735689660.9")},
        {"documentStatus": "DocumentArchived", "timestamp": Decimal(1735776000)},
        {"documentStatus": "DocumentArchived", "timestamp": "1735779600"},
    ]
    for shaped in (history, json.dumps(history, default=str), typed(history)):
        item = {
            "documentId": "DOC-1",
            "documentType": "Demand",
            "demandIsDeliverable": True,
            "demandTemplateId": "TPL-1",
            "createdTs": Decimal(1735689600),
            "documentStatusHistory": shaped,
        }
        row = dict(zip(t.METADATA_COLUMNS, t.build_metadata(item), strict=True))
        assert row["receiptAckTimeStamp"] == 1735689660
        assert row["demandArchivedTimeStamp"] == 1735779600
        assert row["demandUploadedTimeStamp"] == 1735689600
        assert row["demandIsDeliverable"] is True
        assert row["demandTemplatePinnedVersion"] is None


def test_metadata_requires_its_not_null_columns():
    with pytest.raises(t.RejectedItemError, match="documentType"):
        t.build_metadata({"documentId": "D"})


def test_template_config_becomes_exact_json():
    config = {
        "dueDays": Decimal(30),
        "rate": Decimal("0.15"),
        "big": Decimal("12345678901234567890.5"),
        "l": [Decimal(1)],
    }
    row = t.build_template(
        {"templateId": "T", "templateName": "N", "version": Decimal(2), "defaultDemandConfig": config}
    )
    assert row[:3] == ("T", "N", 2)
    assert row[3] == '{"dueDays":30,"rate":0.15,"big":12345678901234567890.5,"l":[1]}'
    assert json.loads(row[3], parse_float=Decimal)["big"] == Decimal("12345678901234567890.5")


def test_template_config_from_typed_and_json_string_shapes():
    config = {"dueDays": Decimal(30)}
    for shaped in (typed(config), json.dumps({"dueDays": 30})):
        row = t.build_template(
            {"templateId": "T", "templateName": "N", "version": Decimal(1), "defaultDemandConfig": shaped}
        )
        assert row[3] == '{"dueDays":30}'


@pytest.mark.parametrize(
    "payload",
    [
        {"archiveReason": "Settled", "archiveComments": "Closed"},
        typed({"archiveReason": "Settled", "archiveComments": "Closed"}),
        {"archiveReason": {"S": "Settled"}, "archiveComments": {"S": "Closed"}},
        json.dumps({"archiveReason": "Settled", "archiveComments": "Closed"}),
    ],
)
def test_audit_reads_archive_reason_and_comment_from_the_payload(payload):
    item = {
        "auditRecordId": "A",
        "documentId": "D",
        "createdTs": Decimal(5),
        "actionType": "DemandArchived",
        "payload": payload,
    }
    assert t.build_audit(item) == ("A", 5, "D", "DemandArchived", "Settled", "Closed")


def test_audit_without_payload_has_null_reason():
    assert t.build_audit({"auditRecordId": "A", "documentId": "D"})[4:] == (None, None)


def test_unwrap_typed_values():
    assert t.unwrap({"M": {"a": {"N": "1.50"}, "b": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}}) == {
        "a": Decimal("1.50"),
        "b": ["x", True, None],
    }


def test_audit_scan_filters_archived_and_projects_the_payload():
    source = t.SOURCES_BY_NAME["audit"]
    request = scan_request(
        source.dynamodb_table("beta"),
        page_size=100,
        segment=1,
        total_segments=4,
        filter_action=source.filter_action,
        projection=source.projection,
    )
    assert request["TableName"] == "exchange-beta-documents-audit"
    assert (request["Segment"], request["TotalSegments"], request["Limit"]) == (1, 4, 100)
    assert request["ExpressionAttributeValues"] == {":action": "DemandArchived"}
    projected = {request["ExpressionAttributeNames"][p.strip()] for p in request["ProjectionExpression"].split(",")}
    assert "payload" in projected and "auditRecordId" in projected


def test_source_env_param_overrides_the_variable_which_overrides_the_default():
    assert t.resolve_source_env("prod", "beta") == "prod"
    assert t.resolve_source_env(None, "beta") == "beta"
    assert t.resolve_source_env("", None) == t.DEFAULT_SOURCE_ENV == "demo"
    with pytest.raises(ValueError, match="source_env"):
        t.resolve_source_env(None, "Beta; DROP")


def test_summary_timezone_must_be_a_real_zone():
    assert t.checked_timezone("America/Chicago") == "America/Chicago"
    assert t.checked_timezone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValueError, match="time zone"):
            t.checked_timezone(bad)


def test_template_exclusions_are_counted_per_reason_with_a_total():
    assert t.template_exclusions([]) == {"template_not_found": 0, "client_template": 0, "total": 0}
    assert t.template_exclusions([("client_template", 5), ("template_not_found", 2)]) == {
        "template_not_found": 2,
        "client_template": 5,
        "total": 7,
    }
    with pytest.raises(ValueError, match="unknown"):
        t.template_exclusions([("something_else", 1)])


# ---------------------------------------------------------------- hostile values (issue 15)


def _binary():
    from boto3.dynamodb.types import Binary

    return Binary(b"\x00\xffPDF")


def _nested(depth: int):
    value: object = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


TEMPLATE = {"templateId": "T", "templateName": "N", "version": Decimal(1)}
METADATA = {"documentId": "D", "documentType": "Demand"}
AUDIT = {"auditRecordId": "A", "documentId": "D"}

# (table, item, field, words of the reason): what boto3 hands over from moto or DynamoDB, and
# what Postgres would refuse (failing the whole load) or silently wrap.
HOSTILE = {
    "int4 overflow": ("cases", case_item("plain", version=Decimal(3_000_000_000)), "version", "out of range for int4"),
    "int4 underflow": ("templates", {**TEMPLATE, "version": Decimal(-(2**31) - 1)}, "version", "out of range"),
    "int8 overflow": ("metadata", {**METADATA, "createdTs": Decimal("1E+20")}, "demandUploadedTimeStamp", "int8"),
    "int8 in a JSON history": (
        "metadata",
        {**METADATA, "documentStatusHistory": '[{"documentStatus": "DocumentReceived", "timestamp": 1e30}]'},
        "receiptAckTimeStamp",
        "out of range for int8",
    ),
    "string set": ("cases", case_item("plain", customerId={"a", "b"}), "customerId", "a set"),
    "number set as a map": ("cases", case_item("plain", claimInfo={Decimal(1)}), "claimInfo", "a set"),
    "binary set in a template config": (
        "templates",
        {**TEMPLATE, "defaultDemandConfig": {"files": {b"a", b"b"}}},
        "defaultDemandConfig.files",
        "a set",
    ),
    "binary text": ("audit", {**AUDIT, "actionType": _binary()}, "actionType", "binary"),
    "binary version": ("cases", case_item("plain", version=_binary()), "version", "binary"),
    "binary in a template config": (
        "templates",
        {**TEMPLATE, "defaultDemandConfig": {"logo": _binary()}},
        "defaultDemandConfig.logo",
        "binary",
    ),
    "NaN in a JSON attribute": (
        "templates",
        {**TEMPLATE, "defaultDemandConfig": '{"rate": NaN}'},
        "defaultDemandConfig",
        "NaN",
    ),
    "Infinity in a JSON history": (
        "metadata",
        {**METADATA, "documentStatusHistory": '[{"documentStatus": "DocumentArchived", "timestamp": Infinity}]'},
        "documentStatusHistory",
        "Infinity",
    ),
    "NUL in text": ("cases", case_item("plain", customerId="CUST\x001"), "customerId", "NUL"),
    "NUL in a nested name": (
        "cases",
        case_item("plain", claimInfo={"claimant": {"firstName": "Chris\x00", "lastName": "X"}}),
        "claimInfo.claimant.firstName",
        "NUL",
    ),
    "NUL in a template config": (
        "templates",
        {**TEMPLATE, "defaultDemandConfig": {"note": "a\x00b"}},
        "defaultDemandConfig.note",
        "NUL",
    ),
    "unpaired surrogate from a JSON string": (
        "audit",
        {**AUDIT, "payload": '{"archiveReason": "\\ud800"}'},
        "payload.archiveReason",
        "surrogate",
    ),
    "nested deeper than DynamoDB allows (JSON string)": (
        "cases",
        case_item("plain", claimInfo="[" * 5000 + "]" * 5000),
        "claimInfo",
        "nested deeper",
    ),
    "nested deeper than DynamoDB allows (map)": (
        "templates",
        {**TEMPLATE, "defaultDemandConfig": _nested(40)},
        "defaultDemandConfig",
        "nested deeper",
    ),
    "malformed typed number": ("cases", case_item("plain", claimInfo='{"N": "twelve"}'), "claimInfo", "malformed"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_values_are_rejected_naming_the_field(case):
    table, item, field, reason = HOSTILE[case]
    with pytest.raises(t.RejectedItemError) as raised:
        t.SOURCES_BY_NAME[table].row(item)
    assert raised.value.field == field
    assert reason in raised.value.reason


def test_integer_ranges_follow_the_column_types_and_keep_the_edges():
    assert t.SOURCES_BY_NAME["cases"].row(case_item("plain", version=Decimal(2**31 - 1)))[2] == 2**31 - 1
    edge = t.SOURCES_BY_NAME["metadata"].row({**METADATA, "createdTs": Decimal(-(2**63))})
    assert edge[6] == -(2**63)
    assert t.check_integer_ranges((2**15,), ("n",), ("int4",)) == (2**15,)
    with pytest.raises(t.RejectedItemError, match=r"int2 \(-32768\.\.32767\)"):
        t.check_integer_ranges((2**15,), ("n",), ("int2",))
    # every integer column is checked: none is declared without its type
    for source in t.SOURCES:
        assert len(source.column_types) == len(source.columns), source.name


def test_nesting_at_dynamodb_limit_is_kept():
    row = t.SOURCES_BY_NAME["templates"].row({**TEMPLATE, "defaultDemandConfig": _nested(t.MAX_NESTING)})
    assert row[3].count("{") == t.MAX_NESTING


def test_item_keys_name_the_whole_dynamodb_key_printably():
    cases, audit = t.SOURCES_BY_NAME["cases"], t.SOURCES_BY_NAME["audit"]
    assert t.item_key({"documentId": "DOC-1", "version": Decimal(2)}, cases) == "DOC-1 (version 2)"
    assert t.item_key({"auditRecordId": "A\x00B"}, audit) == "A\\x00B"
    assert t.item_key({"auditRecordId": _binary()}, audit) == "0x00ff504446"
    assert t.item_key({"documentId": None}, cases) == "? (version ?)"


def test_a_hostile_raw_item_is_storable_as_jsonb():
    from etl_bundle.invoice.load import _raw_json

    raw = json.loads(
        _raw_json({"a": {"x", "y"}, "b": _binary(), "c": "N\x00L", "d": Decimal("1.50"), "e": "\ud800", "k\x00": 1})
    )
    assert raw == {"a": ["x", "y"], "b": {"base64": "AP9QREY="}, "c": "N\\x00L", "d": 1.5, "e": "\\ud800", "k\\x00": 1}
