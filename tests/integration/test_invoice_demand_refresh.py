"""invoice_demand_refresh end to end: moto's DynamoDB → the devstack's Postgres."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack import invoice_data
from etl_bundle.invoice import transforms as t
from tests.integration.conftest import run_dag, task_states

pytestmark = pytest.mark.integration

ENV = "itest"
DOCUMENTS = 200
SMALL_PAGES = {"source_env": ENV, "scan_segments": 3, "page_size": 25}
RAW_TABLES = ("cases", "metadata", "templates", "audit")


@pytest.fixture(scope="module")
def invoice_dag(bundle_dags, devstack_state):
    resource = invoice_data.dynamodb(devstack_state)
    invoice_data.create_tables(resource, ENV)
    invoice_data.put_items(resource, ENV, invoice_data.items(DOCUMENTS))
    return bundle_dags["invoice_demand_refresh"]


def snapshot(warehouse) -> dict[str, list[tuple]]:
    """Every row of the four raw tables, sorted (the tables have no key)."""
    tables = {}
    for table in RAW_TABLES:
        rows = warehouse.execute(f"SELECT * FROM raw.{table}").fetchall()  # noqa: S608 - fixed names
        tables[table] = sorted(rows, key=repr)
    return tables


def expected_rows(build, items) -> list[tuple]:
    rows = []
    for item in items:
        try:
            rows.append(build(item))
        except t.RejectedItemError:
            continue
    return rows


def test_full_refresh_end_to_end(invoice_dag, warehouse):
    result = run_dag(invoice_dag, SMALL_PAGES)
    assert result.state == "success"
    assert task_states(result) == {
        "ensure_schema": ["success"],
        "load_raw_tables": ["success"],
        "refresh_views": ["success"],
    }
    seeded = invoice_data.items(DOCUMENTS)

    cases = warehouse.execute('SELECT * FROM raw.cases ORDER BY "documentId", "version"').fetchall()
    want = sorted(expected_rows(t.build_case, seeded["-documents"]), key=lambda r: (r[0], r[2]))
    assert len(cases) == DOCUMENTS + DOCUMENTS // 10
    assert [tuple(r) for r in cases] == want
    one = dict(zip(t.CASE_COLUMNS, next(r for r in cases if r[0] == "DOC-000001"), strict=True))
    assert one["assignedCaseCollaborator"] == ["Ann Lee1", "Bo Chan"]  # duplicates dropped, order kept
    assert one["sendingFirm"] == "Baker Street Legal"

    metadata = warehouse.execute("SELECT * FROM raw.metadata").fetchall()
    assert sorted(metadata, key=repr) == sorted(
        expected_rows(t.build_metadata, seeded["-documents-metadata"]), key=repr
    )
    archived = warehouse.execute(
        'SELECT "demandArchivedTimeStamp" FROM raw.metadata WHERE "documentId" = \'DOC-000004\''
    ).fetchone()[0]
    assert archived == invoice_data.BASE_TS + 4 * 3600 + 90000  # the last DocumentArchived wins

    templates = warehouse.execute(
        'SELECT "templateId", "version", "defaultDemandConfig" FROM raw.templates ORDER BY 1, 2'
    ).fetchall()
    assert len(templates) == 12
    assert templates[0][2] == {"dueDays": 30, "rate": 0.15, "flags": ["a", "b"]}

    audit = warehouse.execute(
        'SELECT "actionType", count(*), count("lastArchiveReason") FROM raw.audit GROUP BY 1'
    ).fetchall()
    assert audit == [("DemandArchived", DOCUMENTS // 4, DOCUMENTS // 4)]  # payload projected, filter applied

    rejects = warehouse.execute(
        "SELECT table_name, item_key, field FROM raw.load_rejects WHERE run_id = %s ORDER BY 2", (result.run_id,)
    ).fetchall()
    assert rejects == [
        ("cases", "BAD-CUSTOMER-TYPE", "customerId"),
        ("metadata", "BAD-HISTORY", "documentStatusHistory"),
        ("cases", "BAD-JSON", "claimInfo"),
        ("cases", "BAD-NO-CUSTOMER", "customerId"),
        ("cases", "BAD-OVERSIZED", "claimInfo.claimNumber"),
    ]

    views = dict(
        warehouse.execute(
            "SELECT 'archived', count(*) FROM curated.demands_archived UNION ALL "
            "SELECT 'uploaded', count(*) FROM curated.demands_uploaded UNION ALL "
            "SELECT 'summary_uploaded', sum(uploaded) FROM analytics.demands_summary UNION ALL "
            "SELECT 'summary_archived', sum(archived) FROM analytics.demands_summary"
        ).fetchall()
    )
    client_template_docs = len(range(5, DOCUMENTS, 6))  # TPL-5 is a "Client ..." template: excluded
    archived_client = len([n for n in range(0, DOCUMENTS, 4) if n % 6 == 5])
    assert views["uploaded"] == DOCUMENTS - client_template_docs
    assert views["archived"] == DOCUMENTS // 4 - archived_client
    assert views["summary_uploaded"] == views["uploaded"] and views["summary_archived"] == views["archived"]
    latest = warehouse.execute(
        'SELECT "version", "lastArchiveReason" FROM curated.demands_archived WHERE "documentId" = %s', ("DOC-000020",)
    ).fetchone()
    assert latest == (2, "Settled")  # the latest case version, with the latest audit's reason


def test_rerun_gives_identical_tables(invoice_dag, warehouse):
    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"
    first = snapshot(warehouse)
    assert run_dag(invoice_dag, SMALL_PAGES, scan_segments=1, page_size=1000).state == "success"
    assert snapshot(warehouse) == first


def test_a_failure_in_the_last_table_leaves_all_four_as_they_were(invoice_dag, warehouse, devstack_state):
    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"
    before = snapshot(warehouse)
    # New source data, and a constraint that the last table's new rows violate.
    resource = invoice_data.dynamodb(devstack_state)
    invoice_data.create_tables(resource, "ifault")
    invoice_data.put_items(resource, "ifault", invoice_data.items(60))
    warehouse.execute(
        "ALTER TABLE raw.audit ADD CONSTRAINT test_fault CHECK (\"documentId\" <> 'DOC-000004') NOT VALID"
    )
    try:
        result = run_dag(invoice_dag, SMALL_PAGES, source_env="ifault")
    finally:
        warehouse.execute("ALTER TABLE raw.audit DROP CONSTRAINT test_fault")
    assert result.state == "failed"
    assert task_states(result)["load_raw_tables"] == ["failed"]
    assert snapshot(warehouse) == before


def test_an_empty_source_fails_unless_allowed(invoice_dag, warehouse, devstack_state):
    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"
    before = snapshot(warehouse)
    resource = invoice_data.dynamodb(devstack_state)
    invoice_data.create_tables(resource, "iempty")
    seed = invoice_data.items(30)
    seed["-templates"] = []
    invoice_data.put_items(resource, "iempty", seed)

    refused = run_dag(invoice_dag, SMALL_PAGES, source_env="iempty")
    assert refused.state == "failed"
    assert snapshot(warehouse) == before

    allowed = run_dag(invoice_dag, SMALL_PAGES, source_env="iempty", allow_empty=True)
    assert allowed.state == "success"
    assert warehouse.execute("SELECT count(*) FROM raw.templates").fetchone() == (0,)
    assert warehouse.execute("SELECT count(*) FROM raw.cases").fetchone() == (30 + 3,)


def test_dry_run_writes_nothing(invoice_dag, warehouse):
    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"
    before = snapshot(warehouse)
    rejects_before = warehouse.execute("SELECT count(*) FROM raw.load_rejects").fetchone()
    result = run_dag(invoice_dag, SMALL_PAGES, source_env="ifault", dry_run=True)
    assert result.state == "success"
    assert task_states(result)["load_raw_tables"] == ["skipped"]
    assert task_states(result)["refresh_views"] == ["skipped"]
    assert snapshot(warehouse) == before
    assert warehouse.execute("SELECT count(*) FROM raw.load_rejects").fetchone() == rejects_before


def test_too_many_bad_items_fail_naming_table_key_and_field(invoice_dag, warehouse):
    before = snapshot(warehouse)
    result = run_dag(invoice_dag, SMALL_PAGES, max_bad_rows=2)
    assert result.state == "failed"
    assert snapshot(warehouse) == before
    quarantined = warehouse.execute(
        "SELECT count(*) FROM raw.load_rejects WHERE run_id = %s AND table_name = 'cases'", (result.run_id,)
    ).fetchone()
    assert quarantined == (3,)  # kept even though the load rolled back


def test_production_connection_from_secrets_manager(devstack_state, warehouse):
    """The README's recipe: Airflow's Secrets Manager backend resolves warehouse_postgres."""
    import boto3

    from devstack.services import DATABASES

    moto = f"http://127.0.0.1:{devstack_state['services']['moto']['port']}"
    pg = devstack_state["services"]["postgres"]
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    secret = {
        "conn_type": "postgres",
        "host": pg["host"],
        "port": pg["port"],
        "login": pg["user"],
        "password": pg.get("password", ""),
        "schema": DATABASES["warehouse"],
    }
    try:
        secrets.create_secret(Name="airflow/connections/warehouse_postgres", SecretString=json.dumps(secret))
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId="airflow/connections/warehouse_postgres", SecretString=json.dumps(secret))
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_WAREHOUSE_POSTGRES"}
    env.update(
        AIRFLOW__SECRETS__BACKEND="airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps(
            {"connections_prefix": "airflow/connections", "region_name": "us-east-1", "endpoint_url": moto}
        ),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    probe = (
        "from airflow.providers.postgres.hooks.postgres import PostgresHook\n"
        "print(PostgresHook(postgres_conn_id='warehouse_postgres').get_first('SELECT current_database()')[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == DATABASES["warehouse"]


def test_cross_account_read_assumes_the_role_through_sts(devstack_state, monkeypatch):
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

    moto = f"http://127.0.0.1:{devstack_state['services']['moto']['port']}"
    role = "arn:aws:iam::123456789012:role/DataScienceCrossAccountDDBAccess"
    monkeypatch.setenv(
        "AIRFLOW_CONN_INVOICE_AWS_CROSS_ACCOUNT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {
                    "region_name": "us-east-1",
                    "endpoint_url": moto,
                    "role_arn": role,
                    "assume_role_kwargs": {"RoleSessionName": "CrossAccountSession"},
                    "service_config": {"sts": {"endpoint_url": moto}},
                },
            }
        ),
    )
    hook = DynamoDBHook(aws_conn_id="invoice_aws_cross_account")
    credentials = hook.get_session().get_credentials().get_frozen_credentials()
    assert credentials.access_key != "testing", "the role's temporary credentials should be in use"
    assert f"exchange-{ENV}-documents" in hook.client.list_tables()["TableNames"]
