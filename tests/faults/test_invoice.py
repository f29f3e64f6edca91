"""invoice_demand_refresh under injected faults: SIGKILL mid-COPY, a Postgres restart mid-load,
DynamoDB throttling (a proxy in front of moto), hostile items; reruns give identical checksums."""

from __future__ import annotations

import json
import time

import pytest

from devstack import invoice_data
from devstack.dynamodb_throttle import ThrottleProxy
from tests.faults.conftest import airflow_dags_test, copy_rows_streamed, restart_postgres, sigkill_when
from tests.integration.conftest import run_dag, xcom_value
from tests.integration.test_invoice_quarantine import HOSTILE_REJECTS, PLANTED_REJECTS, seed_hostile

pytestmark = pytest.mark.integration

DAG_ID = "invoice_demand_refresh"
TARGETS = (
    "raw.cases",
    "raw.metadata",
    "raw.templates",
    "raw.audit",
    "curated.demands_archived",
    "curated.demands_uploaded",
    "analytics.demands_summary",
)
OLD_ENV, OLD_DOCUMENTS = "fold", 40
BIG_ENV, BIG_DOCUMENTS = "fbig", 10_000  # long enough a COPY to be cut in the middle
KILL_AFTER_ROWS = 1_000
BIG_RUN = {"source_env": BIG_ENV, "scan_segments": 4, "page_size": 500}


def connect_warehouse():
    import psycopg

    from devstack import stack
    from devstack.services import DATABASES, server_url

    url = server_url(stack.load_state()["services"]["postgres"], DATABASES["warehouse"])
    return psycopg.connect(url, autocommit=True)


