"""DynamoDB tables of the invoice transactions collector, seeded into moto.

Nested values rotate through the three shapes the pipeline must read (plain maps,
JSON strings, DynamoDB-typed {"M": ..}), and a few planted bad items exercise the
quarantine: a document without customerId, one whose customerId is a map, one whose
claimInfo is malformed JSON, one with an oversized claim number, and metadata whose
status history is malformed JSON. For the views' rules: template TPL-5 is a
"Non-Client" one and every 25th document (from the 4th) names a template that does not
exist (both left out of the views), every 16th archived document has two audits tied
on "createdTs", and every 10th document (from the 10th) has no case managers.

``seed`` also loads the original's warehouse (devstack/originals/invoice.sql) unless the
bundle has migrated it already, so the DAG's first run adopts it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from devstack import net

FIRMS = ("Hale & Dorr LLP ", "Baker Street Legal", "Austin Injury Group", "Lone Star Counsel")
CARRIERS = ("Travelers", "State Farm", "GEICO", "Progressive")
STATES = ("TX", "OK", "NM", "LA")
BASE_TS = 1_735_689_600  # 2025-01-01T00:00:00Z
MISSING_TEMPLATE_ID = "TPL-MISSING"

TABLE_KEYS = {
    "-documents": [("documentId", "HASH"), ("version", "RANGE")],
    "-documents-metadata": [("documentId", "HASH")],
    "-templates": [("templateId", "HASH"), ("version", "RANGE")],
    "-documents-audit": [("auditRecordId", "HASH")],
}
KEY_TYPES = {"documentId": "S", "version": "N", "templateId": "S", "auditRecordId": "S"}


def typed(value: Any) -> Any:
    """The DynamoDB-typed JSON form of a plain value."""
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [typed(v) for v in value]}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    return {"S": value}


def shaped(value: dict[str, Any], n: int) -> Any:
    """Plain map, JSON string or DynamoDB-typed, by n."""
    return (value, json.dumps(value), typed(value))[n % 3]


def template_id(n: int) -> str:
    """The template document n's metadata names."""
    return MISSING_TEMPLATE_ID if n % 25 == 3 else f"TPL-{n % 6}"


def has_tied_audits(n: int) -> bool:
    return n % 16 == 0


def document(n: int, version: int = 1) -> dict[str, Any]:
    managers = [{"firstName": "Ann", "lastName": f"Lee{n % 3}"}, {"firstName": "Bo", "lastName": "Chan"}]
    managers.append(managers[0])  # a duplicate collaborator, kept once
    firm = {
        "firmName": FIRMS[n % len(FIRMS)],
        "primaryContact": {"firstName": "Pat", "lastName": f"Contact{n % 5}"},
        "attorney": {"firstName": "Sam", "lastName": f"Counsel{n % 7}"},
    }
    if n % 10 != 9:
        firm["caseManagers"] = managers
    return {
        "documentId": f"DOC-{n:06d}",
        "customerId": f"CUST-{n % 40:03d}",
        "version": Decimal(version),
        "createdTs": Decimal(BASE_TS + n * 3600),
        "sendingFirm": shaped(firm, n),
        "recipientCarrier": shaped({"carrierCommonName": CARRIERS[n % len(CARRIERS)]}, n + 1),
        "claimInfo": shaped(
            {
                "claimCoverage": "Bodily Injury",
                "claimNumber": f"CLM-{n:07d}",
                "lossState": STATES[n % len(STATES)],
                "claimant": {"firstName": "Chris", "lastName": f"Client{n}"},
            },
            n + 2,
        ),
        "caseManagementMetadata": shaped(
            {
                "relatedInsuranceId": f"INS-{n}",
                "clientId": f"CL-{n % 90}",
                "matterId": f"M-{n}",
                "matterTechId": f"MT-{n}",
                "matterName": f"Client{n} v. Carrier" + (f" (v{version})" if version > 1 else ""),
            },
            n,
        ),
    }


def metadata(n: int) -> dict[str, Any]:
    history = [{"documentStatus": "DocumentReceived", "timestamp": Decimal(BASE_TS + n * 3600 + 60)}]
    if n % 4 == 0:
        history.append({"documentStatus": "DocumentArchived", "timestamp": Decimal(BASE_TS + n * 3600 + 86400)})
        history.append({"documentStatus": "DocumentArchived", "timestamp": Decimal(BASE_TS + n * 3600 + 90000)})
    return {
        "documentId": f"DOC-{n:06d}",
        "documentType": "Demand",
        "demandIsDeliverable": n % 5 != 0,
        "demandTemplateId": template_id(n),
        "createdTs": Decimal(BASE_TS + n * 3600),
        "documentStatusHistory": history if n % 2 else json.dumps(history, default=int),
    }


