"""ecapris_statuses_sync end to end on the devstack: Oracle stand-in → Hasura stand-in → Moped."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from devstack import ecapris_data
from tests.integration.conftest import run_dag, task_states, xcom_value

pytestmark = pytest.mark.integration

SIZE = 200  # 20 subprojects: quick to seed per test
SUBPROJECTS = max(20, SIZE // 10)
DAG_ID = "ecapris_statuses_sync"
TEXT_COLUMNS = ("subproject_name", "sub_project_status_desc", "subproject_status_impacts", "summary_description")


@pytest.fixture
def ecapris_dag(bundle_dags, devstack_state):
    ecapris_data.seed(devstack_state, SIZE)
    return bundle_dags[DAG_ID]


def connect_database(state, database: str):
    from devstack.services import DATABASES, server_url

    return psycopg.connect(server_url(state["services"]["postgres"], DATABASES[database]), autocommit=True)


@pytest.fixture
def moped(devstack_state):
    with connect_database(devstack_state, "moped") as conn:
        yield conn


@pytest.fixture
def oracle_standin(devstack_state):
    with connect_database(devstack_state, "oracle_standin") as conn:
        yield conn


def moped_statuses(moped) -> dict[int, dict]:
    cursor = moped.cursor(row_factory=psycopg.rows.dict_row)
    rows = cursor.execute("SELECT * FROM ecapris_subproject_statuses").fetchall()
    return {row["subproject_status_id"]: row for row in rows}


def expected_status_ids(moped, oracle_standin, *, respect_sync_flag: bool = True) -> set[int]:
    """Oracle's statuses with a reviewer, for the numeric ids of Moped's live projects."""
    rows = moped.execute(
        "SELECT DISTINCT ecapris_subproject_id FROM moped_project"
        " WHERE NOT is_deleted AND ecapris_subproject_id IS NOT NULL"
        " AND (should_sync_ecapris_statuses OR NOT %s)",
        (respect_sync_flag,),
    ).fetchall()
    numbers = []
    for (moped_id,) in rows:
        try:
            numbers.append(Decimal(moped_id))
        except ArithmeticError:
            continue
    found = oracle_standin.execute(
        "SELECT sub_project_status_id FROM atd_sub_project_status_vw"
        " WHERE sp_number = ANY(%s) AND reviewed_by IS NOT NULL",
        (numbers,),
    ).fetchall()
    return {status_id for (status_id,) in found}


def sync_off_ids(moped) -> set[str]:
    rows = moped.execute(
        "SELECT ecapris_subproject_id FROM moped_project WHERE NOT should_sync_ecapris_statuses"
        " AND ecapris_subproject_id IS NOT NULL"
        " EXCEPT SELECT ecapris_subproject_id FROM moped_project WHERE should_sync_ecapris_statuses"
    ).fetchall()
    return {moped_id for (moped_id,) in rows}


def asset_event_extra(run) -> dict:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "moped.ecapris_subproject_statuses", AssetEvent.source_run_id == run.run_id)
        ).one()


def summary_of(run) -> dict:
    return xcom_value(run, DAG_ID, "upsert_statuses")


def test_first_run_lands_every_status_then_an_unchanged_rerun_changes_nothing(
    ecapris_dag, moped, oracle_standin, warehouse
):
    run = run_dag(ecapris_dag)
    assert run.state == "success", task_states(run)

    statuses = moped_statuses(moped)
    assert set(statuses) == expected_status_ids(moped, oracle_standin)
    summary = summary_of(run)
    assert summary["inserted"] == len(statuses) and summary["updated"] == 0
    assert summary["rejected"] == 1 and summary["ids_without_oracle_rows"] == 1 and summary["ids_not_numbers"] == 1
    # The Assets view shows what the update carried.
    assert asset_event_extra(run) == {
        "inserted": len(statuses),
        "updated": 0,
        "names_repaired": summary["names_repaired"],
        "unchanged": summary["unchanged"],
        "rejected": 1,
    }

    # Nothing for a project with sync off or a deleted one.
    synced_ids = {row["ecapris_subproject_id"] for row in statuses.values()}
    assert sync_off_ids(moped) and not synced_ids & sync_off_ids(moped)
    assert ecapris_data.subproject_id(SUBPROJECTS) not in synced_ids
    # Trailing zeros survive: ids arrive as Moped spells them.
    assert ecapris_data.subproject_id(0) == "10000.000" and "10000.000" in synced_ids

    # Mojibake repaired in every text column; users matched by email whatever its case.
    for row in statuses.values():
        for column in TEXT_COLUMNS:
            assert not any(marker in (row[column] or "") for marker in ("\u00c3", "\u00c2", "\u00e2\u20ac", "\u00bf"))
        assert row["created_by_user_id"] is not None
    descriptions = {row["sub_project_status_desc"] for row in statuses.values()}
    assert "Caf\u00e9 frontage \u2014 phase 2" in descriptions
    assert "Per FDU\u2019s request, design is on hold" in descriptions

    # Central wall times at both DST changes land on the right instants.
    reviewed = {row["review_timestamp"].astimezone(UTC) for row in statuses.values()}
    assert datetime(2025, 11, 2, 6, 30, tzinfo=UTC) in reviewed  # 01:30 CDT, the first of the two
    assert datetime(2025, 3, 9, 8, 30, tzinfo=UTC) in reviewed  # 02:30 does not exist: read as CST

    # The row without a reviewer is quarantined with its field, not sent.
    rejects = warehouse.execute(
        "SELECT field, source_row FROM staging.ecapris_status_rejects WHERE last_run_id = %s", (run.run_id,)
    ).fetchall()
    assert [field for field, _ in rejects] == ["reviewed_by_name"]
    assert rejects[0][1]["SUB_PROJECT_STATUS_ID"] not in statuses

    stamps = {sid: row["updated_at"] for sid, row in statuses.items()}
    rerun = run_dag(ecapris_dag)
    assert rerun.state == "success"
    again = summary_of(rerun)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, len(statuses))
    assert {sid: row["updated_at"] for sid, row in moped_statuses(moped).items()} == stamps


def test_a_changed_status_is_updated_keeping_name_and_review_time(ecapris_dag, moped, oracle_standin):
    assert run_dag(ecapris_dag).state == "success"
    before = moped_statuses(moped)
    status_id = min(before)
    oracle_standin.execute(
        "UPDATE ecapris_sub_project_status SET sub_project_status_desc = %s,"
        " curr_status_fl = CASE curr_status_fl WHEN 'Y' THEN 'N' ELSE 'Y' END,"
        " sp_name = 'Renamed in eCapris', status_review_date = status_review_date + interval '1 day'"
        " WHERE sub_project_status_id = %s",
        ("Construction 90%", status_id),
    )

    run = run_dag(ecapris_dag)
    assert run.state == "success"
    summary = summary_of(run)
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 1, len(before) - 1)
    after = moped_statuses(moped)
    changed = after[status_id]
    assert changed["sub_project_status_desc"] == "Construction 90%"
    assert changed["current_status_fl"] is not before[status_id]["current_status_fl"]
    # Not in the mutation's update_columns: they keep their first values.
    assert changed["subproject_name"] == before[status_id]["subproject_name"]
    assert changed["review_timestamp"] == before[status_id]["review_timestamp"]
    assert changed["updated_at"] > before[status_id]["updated_at"]
    assert all(after[sid]["updated_at"] == row["updated_at"] for sid, row in before.items() if sid != status_id)


def test_dry_run_reports_the_plan_and_writes_nothing(ecapris_dag, moped, oracle_standin, warehouse):
    run = run_dag(ecapris_dag, dry_run=True)
    assert run.state == "success"
    assert task_states(run)["upsert_statuses"] == ["skipped"]
    plan = xcom_value(run, DAG_ID, "plan_changes")
    assert plan["summary"]["to_insert"] == len(expected_status_ids(moped, oracle_standin)) > 0
    assert moped_statuses(moped) == {}
    assert warehouse.execute(
        "SELECT count(*) FROM staging.ecapris_status_rejects WHERE last_run_id = %s", (run.run_id,)
    ).fetchone() == (0,)


def test_sync_flag_off_syncs_every_live_project_but_never_a_deleted_one(ecapris_dag, moped, oracle_standin):
    run = run_dag(ecapris_dag, respect_sync_flag=False)
    assert run.state == "success"
    statuses = moped_statuses(moped)
    assert set(statuses) == expected_status_ids(moped, oracle_standin, respect_sync_flag=False)
    synced_ids = {row["ecapris_subproject_id"] for row in statuses.values()}
    assert sync_off_ids(moped) <= synced_ids
    assert ecapris_data.subproject_id(SUBPROJECTS) not in synced_ids


def test_batch_size_does_not_change_what_lands(ecapris_dag, devstack_state, moped):
    def landed() -> dict[int, tuple]:
        ignored = {"id", "created_at", "updated_at"}
        return {
            sid: tuple(v for k, v in sorted(row.items()) if k not in ignored)
            for sid, row in moped_statuses(moped).items()
        }

    assert run_dag(ecapris_dag).state == "success"
    default_batches = landed()
    ecapris_data.seed(devstack_state, SIZE)
    run = run_dag(ecapris_dag, batch_size=3)
    assert run.state == "success"
    assert landed() == default_batches


def test_a_wrong_admin_secret_fails_clearly_and_never_shows_the_secret(ecapris_dag, moped, monkeypatch, capfd, caplog):
    from etl_bundle.ecapris.moped import HasuraError, MopedClient

    real = json.loads(os.environ["AIRFLOW_CONN_MOPED_HASURA"])
    wrong_secret = "wrong-secret-7f3a9c"
    monkeypatch.setenv("AIRFLOW_CONN_MOPED_HASURA", json.dumps({**real, "password": wrong_secret}))

    with pytest.raises(HasuraError, match="invalid x-hasura-admin-secret") as failure:
        MopedClient("moped_hasura").subproject_ids(respect_sync_flag=True)
    assert "admin secret" in str(failure.value)  # the hint names what to check

    run = run_dag(ecapris_dag)
    assert run.state == "failed"
    assert task_states(run)["list_subprojects"] == ["failed"]
    assert moped_statuses(moped) == {}
    output = "".join(capfd.readouterr()) + caplog.text
    assert "invalid x-hasura-admin-secret" in output  # the task's log says why, ...
    assert wrong_secret not in output and real["password"] not in output  # ... and shows no secret
    assert wrong_secret not in str(failure.value)


def test_a_mutation_hasura_rejects_fails_with_its_message_and_inserts_nothing(ecapris_dag, moped):
    from etl_bundle.ecapris.moped import HasuraError, MopedClient

    good = {
        "ecapris_subproject_id": "10000.000",
        "subproject_name": "Subproject 0",
        "subproject_status_id": 1,
        "current_status_fl": True,
        "sub_project_status_desc": "Design 30%",
        "review_timestamp": "2025-06-02T09:00:00-05:00",
        "subproject_status_impacts": None,
        "summary_description": None,
        "reviewed_by_name": "Garcia, Ana",
        "reviewed_by_email": "ana.garcia@austintexas.gov",
    }
    missing_reviewer = {**good, "subproject_status_id": 2, "reviewed_by_name": None}
    with pytest.raises(HasuraError, match="reviewed_by_name"):
        MopedClient("moped_hasura").upsert_statuses([good, missing_reviewer])
    assert moped_statuses(moped) == {}  # one request, one transaction: the good row is not kept either


def test_hasura_unavailable_is_retried_with_backoff_then_fails_as_transient(devstack_state):
    from devstack.services import hasura_secret_file
    from etl_bundle.common.http_retries import TransientHttpError
    from etl_bundle.ecapris.moped import MopedClient

    unavailable = hasura_secret_file().with_name("unavailable")
    client = MopedClient("moped_hasura", attempts=3)
    try:
        unavailable.write_text("2")
        assert client.subproject_ids(respect_sync_flag=True)  # answered on the third try
        assert unavailable.read_text() == "0"

        unavailable.write_text("5")
        with pytest.raises(TransientHttpError, match="HTTP 503"):
            client.subproject_ids(respect_sync_flag=True)
        assert unavailable.read_text() == "2"  # three tries, no more
    finally:
        unavailable.unlink(missing_ok=True)


def test_names_stored_garbled_are_repaired_and_nothing_else_changes(ecapris_dag, moped, oracle_standin):
    assert run_dag(ecapris_dag).state == "success"
    garbled_id, renamed_id = sorted(moped_statuses(moped))[:2]
    name = "Caf\u00e9 Street \u2013 phase 1"
    oracle_standin.execute(
        "UPDATE ecapris_sub_project_status SET sp_name = %s WHERE sub_project_status_id = %s", (name, garbled_id)
    )
    # As the original left them: the name garbled (UTF-8 read as cp1252), or an old name kept.
    moped.execute(
        "UPDATE ecapris_subproject_statuses SET subproject_name = %s WHERE subproject_status_id = %s",
        (name.encode("utf-8").decode("cp1252"), garbled_id),
    )
    moped.execute(
        "UPDATE ecapris_subproject_statuses SET subproject_name = 'Old name' WHERE subproject_status_id = %s",
        (renamed_id,),
    )
    before = moped_statuses(moped)

    run = run_dag(ecapris_dag)
    assert run.state == "success", task_states(run)
    summary = summary_of(run)
    assert (summary["names_to_repair"], summary["names_repaired"], summary["updated"]) == (1, 1, 0)
    after = moped_statuses(moped)
    assert after[garbled_id]["subproject_name"] == name
    assert after[renamed_id]["subproject_name"] == "Old name"  # a rename is not a repair: first insert kept
    for column in ("review_timestamp", "sub_project_status_desc", "reviewed_by_name", "created_by_user_id"):
        assert after[garbled_id][column] == before[garbled_id][column]
    assert {sid: row for sid, row in after.items() if sid != garbled_id} == {
        sid: row for sid, row in before.items() if sid != garbled_id
    }


# --- the stand-in's request log: what reached Hasura -------------------------------------


class HasuraRequests:
    """The Hasura stand-in's request log from the moment this is made (one dict per POST)."""

    def __init__(self):
        from devstack.services import hasura_secret_file

        self.path = hasura_secret_file().with_name("requests.log")
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def all(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as log:
            log.seek(self.start)
            return [json.loads(line) for line in log.read().decode().splitlines() if line.strip()]

    def mutations(self) -> list[dict]:
        return [
            r
            for r in self.all()
            if {"insert_ecapris_subproject_statuses", "update_ecapris_subproject_statuses_many"}
            & set(r.get("root_fields") or [])
        ]

    def written_ids(self) -> list[int]:
        """Status ids written by committed mutations, once per write."""
        return [sid for r in self.mutations() if r["committed"] for sid in r["written_status_ids"]]


def test_the_admin_secret_never_goes_over_plain_http_to_a_host_that_is_not_loopback(ecapris_dag, moped, monkeypatch):
    from airflow.providers.http.hooks.http import HttpHook

    from etl_bundle.ecapris.moped import InsecureTransportError, MopedClient

    real = json.loads(os.environ["AIRFLOW_CONN_MOPED_HASURA"])
    # Moped's Hasura by name over plain HTTP, reached through a proxy that is the stand-in itself:
    # whatever is sent, the stand-in (playing whoever sits on the path) logs.
    on_the_path = {"http": f"http://{real['host']}:{real['port']}"}
    insecure = {"conn_type": "http", "host": "moped-hasura.example.org", "password": real["password"]}
    monkeypatch.setenv("AIRFLOW_CONN_MOPED_HASURA", json.dumps({**insecure, "extra": {"proxies": on_the_path}}))

    seen = HasuraRequests()
    HttpHook(method="POST", http_conn_id="moped_hasura").run(
        "/v1/graphql", data="{}", extra_options={"check_response": False}
    )
    assert len(seen.all()) == 1, "the probe: an unchecked request over this connection reaches the path"

    seen = HasuraRequests()
    with pytest.raises(InsecureTransportError) as refused:
        MopedClient("moped_hasura").subproject_ids(respect_sync_flag=True)
    assert "'moped_hasura'" in str(refused.value) and "plain HTTP" in str(refused.value)
    assert real["password"] not in str(refused.value)
    run = run_dag(ecapris_dag)
    assert run.state == "failed" and task_states(run)["list_subprojects"] == ["failed"]
    assert seen.all() == [], "nothing was sent"
    assert moped_statuses(moped) == {}


def test_a_retry_of_the_upsert_sends_nothing_an_earlier_try_applied(ecapris_dag, devstack_state, moped):
    from etl_bundle.ecapris.moped import MopedClient
    from etl_bundle.ecapris.sync import list_subprojects, plan_sync, send_changes

    planned = plan_sync(
        list_subprojects("moped_hasura", respect_sync_flag=True),
        oracle_conn_id="ecapris_oracle",
        hasura_conn_id="moped_hasura",
        warehouse_conn_id="warehouse_postgres",
        batch_size=5,
        run_id="manual__retry-of-the-upsert",
        dry_run=False,
    )
    objects = planned["objects"]
    assert len(objects) > 10
    # The first try applied two batches, then was killed: the retry gets the same plan (XCom).
    MopedClient("moped_hasura").upsert_statuses(objects[:5])
    MopedClient("moped_hasura").upsert_statuses(objects[5:10])
    stamps = {sid: row["updated_at"] for sid, row in moped_statuses(moped).items()}

    seen = HasuraRequests()
    summary = send_changes(planned, hasura_conn_id="moped_hasura", batch_size=5)
    written = seen.written_ids()
    assert sorted(written) == sorted(s["subproject_status_id"] for s in objects[10:])
    assert summary["already_applied"] == 10 and summary["inserted"] == len(objects) - 10
    after = moped_statuses(moped)
    assert {sid: after[sid]["updated_at"] for sid in stamps} == stamps, "applied rows were not touched again"
    assert set(after) == {s["subproject_status_id"] for s in objects}

    seen = HasuraRequests()
    again = send_changes(planned, hasura_conn_id="moped_hasura", batch_size=5)
    assert seen.mutations() == [] and again["already_applied"] == len(objects)


# --- the quarantine: once per bad row, first seen kept, a retention ------------------------


def quarantined(warehouse) -> list[dict]:
    cursor = warehouse.cursor(row_factory=psycopg.rows.dict_row)
    return cursor.execute(
        "SELECT * FROM staging.ecapris_status_rejects ORDER BY subproject_status_id, copy_number"
    ).fetchall()


def test_a_bad_row_is_quarantined_once_and_keeps_its_first_sighting(ecapris_dag, warehouse):
    from etl_bundle.ecapris.sync import quarantine_rejects, read_statuses
    from etl_bundle.ecapris.transforms import transform_rows

    warehouse.execute("TRUNCATE staging.ecapris_status_rejects")
    first = run_dag(ecapris_dag)
    assert first.state == "success"
    [row] = quarantined(warehouse)
    assert (row["first_run_id"], row["last_run_id"], row["seen_count"]) == (first.run_id, first.run_id, 1)

    second = run_dag(ecapris_dag)
    assert second.state == "success"
    [again] = quarantined(warehouse)
    assert again["first_seen_at"] == row["first_seen_at"] and again["last_seen_at"] > row["last_seen_at"]
    assert (again["first_run_id"], again["last_run_id"], again["seen_count"]) == (first.run_id, second.run_id, 2)
    assert summary_of(second)["quarantined_seen_again"] == 1 and summary_of(second)["quarantined_new"] == 0

    # A retry of the second run (the same rows again, the same run id) adds and changes nothing.
    rows = read_statuses("ecapris_oracle", [Decimal(ecapris_data.subproject_id(1))], batch_size=10)
    rejects = transform_rows(rows).rejects
    counts = quarantine_rejects(rejects, "warehouse_postgres", second.run_id, retention_days=30, dry_run=False)
    assert (counts["quarantined_new"], counts["quarantined_seen_again"]) == (0, 0)
    assert quarantined(warehouse) == [again]


def test_identical_bad_rows_are_each_kept(warehouse):
    from etl_bundle.ecapris.sync import quarantine_rejects
    from etl_bundle.ecapris.transforms import transform_rows

    warehouse.execute("TRUNCATE staging.ecapris_status_rejects")
    row = {"SUB_PROJECT_STATUS_ID": 7, "SP_NUMBER": "10000.000", "SP_NAME": None, "REVIEWED_BY": "Garcia, Ana"}
    rejects = transform_rows([row, dict(row), dict(row)]).rejects
    assert len(rejects) == 3
    counts = quarantine_rejects(rejects, "warehouse_postgres", "manual__copies", retention_days=30, dry_run=False)
    assert counts["quarantined_new"] == 3
    assert [r["copy_number"] for r in quarantined(warehouse)] == [1, 2, 3]


def test_quarantined_rows_not_seen_for_the_retention_are_purged(warehouse):
    from etl_bundle.ecapris.sync import quarantine_rejects
    from etl_bundle.ecapris.transforms import transform_rows

    warehouse.execute("TRUNCATE staging.ecapris_status_rejects")
    rows = [
        {"SUB_PROJECT_STATUS_ID": n, "SP_NUMBER": "10000.000", "SP_NAME": None, "REVIEWED_BY": "Garcia, Ana"}
        for n in (1, 2, 3)
    ]
    quarantine_rejects(transform_rows(rows).rejects, "warehouse_postgres", "run-a", retention_days=30, dry_run=False)
    warehouse.execute(
        "UPDATE staging.ecapris_status_rejects SET last_seen_at = now() - (CASE subproject_status_id"
        " WHEN '1' THEN 31 WHEN '2' THEN 29 ELSE 90 END) * interval '1 day',"
        " first_seen_at = now() - interval '100 days'"
    )
    # Status 3 is still bad at the source: seen again now, so it stays whatever its age.
    counts = quarantine_rejects(
        transform_rows(rows[2:]).rejects, "warehouse_postgres", "run-b", retention_days=30, dry_run=False
    )
    assert counts["quarantine_purged"] == 1
    left = {r["subproject_status_id"]: r for r in quarantined(warehouse)}
    assert set(left) == {"2", "3"}
    assert left["3"]["seen_count"] == 2 and left["3"]["first_seen_at"] < left["3"]["last_seen_at"]


def test_the_migration_folds_the_duplicates_earlier_runs_and_retries_wrote(scratch_warehouse):
    from etl_bundle.common.migrations import upgrade
    from etl_bundle.common.paths import SQL_DIR

    with scratch_warehouse() as conn:
        conn.execute((SQL_DIR / "ecapris" / "migrations" / "0001_status_rejects.sql").read_text())
        insert = (
            "INSERT INTO staging.ecapris_status_rejects (run_id, subproject_status_id, field, reason, source_row,"
            " rejected_at) VALUES (%s, %s, 'reviewed_by_name', 'missing', %s, %s::timestamptz)"
        )
        bad = json.dumps({"SUB_PROJECT_STATUS_ID": 5, "REVIEWED_BY": None})
        other = json.dumps({"SUB_PROJECT_STATUS_ID": 6, "REVIEWED_BY": None})
        legacy = [
            ("run-1", "5", bad, "2026-01-01 10:00Z"),
            ("run-1", "5", bad, "2026-01-01 10:00Z"),  # an identical second row in the same read
            ("run-1", "5", bad, "2026-01-01 10:05Z"),  # the retry of run-1 wrote them again
            ("run-1", "5", bad, "2026-01-01 10:05Z"),
            ("run-2", "5", bad, "2026-01-01 10:30Z"),
            ("run-2", "5", bad, "2026-01-01 10:30Z"),
            ("run-2", "6", other, "2026-01-01 10:30Z"),
        ]
        conn.cursor().executemany(insert, legacy)
        conn.commit()
    assert upgrade("ecapris", scratch_warehouse) == ["0001_status_rejects", "0002_reject_sightings"]
    with scratch_warehouse() as conn:
        rows = conn.execute(
            "SELECT subproject_status_id, copy_number, first_run_id, last_run_id, seen_count,"
            " first_seen_at::text, last_seen_at::text FROM staging.ecapris_status_rejects"
            " ORDER BY subproject_status_id, copy_number"
        ).fetchall()
    assert [r[:5] for r in rows] == [
        ("5", 1, "run-1", "run-2", 2),
        ("5", 2, "run-1", "run-2", 2),
        ("6", 1, "run-2", "run-2", 1),
    ]
    assert rows[0][5].startswith("2026-01-01 10:00") and rows[0][6].startswith("2026-01-01 10:30")


def test_an_answer_lost_after_hasura_committed_is_not_followed_by_the_same_mutation(ecapris_dag, moped):
    from devstack.services import hasura_secret_file

    lost = hasura_secret_file().with_name("answers_lost")
    seen = HasuraRequests()
    try:
        lost.write_text("1")
        run = run_dag(ecapris_dag, batch_size=4)
    finally:
        lost.unlink(missing_ok=True)
    assert run.state == "success", task_states(run)
    assert any(r["http_status"] is None and r["committed"] for r in seen.mutations()), "the fault was injected"
    written = seen.written_ids()
    assert len(written) == len(set(written)) == len(moped_statuses(moped)), "no status was written twice"


def test_a_quarantine_write_the_database_refuses_fails_without_the_rows_values(scratch_warehouse, caplog):
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.common.migrations import upgrade
    from etl_bundle.ecapris.sync import quarantine_rejects
    from etl_bundle.ecapris.transforms import transform_rows

    upgrade("ecapris", scratch_warehouse)
    with scratch_warehouse() as conn:
        # A rule the rows break, so that the server's answer quotes the failing row.
        conn.execute("ALTER TABLE staging.ecapris_status_rejects ADD CONSTRAINT probe CHECK (source_row ? 'NOPE')")
        conn.commit()
    row = {"SUB_PROJECT_STATUS_ID": 5, "SP_NUMBER": "10000.000", "SP_NAME": None, "REVIEWED_BY": "Roe, Jane"}
    with pytest.raises(AirflowFailException) as refused:
        quarantine_rejects(
            transform_rows([row]).rejects, "warehouse_postgres", "run-x", retention_days=30, dry_run=False
        )
    text = str(refused.value)
    assert "staging.ecapris_status_rejects" in text and "probe" in text and "SQLSTATE 23514" in text
    assert "Roe, Jane" not in text and refused.value.__cause__ is None
    assert "Roe, Jane" not in caplog.text