def checksums(warehouse) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the rows in order) of every target: raw tables and views."""
    sums = {}
    for relation in TARGETS:
        sums[relation] = tuple(
            warehouse.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"  # noqa: S608
                f" FROM {relation} AS t"
            ).fetchone()
        )
    return sums


def seed(devstack_state, env: str, documents: int) -> None:
    resource = invoice_data.dynamodb(devstack_state)
    invoice_data.create_tables(resource, env)
    invoice_data.put_items(resource, env, invoice_data.items(documents))


@pytest.fixture(scope="module")
def old_source(devstack_state):
    seed(devstack_state, OLD_ENV, OLD_DOCUMENTS)
    return devstack_state


@pytest.fixture(scope="module")
def sources(old_source):
    seed(old_source, BIG_ENV, BIG_DOCUMENTS)
    return old_source


def expected_rows(documents: int) -> dict[str, int]:
    """Rows each raw table holds after a load of invoice_data.items(documents)."""
    seeded = invoice_data.items(documents)
    archived = [item for item in seeded["-documents-audit"] if item["actionType"] == "DemandArchived"]
    return {
        "raw.cases": documents + len(range(0, documents, 10)),
        "raw.metadata": documents,
        "raw.templates": len(seeded["-templates"]),
        "raw.audit": len(archived),
    }


def old_state(bundle_dags, warehouse) -> dict[str, tuple[int, str]]:
    result = run_dag(bundle_dags[DAG_ID], {"source_env": OLD_ENV})
    assert result.state == "success"
    return checksums(warehouse)


def dags_test_ok(conf: dict) -> None:
    process = airflow_dags_test(DAG_ID, conf)
    assert process.wait(timeout=900) == 0, f"rerun failed; log: {process.log_path}"


def test_sigkill_mid_copy_leaves_the_old_state_and_the_rerun_lands_the_new(faults, sources, bundle_dags, warehouse):
    before = old_state(bundle_dags, warehouse)
    with faults.inject(f"invoice: SIGKILL after {KILL_AFTER_ROWS} rows of raw.metadata's COPY"):
        process = airflow_dags_test(DAG_ID, BIG_RUN)
        # raw.metadata is the second table: raw.cases was already replaced in the same transaction.
        killed = sigkill_when(process, lambda: copy_rows_streamed(warehouse, "raw.metadata") > KILL_AFTER_ROWS)
        assert killed, f"the run ended before the kill point; log: {process.log_path}"
        assert checksums(warehouse) == before  # the old state, raw.cases included: never a mix

        dags_test_ok(BIG_RUN)
        after = checksums(warehouse)
        for relation, rows in expected_rows(BIG_DOCUMENTS).items():
            faults.rows_lost(rows, after[relation][0])
        assert after != before

        dags_test_ok(BIG_RUN)  # the same interval again: the same targets, to the byte
        assert checksums(warehouse) == after


def test_postgres_restart_mid_load_rolls_back_and_the_rerun_completes(faults, sources, bundle_dags, warehouse):
    before = old_state(bundle_dags, warehouse)
    with faults.inject("invoice: Postgres restarted during raw.metadata's COPY"):
        process = airflow_dags_test(DAG_ID, BIG_RUN)
        deadline = time.monotonic() + 300
        while copy_rows_streamed(warehouse, "raw.metadata") <= KILL_AFTER_ROWS:
            assert process.poll() is None, f"the run ended before the restart point; log: {process.log_path}"
            assert time.monotonic() < deadline, f"no COPY into raw.metadata; log: {process.log_path}"
            time.sleep(0.05)
        restart_postgres()
        # The task fails on its cut connection, to be retried after its delay (5 min): stop it there.
        deadline = time.monotonic() + 300
        while "new_state=up_for_retry" not in process.log_path.read_text(errors="replace"):
            assert process.poll() is None, f"the run ended instead of retrying; log: {process.log_path}"
            assert time.monotonic() < deadline, f"the load did not fail after the restart; log: {process.log_path}"
            time.sleep(0.5)
        sigkill_when(process, lambda: True)
        log = process.log_path.read_text(errors="replace")
        error = next(line for line in log.splitlines() if line.startswith("etl_bundle.common.db_errors.DatabaseError"))
        # the load's own error (retryable), told without values, not the quarantine's that followed it
        assert "load of raw.metadata rolled back, all four raw tables unchanged" in error
        assert "DOC-0" not in error

        with connect_warehouse() as fresh:  # the restart cut the old session
            assert checksums(fresh) == before
            dags_test_ok(BIG_RUN)
            for relation, rows in expected_rows(BIG_DOCUMENTS).items():
                faults.rows_lost(rows, checksums(fresh)[relation][0])


@pytest.mark.parametrize(
    ("throttled_scans", "retries"),
    [
        # The hook's default (no config_kwargs): botocore 1.44's standard mode, 4 attempts for DynamoDB;
        # 6 refusals outlast one request's attempts, so our retry in extract takes over.
        pytest.param(6, None, id="botocore-default"),
        # botocore told to give up after 2 attempts: our retry carries the rest.
        pytest.param(5, {"mode": "standard", "max_attempts": 2}, id="two-attempts", marks=pytest.mark.quick),
    ],
)
def test_throttled_scans_are_retried_and_the_load_lands_complete(
    faults, old_source, bundle_dags, monkeypatch, throttled_scans, retries
):
    import os

    moto = f"http://127.0.0.1:{old_source['services']['moto']['port']}"
    proxy = ThrottleProxy(0, moto, throttled_scans).start()
    try:
        connection = json.loads(os.environ["AIRFLOW_CONN_INVOICE_AWS"])
        connection["extra"] = {**connection["extra"], "endpoint_url": proxy.url}
        if retries:
            connection["extra"]["config_kwargs"] = {"retries": retries}
        monkeypatch.setenv("AIRFLOW_CONN_INVOICE_AWS", json.dumps(connection))
        with faults.inject(f"invoice: first {throttled_scans} Scans throttled (retries {retries or 'default'})"):
            # One segment: the throttled Scans are one request's tries in a row, not spread over four.
            result = run_dag(bundle_dags[DAG_ID], {"source_env": OLD_ENV, "scan_segments": 1})
            assert result.state == "success"
            assert proxy.throttled == throttled_scans and proxy.forwarded_scans > 0
            summary = xcom_value(result, DAG_ID, "load_raw_tables")
            for relation, rows in expected_rows(OLD_DOCUMENTS).items():
                faults.rows_lost(rows, summary[relation.removeprefix("raw.")]["loaded"])
    finally:
        proxy.stop()


@pytest.mark.quick
def test_hostile_items_each_become_a_quarantine_row_naming_table_key_and_field(
    faults, devstack_state, bundle_dags, warehouse
):
    env = "fhostile"
    seed_hostile(devstack_state, env, documents=20)
    result = run_dag(bundle_dags[DAG_ID], {"source_env": env})
    assert result.state == "success"
    rows = warehouse.execute(
        "SELECT table_name, item_key, field, reason FROM raw.load_rejects WHERE run_id = %s", (result.run_id,)
    ).fetchall()
    assert len(rows) == len(HOSTILE_REJECTS) + PLANTED_REJECTS
    by_key = {(table, key): f"raw.{table} key {key} field {field}: {reason}" for table, key, field, reason in rows}
    for table, key, field in sorted(HOSTILE_REJECTS):
        faults.bad_input(f"invoice: {key}", by_key.get((table, key), ""), f"raw.{table}", key, f"field {field}")
    summary = xcom_value(result, DAG_ID, "load_raw_tables")
    for relation, count in expected_rows(20).items():
        faults.rows_lost(count, summary[relation.removeprefix("raw.")]["loaded"])
