"""DynamoDB tables of the invoice transactions collector, seeded into moto.

Nested values rotate through the three shapes the pipeline must read (plain maps,
JSON strings, DynamoDB-typed {"M": ..}), and a few planted bad items exercise the
quarantine: a document without customerId, one whose customerId is a map, one whose
claimInfo is malformed JSON, one with an oversized claim number, and metadata whose
status history is malformed JSON.
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


def document(n: int, version: int = 1) -> dict[str, Any]:
    managers = [{"firstName": "Ann", "lastName": f"Lee{n % 3}"}, {"firstName": "Bo", "lastName": "Chan"}]
    managers.append(managers[0])  # a duplicate collaborator, kept once
    return {
        "documentId": f"DOC-{n:06d}",
        "customerId": f"CUST-{n % 40:03d}",
        "version": Decimal(version),
        "createdTs": Decimal(BASE_TS + n * 3600),
        "sendingFirm": shaped(
            {
                "firmName": FIRMS[n % len(FIRMS)],
                "primaryContact": {"firstName": "Pat", "lastName": f"Contact{n % 5}"},
                "attorney": {"firstName": "Sam", "lastName": f"Counsel{n % 7}"},
                "caseManagers": managers,
            },
            n,
        ),
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
                "matterName": f"Client{n} v. Carrier",
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
        "demandTemplateId": f"TPL-{n % 6}",
        "createdTs": Decimal(BASE_TS + n * 3600),
        "documentStatusHistory": history if n % 2 else json.dumps(history, default=int),
    }


def template(t: int, version: int) -> dict[str, Any]:
    return {
        "templateId": f"TPL-{t}",
        "templateName": "Client demand letter" if t == 5 else f"Standard demand {t}",
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


def seed(state: dict[str, Any], size: int, source_env: str = "beta") -> str:
    resource = dynamodb(state)
    create_tables(resource, source_env)
    put_items(resource, source_env, items(size))
    return f"DynamoDB exchange-{source_env}-* with {size} documents (and planted bad items)"