def template(t: int, version: int) -> dict[str, Any]:
    return {
        "templateId": f"TPL-{t}",
        "templateName": "Non-Client demand letter" if t == 5 else f"Standard demand {t}",
        "version": Decimal(version),
        "defaultDemandConfig": {"dueDays": Decimal(30 + t), "rate": Decimal("0.15"), "flags": ["a", "b"]},
    }


def audit(n: int) -> dict[str, Any]:
    return {
        "auditRecordId": f"AUD-{n:06d}",
        "documentId": f"DOC-{n:06d}",
        "createdTs": Decimal(BASE_TS + n * 3600 + 90000),
        "actionType": "DemandArchived",
        "payload": typed({"archiveReason": "Settled", "archiveComments": f"Closed after offer {n}"})
        if n % 8
        else {"archiveReason": "Withdrawn", "archiveComments": "Client withdrew"},
    }


BAD_DOCUMENTS = [
    {"documentId": "BAD-NO-CUSTOMER", "version": Decimal(1)},
    {"documentId": "BAD-CUSTOMER-TYPE", "customerId": {"id": "C"}, "version": Decimal(1)},
    {"documentId": "BAD-JSON", "customerId": "C", "version": Decimal(1), "claimInfo": "{not json"},
    {
        "documentId": "BAD-OVERSIZED",
        "customerId": "C",
        "version": Decimal(1),
        "claimInfo": {"claimNumber": "9" * 20000},
    },
]
BAD_METADATA = [{"documentId": "BAD-HISTORY", "documentType": "Demand", "documentStatusHistory": "[{not json"}]


def items(documents: int) -> dict[str, list[dict[str, Any]]]:
    """The seed, by table suffix: ``documents`` documents, a second version of every tenth."""
    docs = [document(n) for n in range(documents)] + [document(n, 2) for n in range(0, documents, 10)]
    audits = [audit(n) for n in range(0, documents, 4)]
    # A second audit at the same instant: the views keep the one with the greater auditRecordId.
    audits += [
        {
            **audit(n),
            "auditRecordId": f"AUD-{n:06d}-B",
            "payload": {"archiveReason": "Duplicate", "archiveComments": "B"},
        }
        for n in range(0, documents, 4)
        if has_tied_audits(n)
    ]
    audits.append({**audit(1), "auditRecordId": "AUD-OTHER", "actionType": "DemandUploaded"})  # filtered out
    return {
        "-documents": docs + BAD_DOCUMENTS,
        "-documents-metadata": [metadata(n) for n in range(documents)] + BAD_METADATA,
        "-templates": [template(t, v) for t in range(6) for v in (1, 2)],
        "-documents-audit": audits,
    }


def dynamodb(state: dict[str, Any]):
    import boto3

    return boto3.resource(
        "dynamodb",
        endpoint_url=f"http://{net.HOST}:{state['services']['moto']['port']}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )


def create_tables(resource, source_env: str) -> None:
    existing = {t.name for t in resource.tables.all()}
    for suffix, keys in TABLE_KEYS.items():
        name = f"exchange-{source_env}{suffix}"
        if name in existing:
            resource.Table(name).delete()
            resource.Table(name).wait_until_not_exists()
        resource.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": KEY_TYPES[k]} for k, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )


def put_items(resource, source_env: str, by_suffix: dict[str, list[dict[str, Any]]]) -> None:
    for suffix, table_items in by_suffix.items():
        table = resource.Table(f"exchange-{source_env}{suffix}")
        with table.batch_writer() as batch:
            for item in table_items:
                batch.put_item(Item=item)


def load_original(state: dict[str, Any]) -> str:
    """The original's warehouse into the devstack's, unless the bundle migrated it (or a seed loaded it) already."""
    import psycopg

    from devstack import originals
    from devstack.services import DATABASES, server_url

    with psycopg.connect(server_url(state["services"]["postgres"], DATABASES["warehouse"])) as conn:
        if originals.load_unless_present(conn, "invoice", marker="curated.demands_archived"):
            return "the original's warehouse loaded"
    return "warehouse kept (already the original's or migrated)"


def seed(state: dict[str, Any], size: int, source_env: str | None = None) -> str:
    from etl_bundle.invoice.transforms import DEFAULT_SOURCE_ENV

    source_env = source_env or DEFAULT_SOURCE_ENV  # what a run reads without the Variable or Param
    resource = dynamodb(state)
    create_tables(resource, source_env)
    put_items(resource, source_env, items(size))
    return f"DynamoDB exchange-{source_env}-* with {size} documents (and planted bad items); {load_original(state)}"
