"""invoice_demand_refresh end to end: moto's DynamoDB → the devstack's Postgres."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack import invoice_data, originals
from etl_bundle.common import migrations
from etl_bundle.invoice import transforms as t
from tests.integration.conftest import run_dag, task_states, xcom_value

pytestmark = pytest.mark.integration

ENV = "itest"
DOCUMENTS = 200
SMALL_PAGES = {"source_env": ENV, "scan_segments": 3, "page_size": 25}
RAW_TABLES = ("cases", "metadata", "templates", "audit")
DAG_ID = "invoice_demand_refresh"

# The original's views, column by column in order, as original-contracts.md §1.3-1.6 give them
# (types as format_type() spells them).
TS, TEXT = "timestamp with time zone", "text"
CONTRACT_COLUMNS = {
    "curated.demands_archived": [
        ("demandArchivedDate", TS),
        ("precedentDocumentId", TEXT),
        *[
            (c, TEXT)
            for c in (
                "sendingFirm",
                "matterName",
                "clientName",
                "recipientCarrier",
                "claimNumber",
                "claimCoverage",
                "lossState",
                "assignedAttorney",
                "assignedCaseManager",
                "lastArchiveReason",
                "lastArchiveComment",
            )
        ],
    ],
    "curated.demands_uploaded": [
        ("sendingFirm", TEXT),
        ("precedentDocumentId", TEXT),
        ("demandUploadedDate", TS),
        ("demandArchivedDate", TS),
        *[
            (c, TEXT)
            for c in (
                "matterName",
                "clientName",
                "recipientCarrier",
                "claimNumber",
                "claimCoverage",
                "lossState",
                "assignedCaseManager",
                "matterClientId",
                "assignedAttorney",
            )
        ],
        ("assignedCaseCollaborator", "text[]"),
    ],
    "analytics.demands_summary": [
        ("month", TEXT),
        ("sendingFirm", TEXT),
        ("uploaded", "bigint"),
        ("archived", "bigint"),
    ],
}
# The original's unique indexes, by view.
CONTRACT_INDEXES = {
    "curated.demands_archived": ("demands_archived_idx", ["precedentDocumentId", "demandArchivedDate"]),
    "curated.demands_uploaded": ("demands_uploaded_idx", ["precedentDocumentId", "demandUploadedDate"]),
    "analytics.demands_summary": ("demands_summary_idx", ["month", "sendingFirm"]),
}
READER_ROLES = {
    "raw_read_only": ("raw",),
    "curated_read_only": ("curated",),
    "analytics_read_only": ("analytics",),
    "curated_and_analytics_read_only": ("curated", "analytics"),
    "raw_curated_analytics_read_only": ("raw", "curated", "analytics"),
}


def columns(conn, relation: str) -> list[tuple[str, str]]:
    """A relation's columns in order with their types (information_schema.columns omits matviews)."""
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (relation,),
    ).fetchall()


def unique_indexes(conn, relation: str) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT i.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum"
        " WHERE x.indrelid = %s::regclass AND x.indisunique GROUP BY i.relname",
        (relation,),
    ).fetchall()
    return dict(rows)


def assert_contract(conn) -> None:
    for view, expected in CONTRACT_COLUMNS.items():
        assert columns(conn, view) == expected, view
        name, keys = CONTRACT_INDEXES[view]
        assert unique_indexes(conn, view).get(name) == keys, view


def assert_readers_can_select(conn, relations_by_schema: dict[str, list[str]]) -> None:
    """SET ROLE to each of the original's read-only roles and read every relation it is meant to read."""
    for role, schemas in READER_ROLES.items():
        for schema in schemas:
            for relation in relations_by_schema[schema]:
                conn.execute(f"SET ROLE {role}")
                try:
                    conn.execute(f"SELECT count(*) FROM {relation}").fetchone()  # noqa: S608 - fixed names
                finally:
                    conn.execute("RESET ROLE")


def excluded_by_template(n: int) -> bool:
    """The seed's documents the template rule leaves out: a missing template, or TPL-5 ("Non-Client")."""
    return invoice_data.template_id(n) in (invoice_data.MISSING_TEMPLATE_ID, "TPL-5")


