"""invoice_demand_refresh's quarantine against moto and the devstack's Postgres (issue 15):
hostile DynamoDB items quarantined while the rest loads, once per (run, key), first-seen
kept, the retention, and database errors told without row values."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from devstack import invoice_data
from tests.integration.conftest import run_dag, xcom_value

pytestmark = pytest.mark.integration

ENV = "iquar"
DOCUMENTS = 30
RUN = {"source_env": ENV, "scan_segments": 2, "page_size": 10}


def hostile_items() -> dict[str, list[dict]]:
    """Items as boto3 puts them into DynamoDB (sets, Binary, NUL, big numbers, JSON strings), by table suffix."""
    from boto3.dynamodb.types import Binary

    return {
        "-documents": [
            {"documentId": "HOSTILE-INT4", "customerId": "C", "version": Decimal(3_000_000_000)},
            {"documentId": "HOSTILE-SET", "customerId": {"C1", "C2"}, "version": Decimal(1)},
            {"documentId": "HOSTILE-BINARY", "customerId": Binary(b"\x00\x01"), "version": Decimal(1)},
            {
                "documentId": "HOSTILE-NUL",
                "customerId": "C",
                "version": Decimal(1),
                "claimInfo": {"claimNumber": "CLM\x001"},
            },
        ],
        "-documents-metadata": [
            {"documentId": "HOSTILE-INT8", "documentType": "Demand", "createdTs": Decimal("1E+20")},
        ],
        "-templates": [
            {
                "templateId": "HOSTILE-NAN",
                "templateName": "N",
                "version": Decimal(1),
                "defaultDemandConfig": '{"r": NaN}',
            },
            {
                "templateId": "HOSTILE-NUMBER-SET",
                "templateName": "N",
                "version": Decimal(1),
                "defaultDemandConfig": {"ids": {Decimal(1), Decimal(2)}},
            },
        ],
        "-documents-audit": [
            {
                "auditRecordId": "HOSTILE-DEEP",
                "documentId": "D",
                "actionType": "DemandArchived",
                "payload": "[" * 5000 + "]" * 5000,
            },
            {
                "auditRecordId": "HOSTILE-SURROGATE",
                "documentId": "D",
                "actionType": "DemandArchived",
                "payload": '{"archiveReason": "\\ud800"}',
            },
        ],
    }


# (table, key, field) of each hostile item's quarantine row
HOSTILE_REJECTS = {
    ("cases", "HOSTILE-INT4 (version 3000000000)", "version"),
    ("cases", "HOSTILE-SET (version 1)", "customerId"),
    ("cases", "HOSTILE-BINARY (version 1)", "customerId"),
    ("cases", "HOSTILE-NUL (version 1)", "claimInfo.claimNumber"),
    ("metadata", "HOSTILE-INT8", "demandUploadedTimeStamp"),
    ("templates", "HOSTILE-NAN (version 1)", "defaultDemandConfig"),
    ("templates", "HOSTILE-NUMBER-SET (version 1)", "defaultDemandConfig.ids"),
    ("audit", "HOSTILE-DEEP", "payload"),
    ("audit", "HOSTILE-SURROGATE", "payload.archiveReason"),
}
PLANTED_REJECTS = 5  # invoice_data's own bad items


def seed_hostile(devstack_state, env: str = ENV, documents: int = DOCUMENTS) -> None:
    resource = invoice_data.dynamodb(devstack_state)
    invoice_data.create_tables(resource, env)
    invoice_data.put_items(resource, env, invoice_data.items(documents))
    invoice_data.put_items(resource, env, hostile_items())


@pytest.fixture(scope="module")
def hostile_source(devstack_state):
    seed_hostile(devstack_state)
    return ENV


def rejects_of(warehouse, run_id: str) -> list[tuple]:
    return warehouse.execute(
        "SELECT table_name, item_key, field, reason, first_seen_at, rejected_at FROM raw.load_rejects"
        " WHERE run_id = %s ORDER BY table_name, item_key",
        (run_id,),
    ).fetchall()


def load(run_id: str, **options):
    from etl_bundle.invoice.load import load_raw_tables

    settings = {
        "aws_conn_id": "invoice_aws",
        "pg_conn_id": "warehouse_postgres",
        "source_env": ENV,
        "segments": 2,
        "page_size": 10,
        "run_id": run_id,
        "dry_run": False,
        "max_bad_rows": 100,
        "allow_empty": False,
    }
    return load_raw_tables(**(settings | options))


def test_hostile_items_are_quarantined_and_the_rest_loads(bundle_dags, hostile_source, warehouse):
    result = run_dag(bundle_dags["invoice_demand_refresh"], RUN)
    assert result.state == "success"
    found = {(table, key, field) for table, key, field, *_ in rejects_of(warehouse, result.run_id)}
    assert HOSTILE_REJECTS <= found
    assert len(found) == len(HOSTILE_REJECTS) + PLANTED_REJECTS
    summary = xcom_value(result, "invoice_demand_refresh", "load_raw_tables")
    assert summary["cases"]["rejected"] == 4 + 4  # hostile + planted
    assert summary["templates"]["rejected_by_field"] == {"defaultDemandConfig": 1, "defaultDemandConfig.ids": 1}
    assert summary["audit"]["rejected_by_field"] == {"payload": 1, "payload.archiveReason": 1}
    # nothing else lost: every good item is loaded; nothing wrapped into a negative version
    assert summary["cases"]["loaded"] == DOCUMENTS + DOCUMENTS // 10
    assert warehouse.execute('SELECT count(*) FROM raw.cases WHERE "version" < 0').fetchone() == (0,)
    assert warehouse.execute("SELECT count(*) FROM raw.templates").fetchone() == (12,)


def test_max_bad_rows_still_applies_to_hostile_items(hostile_source, warehouse):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match=r"raw\.cases: more than max_bad_rows=3") as raised:
        load(f"limit-{uuid.uuid4().hex[:8]}", max_bad_rows=3)
    assert "key " in str(raised.value) and "field " in str(raised.value)


def test_a_retry_of_the_run_adds_no_quarantine_row_and_first_seen_is_kept(hostile_source, warehouse):
    run_id = f"retry-{uuid.uuid4().hex[:8]}"
    load(run_id)
    first = rejects_of(warehouse, run_id)
    assert len(first) == len(HOSTILE_REJECTS) + PLANTED_REJECTS
    load(run_id)  # what a task retry does: the same run id
    assert rejects_of(warehouse, run_id) == first

    later = f"later-{uuid.uuid4().hex[:8]}"
    load(later)
    again = rejects_of(warehouse, later)
    assert [r[:3] for r in again] == [r[:3] for r in first]
    first_seen = {r[1]: r[4] for r in first}
    for _, key, _, _, seen, rejected_at in again:
        assert seen <= first_seen[key] < rejected_at  # its first quarantine, not this run's


def test_quarantine_rows_older_than_the_retention_are_deleted(hostile_source, warehouse):
    old, recent = f"old-{uuid.uuid4().hex[:8]}", f"recent-{uuid.uuid4().hex[:8]}"
    for run_id, age in ((old, "31 days"), (recent, "29 days")):
        warehouse.execute(
            "INSERT INTO raw.load_rejects (run_id, table_name, item_key, field, reason, raw_item, rejected_at)"
            " VALUES (%s, 'cases', 'AGED', 'customerId', 'test', '{}', now() - %s::interval)",
            (run_id, age),
        )
    result = load(f"prune-{uuid.uuid4().hex[:8]}", reject_retention_days=30)
    assert result["load_rejects"]["retention_days"] == 30 and result["load_rejects"]["pruned"] >= 1
    assert rejects_of(warehouse, old) == []
    assert len(rejects_of(warehouse, recent)) == 1


def test_retention_variable_is_checked():
    from etl_bundle.invoice.load import DEFAULT_REJECT_RETENTION_DAYS, reject_retention_days

    assert reject_retention_days(None) == DEFAULT_REJECT_RETENTION_DAYS == 90
    assert reject_retention_days("7") == 7
    for bad in ("0", "-3", "a week"):
        with pytest.raises(ValueError, match="invoice_reject_retention_days"):
            reject_retention_days(bad)


def test_a_database_error_names_table_and_constraint_but_no_value(hostile_source, warehouse):
    from airflow.sdk.exceptions import AirflowFailException

    warehouse.execute(
        "ALTER TABLE raw.audit ADD CONSTRAINT test_no_values CHECK (\"documentId\" <> 'DOC-000004') NOT VALID"
    )
    try:
        with pytest.raises(AirflowFailException) as raised:
            load(f"dberr-{uuid.uuid4().hex[:8]}")
    finally:
        warehouse.execute("ALTER TABLE raw.audit DROP CONSTRAINT test_no_values")
    message = str(raised.value)
    assert "raw.audit" in message and "test_no_values" in message and "SQLSTATE 23514" in message
    for value in ("DOC-000004", "AUD-000004", "Failing row", "Settled"):
        assert value not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_migration_0002_removes_retry_copies_and_keeps_both_versions(scratch_warehouse):
    from etl_bundle.common import migrations
    from etl_bundle.common.sql import render_sql

    with scratch_warehouse() as conn:  # the database as 0001 left it, with the duplicates retries made
        conn.execute(render_sql("invoice/migrations/0001_adopt_original.sql", dialect="postgres"))
        conn.execute("CREATE SCHEMA etl_migrations")
        conn.execute("CREATE TABLE etl_migrations.invoice (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO etl_migrations.invoice VALUES ('0001_adopt_original')")
        for run_id, key, version, at in (
            ("r1", "DOC-1", 1, "2026-01-01"),
            ("r1", "DOC-1", 1, "2026-01-01 00:05"),  # the retry's copy
            ("r1", "DOC-1", 2, "2026-01-01"),  # another version: another item
            ("r2", "DOC-1", 1, "2026-01-02"),
        ):
            conn.execute(
                "INSERT INTO raw.load_rejects (run_id, table_name, item_key, field, reason, raw_item, rejected_at)"
                " VALUES (%s, 'cases', %s, 'customerId', 'x', jsonb_build_object('version', %s::int), %s)",
                (run_id, key, version, at),
            )
    assert migrations.upgrade("invoice", scratch_warehouse) == ["0002_quarantine_once_per_run"]
    with scratch_warehouse() as conn:
        rows = conn.execute(
            "SELECT run_id, item_key, first_seen_at::date::text FROM raw.load_rejects ORDER BY 1, 2"
        ).fetchall()
    assert rows == [
        ("r1", "DOC-1 (version 1)", "2026-01-01"),
        ("r1", "DOC-1 (version 2)", "2026-01-01"),
        ("r2", "DOC-1 (version 1)", "2026-01-01"),
    ]


def test_the_declared_column_types_are_the_raw_tables_own(hostile_source, warehouse):
    """The integer ranges follow SourceTable.column_types: those must be what the migrated tables hold."""
    from etl_bundle.invoice.transforms import SOURCES

    spelled = {"int2": "smallint", "int4": "integer", "int8": "bigint", "bool": "boolean"}
    for source in SOURCES:
        actual = dict(
            warehouse.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (f"raw.{source.name}",),
            ).fetchall()
        )
        declared = {c: spelled.get(t, t) for c, t in zip(source.columns, source.column_types, strict=True)}
        assert declared == {c: actual[c] for c in source.columns}, source.name