def assert_seed_rejects(warehouse, run_id: str) -> None:
    """The seed's bad items, each quarantined by ``run_id`` naming its field."""
    rejects = warehouse.execute(
        "SELECT table_name, item_key, field FROM raw.load_rejects WHERE run_id = %s ORDER BY 2", (run_id,)
    ).fetchall()
    assert rejects == [
        ("cases", "BAD-CUSTOMER-TYPE (version 1)", "customerId"),
        ("metadata", "BAD-HISTORY", "documentStatusHistory"),
        ("cases", "BAD-JSON (version 1)", "claimInfo"),
        ("cases", "BAD-NO-CUSTOMER (version 1)", "customerId"),
        ("cases", "BAD-OVERSIZED (version 1)", "claimInfo.claimNumber"),
    ]


def assert_views_match_seed(warehouse, documents: int) -> tuple[dict, list[int]]:
    """The views' counts for a seed of ``documents``, the template rule applied; (counts, excluded)."""
    views = dict(
        warehouse.execute(
            "SELECT 'archived', count(*) FROM curated.demands_archived UNION ALL "
            "SELECT 'uploaded', count(*) FROM curated.demands_uploaded UNION ALL "
            "SELECT 'summary_uploaded', sum(uploaded) FROM analytics.demands_summary UNION ALL "
            "SELECT 'summary_archived', sum(archived) FROM analytics.demands_summary"
        ).fetchall()
    )
    excluded = [n for n in range(documents) if excluded_by_template(n)]
    assert views["uploaded"] == documents - len(excluded)
    assert views["archived"] == len([n for n in range(0, documents, 4) if not excluded_by_template(n)])
    assert views["summary_uploaded"] == views["uploaded"] and views["summary_archived"] == views["archived"]
    return views, excluded


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
        "migrate_schema": ["success"],
        "load_raw_tables": ["success"],
        "check_raw_counts": ["success"],
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

    tied = len([n for n in range(0, DOCUMENTS, 4) if invoice_data.has_tied_audits(n)])
    audit = warehouse.execute(
        'SELECT "actionType", count(*), count("lastArchiveReason") FROM raw.audit GROUP BY 1'
    ).fetchall()
    assert audit == [("DemandArchived", DOCUMENTS // 4 + tied, DOCUMENTS // 4 + tied)]  # payload projected

    assert_seed_rejects(warehouse, result.run_id)
    assert_contract(warehouse)
    views, excluded = assert_views_match_seed(warehouse, DOCUMENTS)

    summary = xcom_value(result, DAG_ID, "refresh_views")
    missing = len([n for n in excluded if invoice_data.template_id(n) == invoice_data.MISSING_TEMPLATE_ID])
    assert summary["excluded_by_template"] == {
        "template_not_found": missing,
        "client_template": len(excluded) - missing,
        "total": len(excluded),
    }
    assert summary["views"]["curated.demands_uploaded"] == views["uploaded"]

    latest = warehouse.execute(
        'SELECT "matterName", "lastArchiveReason" FROM curated.demands_archived WHERE "precedentDocumentId" = %s',
        ("DOC-000020",),
    ).fetchall()
    assert latest == [("Client20 v. Carrier (v2)", "Settled")]  # the latest case version, the latest audit
    tie = warehouse.execute(
        'SELECT "lastArchiveReason", "lastArchiveComment" FROM curated.demands_archived'
        ' WHERE "precedentDocumentId" = %s',
        ("DOC-000016",),
    ).fetchall()
    assert tie == [("Duplicate", "B")]  # one row; of the tied audits the greater auditRecordId
    no_managers = warehouse.execute(
        'SELECT "assignedCaseCollaborator" FROM curated.demands_uploaded WHERE "precedentDocumentId" = %s',
        ("DOC-000009",),
    ).fetchone()
    assert no_managers == ([],)
    months = warehouse.execute(
        "SELECT DISTINCT month FROM analytics.demands_summary WHERE month !~ '^[0-9]{4}-[0-9]{2}$'"
    ).fetchall()
    assert months == []


def test_each_raw_asset_event_carries_its_tables_counts(invoice_dag, warehouse):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    result = run_dag(invoice_dag, SMALL_PAGES)
    assert result.state == "success"
    loaded = xcom_value(result, DAG_ID, "load_raw_tables")
    with create_session() as session:
        events = (
            session.query(AssetModel.name, AssetEvent.extra)
            .join(AssetEvent.asset)
            .filter(AssetEvent.source_run_id == result.run_id, AssetModel.name.like("warehouse.raw.%"))
        )
        extras = {name.removeprefix("warehouse.raw."): extra for name, extra in events}
    assert set(extras) == set(RAW_TABLES)
    for table, extra in extras.items():
        assert extra["rows"] == loaded[table]["loaded"] == loaded[table]["built"], table
        assert (extra["scanned"], extra["rejected"]) == (loaded[table]["scanned"], loaded[table]["rejected"])
    assert extras["cases"]["rows"] == DOCUMENTS + DOCUMENTS // 10


def test_a_backfill_is_refused(invoice_dag, warehouse):
    """A full snapshot has nothing to backfill: allowed_run_types refuses it with a clear message."""
    import pendulum
    from airflow.exceptions import DagRunTypeNotAllowed
    from airflow.models.backfill import _create_backfill

    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"  # the DAG is serialized in the metadata DB
    with pytest.raises(DagRunTypeNotAllowed, match="does not allow backfill runs"):
        _create_backfill(
            dag_id=DAG_ID,
            from_date=pendulum.datetime(2026, 3, 1, tz="UTC"),
            to_date=pendulum.datetime(2026, 3, 3, tz="UTC"),
            max_active_runs=1,
            reverse=False,
            dag_run_conf=None,
            triggering_user_name="test",
        )


def test_summary_months_follow_the_timezone_variable(invoice_dag, warehouse, monkeypatch):
    """Document 0 was uploaded at 2025-01-01 00:00 UTC: December 2024 in Chicago."""
    assert run_dag(invoice_dag, SMALL_PAGES).state == "success"
    utc = dict(warehouse.execute("SELECT month, sum(uploaded) FROM analytics.demands_summary GROUP BY 1").fetchall())
    assert "2024-12" not in utc
    monkeypatch.setenv("AIRFLOW_VAR_INVOICE_SUMMARY_TIMEZONE", "America/Chicago")
    result = run_dag(invoice_dag, SMALL_PAGES)
    assert result.state == "success"
    assert xcom_value(result, DAG_ID, "refresh_views")["month_timezone"] == "America/Chicago"
    chicago = dict(
        warehouse.execute("SELECT month, sum(uploaded) FROM analytics.demands_summary GROUP BY 1").fetchall()
    )
    assert chicago["2024-12"] > 0 and sum(chicago.values()) == sum(utc.values())


def test_source_env_comes_from_the_variable_unless_the_param_says(invoice_dag, warehouse, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_INVOICE_SOURCE_ENV", ENV)
    result = run_dag(invoice_dag, {**SMALL_PAGES, "source_env": None})
    assert result.state == "success"
    assert xcom_value(result, DAG_ID, "load_raw_tables")["cases"]["source"] == f"exchange-{ENV}-documents"
    monkeypatch.setenv("AIRFLOW_VAR_INVOICE_SOURCE_ENV", "no-such-env")
    assert run_dag(invoice_dag, {**SMALL_PAGES, "source_env": ENV}).state == "success"


def _relations(conn) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT n.nspname, format('%I.%I', n.nspname, c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('raw', 'curated', 'analytics') AND c.relkind IN ('r', 'v', 'm') ORDER BY 2"
    ).fetchall()
    by_schema: dict[str, list[str]] = {"raw": [], "curated": [], "analytics": []}
    for schema, relation in rows:
        by_schema[schema].append(relation)
    return by_schema


def test_an_empty_database_is_created_and_loaded(invoice_dag, scratch_warehouse):
    result = run_dag(invoice_dag, SMALL_PAGES)
    assert result.state == "success"
    with scratch_warehouse() as conn:
        assert migrations.current(scratch_warehouse, "invoice") == migrations.migration_files("invoice")[-1].stem
        assert_contract(conn)
        for view in CONTRACT_COLUMNS:
            assert conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view  # noqa: S608
        relations = _relations(conn)
        assert "curated.verifyplus" not in relations["curated"]  # Verify+ never loaded here
        assert_readers_can_select(conn, relations)
    assert xcom_value(result, DAG_ID, "refresh_views")["verifyplus"] == "absent (no raw.verifyplus)"


def _acl(conn, relation: str) -> set[tuple[str, str]]:
    return set(
        conn.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type"
            " FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %s::regclass",
            (relation,),
        ).fetchall()
    )


def test_the_original_database_is_adopted_and_loaded(invoice_dag, scratch_warehouse):
    with scratch_warehouse() as conn:
        originals.load(conn, "invoice")
        relations_before = _relations(conn)
        acl_before = {r: _acl(conn, r) for rs in relations_before.values() for r in rs}
        verifyplus_before = conn.execute('SELECT * FROM raw.verifyplus ORDER BY "requestId"').fetchall()
        default_acl_before = conn.execute(
            "SELECT defaclnamespace::regnamespace, defaclacl FROM pg_default_acl"
        ).fetchall()
        # The original repeats DOC-A1 (two audits tied on createdTs), so its archived index could not exist.
        assert conn.execute(
            "SELECT count(*) FROM curated.demands_archived WHERE \"precedentDocumentId\" = 'DOC-A1'"
        ).fetchone() == (2,)

    result = run_dag(invoice_dag, SMALL_PAGES)
    assert result.state == "success"
    assert task_states(result)["migrate_schema"] == ["success"]

    with scratch_warehouse() as conn:
        assert_contract(conn)
        relations = _relations(conn)
        assert set(relations_before["raw"]) <= set(relations["raw"])
        assert set(relations_before["curated"]) == set(relations["curated"])
        assert set(relations_before["analytics"]) == set(relations["analytics"])
        for relation, acl in acl_before.items():  # every grant kept through the views' rebuild
            assert acl <= _acl(conn, relation), relation
        assert ("bi_dashboard", "SELECT") in _acl(conn, "curated.demands_archived")  # not one of the five roles
        assert conn.execute("SELECT defaclnamespace::regnamespace, defaclacl FROM pg_default_acl").fetchall() == (
            default_acl_before
        )
        # Verify+'s table is not ours: its rows stay, and its view refreshes concurrently on its new index.
        assert conn.execute('SELECT * FROM raw.verifyplus ORDER BY "requestId"').fetchall() == verifyplus_before
        assert unique_indexes(conn, "curated.verifyplus") == {"verifyplus_idx": ["requestId"]}
        assert conn.execute("SELECT count(*) FROM curated.verifyplus").fetchone() == (len(verifyplus_before),)
        # An index a DBA added to the old view is rebuilt on the new one.
        assert conn.execute("SELECT to_regclass('curated.demands_uploaded_firm')").fetchone()[0] is not None
        assert_readers_can_select(conn, relations)
        # raw.* now hold the source's snapshot (full refresh by design).
        assert conn.execute("SELECT count(*) FROM raw.cases").fetchone() == (DOCUMENTS + DOCUMENTS // 10,)
    assert xcom_value(result, DAG_ID, "refresh_views")["verifyplus"] == "refreshed"


def test_the_original_rows_follow_the_contract_rules_once_adopted(scratch_warehouse):
    """The original's own rows, through our views: one row per document, the template rule of §1.5."""
    with scratch_warehouse() as conn:
        originals.load(conn, "invoice")
    migrations.upgrade("invoice", scratch_warehouse)
    with scratch_warehouse() as conn:
        archived = conn.execute(
            'SELECT "precedentDocumentId", "lastArchiveReason" FROM curated.demands_archived ORDER BY 1'
        ).fetchall()
        uploaded = conn.execute(
            'SELECT "precedentDocumentId", "assignedCaseCollaborator" FROM curated.demands_uploaded ORDER BY 1'
        ).fetchall()
        summary = conn.execute("SELECT * FROM analytics.demands_summary ORDER BY 1, 2").fetchall()
        excluded = conn.execute(
            'SELECT "documentId", excluded_by FROM etl_invoice.latest_demands WHERE excluded_by IS NOT NULL ORDER BY 1'
        ).fetchall()
    # A2: "Non-Client" template; A3: template id with no template; A7: no metadata (inner join).
    assert archived == [("DOC-A1", ""), ("DOC-A5", "")]
    assert uploaded == [("DOC-A1", ["Ann Lee", "Bo Chan"]), ("DOC-A4", []), ("DOC-A5", []), ("DOC-A6", ["Bo Chan"])]
    assert excluded == [("DOC-A2", "client_template"), ("DOC-A3", "template_not_found")]
    assert summary == [
        ("2025-01", "Hale & Dorr LLP", 1, 1),
        ("2025-02", "Austin Injury Group", 2, 0),
        ("2025-02", "Lone Star Counsel", 1, 0),
        ("2025-03", "Austin Injury Group", 0, 1),
    ]


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


def test_a_document_without_a_firm_is_one_summary_row_and_refreshes_concurrently(scratch_warehouse):
    migrations.upgrade("invoice", scratch_warehouse)
    with scratch_warehouse() as conn:
        conn.execute("""INSERT INTO raw.cases ("documentId", "customerId", "version") VALUES ('NOFIRM', 'C', 1)""")
        conn.execute(
            'INSERT INTO raw.metadata ("documentType", "documentId", "demandUploadedTimeStamp",'
            ' "demandArchivedTimeStamp") VALUES (%s, %s, %s, %s)',
            ("Demand", "NOFIRM", invoice_data.BASE_TS, invoice_data.BASE_TS + 86400),
        )
        for view in ("curated.demands_archived", "curated.demands_uploaded", "analytics.demands_summary"):
            conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.demands_summary")  # again, a NULL key
        assert conn.execute("SELECT * FROM analytics.demands_summary").fetchall() == [("2025-01", None, 1, 1)]


def _waiting_on(monitor, relation: str) -> int:
    return monitor.execute(
        "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(%s) AND NOT granted", (relation,)
    ).fetchone()[0]


def _until(condition, what: str, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_readers_wait_for_the_swap_then_read_the_new_view(scratch_warehouse):
    """A query arriving during the adoption waits for it and reads our view: never 'does not exist'."""
    import threading

    with scratch_warehouse() as conn:
        originals.load(conn, "invoice")
    count_a1 = "SELECT count(*) FROM curated.demands_archived WHERE \"precedentDocumentId\" = 'DOC-A1'"
    holder = scratch_warehouse()  # a reader mid-transaction on the original's view
    monitor = scratch_warehouse()
    monitor.autocommit = True
    outcome: dict[str, object] = {}
    try:
        assert holder.execute(count_a1).fetchone() == (2,)  # the original's duplicate
        upgrade = threading.Thread(
            target=lambda: outcome.update(upgrade=migrations.upgrade("invoice", scratch_warehouse))
        )
        upgrade.start()
        _until(lambda: _waiting_on(monitor, "curated.demands_archived") == 1, "the swap to wait for the reader")

        def late_reader():
            try:
                with scratch_warehouse() as conn:
                    outcome["late_reader"] = conn.execute(count_a1).fetchone()
            except Exception as err:  # noqa: BLE001 - asserted below
                outcome["late_reader"] = err

        reader = threading.Thread(target=late_reader)
        reader.start()
        _until(lambda: _waiting_on(monitor, "curated.demands_archived") == 2, "the late reader to queue")
        holder.rollback()
        upgrade.join(60)
        reader.join(60)
    finally:
        holder.close()
        monitor.close()
    assert outcome["upgrade"] == [path.stem for path in migrations.migration_files("invoice")]
    assert outcome["late_reader"] == (1,)  # our view, one row per document
