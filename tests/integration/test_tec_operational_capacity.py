"""tec_operational_capacity end to end on the devstack: Energy Transfer stand-in → Postgres."""

from __future__ import annotations

import time
from datetime import date

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et
from devstack import paths
from tests.integration.conftest import run_dag, task_states

pytestmark = pytest.mark.integration

LOCATIONS = 20
FAST = {"poke_interval_seconds": 1, "lookback_days": 0}
CAPACITY_TABLES = [
    sql.Identifier("staging", name)
    for name in (
        "operational_capacity",
        "operational_capacity_history",
        "operational_capacity_rejects",
        "operational_capacity_loads",
    )
]


@pytest.fixture(scope="module")
def tec_dag(bundle_dags, warehouse):
    """The DAG, on a warehouse that holds the original's table (as the devstack seed leaves it), migrated."""
    from etl_bundle.tec.schema import migrate_endpoints

    et.prepare_warehouse(warehouse)
    migrate_endpoints("warehouse_postgres", None)
    return bundle_dags["tec_operational_capacity"]


@pytest.fixture
def fresh_day(warehouse):
    """A gas day of its own for a test: no rows in the tables, no files on the stand-in."""
    days = []

    def make(day: date) -> date:
        for table in CAPACITY_TABLES:
            warehouse.execute(sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(table), (day,))
        for cycle in et.CYCLES:
            et.unpublish(day, cycle)
        days.append(day)
        return day

    return make


def publish_all(day: date, cycles=("Evening", "Intraday 1", "Intraday 2", "Intraday 3")) -> dict[str, str]:
    texts = {}
    for cycle in cycles:
        texts[cycle] = et.capacity_csv(day, cycle, LOCATIONS)
        et.publish(day, cycle, texts[cycle])
    return texts


def run(dag, **conf):
    return run_dag(dag, FAST, **conf)


def slice_counts(warehouse, day: date) -> dict[str, int]:
    """cycle_id -> rows of ``day`` (the stored cycle_id values are the original's: Intraday_1, …)."""
    rows = warehouse.execute(
        "SELECT cycle_id, count(*) FROM staging.operational_capacity WHERE measure_date = %s GROUP BY cycle_id",
        (day,),
    ).fetchall()
    return dict(rows)


def hours_until(seconds_from_now: float, day: date) -> float:
    from etl_bundle.tec.transforms import gas_day_start

    return (time.time() + seconds_from_now - gas_day_start(day).timestamp()) / 3600


def test_one_gas_day_end_to_end(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 2))
    texts = publish_all(day)
    result = run(tec_dag, gas_day=day.isoformat())
    assert result.state == "success"
    states = task_states(result)
    assert states["cycle.quality_gate"] == ["success"] * 4
    assert slice_counts(warehouse, day) == {"Evening": 20, "Intraday_1": 20, "Intraday_2": 20, "Intraday_3": 20}
    history = warehouse.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_current AND valid_to IS NULL) "
        "FROM staging.operational_capacity_history WHERE measure_date = %s",
        (day,),
    ).fetchone()
    assert history == (80, 80)
    # Values land exactly as published: compare one row with the file.
    first_line = texts["Intraday 1"].splitlines()[1].split(",")
    row = warehouse.execute(
        "SELECT dc, opc, tsq, oac, source_system FROM staging.operational_capacity "
        "WHERE measure_date = %s AND cycle_id = 'Intraday_1' AND loc = %s",
        (day, first_line[0]),
    ).fetchone()
    assert [str(v) for v in row[:4]] == first_line[6:10]
    assert row[4] == "energy_transfer"
    # Each cycle's update of the Asset carries its counts, for the Assets view.
    extras = asset_event_extras(result)
    assert sorted(extra["cycle"] for extra in extras) == ["Evening", "Intraday 1", "Intraday 2", "Intraday 3"]
    assert {(e["rows_loaded"], e["rows_rejected"], e["versions_opened"], e["skipped"]) for e in extras} == {
        (20, 0, 20, False)
    }


def asset_event_extras(result) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            event.extra
            for event in session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == result.run_id))
        ]


def test_changed_values_open_one_version_and_unchanged_rerun_changes_nothing(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 3))
    texts = publish_all(day, cycles=("Intraday 2",))
    assert run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"]).state == "success"

    lines = texts["Intraday 2"].splitlines()
    fields = lines[3].split(",")
    changed_loc = fields[0]
    fields[8], fields[9] = "0", fields[7]  # TSQ to 0, OAC to OPC
    lines[3] = ",".join(fields)
    et.publish(day, "Intraday 2", "\n".join(lines) + "\n")
    before = dict(
        warehouse.execute(
            "SELECT loc, xmin::text FROM staging.operational_capacity WHERE measure_date = %s",
            (day,),
        ).fetchall()
    )
    assert run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"]).state == "success"

    versions = warehouse.execute(
        "SELECT tsq, is_current, valid_from, valid_to FROM staging.operational_capacity_history "
        "WHERE measure_date = %s AND loc = %s ORDER BY version_id",
        (day, changed_loc),
    ).fetchall()
    assert len(versions) == 2
    (old_tsq, old_current, _, old_to), (new_tsq, new_current, new_from, new_to) = versions
    assert (old_current, new_current, new_to) == (False, True, None)
    assert old_to == new_from
    assert new_tsq == 0 and old_tsq != 0
    assert warehouse.execute(
        "SELECT count(*) FROM staging.operational_capacity_history WHERE measure_date = %s",
        (day,),
    ).fetchone() == (LOCATIONS + 1,)
    after = dict(
        warehouse.execute(
            "SELECT loc, xmin::text FROM staging.operational_capacity WHERE measure_date = %s",
            (day,),
        ).fetchall()
    )
    rewritten = {loc for loc in before if before[loc] != after[loc]}
    assert rewritten == {changed_loc}, "only the changed row may be rewritten"

    # Unchanged rerun: no row rewritten, no version opened or closed.
    history_before = warehouse.execute(
        "SELECT version_id, valid_to FROM staging.operational_capacity_history WHERE measure_date = %s ORDER BY 1",
        (day,),
    ).fetchall()
    assert run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"]).state == "success"
    assert (
        dict(
            warehouse.execute(
                "SELECT loc, xmin::text FROM staging.operational_capacity WHERE measure_date = %s",
                (day,),
            ).fetchall()
        )
        == after
    )
    assert (
        warehouse.execute(
            "SELECT version_id, valid_to FROM staging.operational_capacity_history WHERE measure_date = %s ORDER BY 1",
            (day,),
        ).fetchall()
        == history_before
    )


@pytest.mark.parametrize("wait_mode", ["reschedule", "deferrable"])
def test_a_late_cycle_is_loaded_once_it_appears(tec_dag, warehouse, fresh_day, caplog, wait_mode):
    import logging
    import threading
    from datetime import UTC, datetime

    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    day = fresh_day(date(2025, 6, 4))
    started = datetime.now(UTC)

    # `dags test` runs a trigger in line with the task instance back in QUEUED (never DEFERRED
    # in the metadata DB), so the deferred wait is seen by its log line; a reschedule by its state.
    trigger_running = threading.Event()

    class TriggerInLine(logging.Handler):
        def emit(self, record):
            if "running trigger in line" in record.getMessage():
                trigger_running.set()

    def sensor_rescheduled() -> bool:
        with create_session() as session:
            return bool(
                session.scalar(
                    select(func.count())
                    .select_from(TaskInstance)
                    .where(
                        TaskInstance.task_id == "cycle.wait_until_published",
                        TaskInstance.start_date >= started,
                        TaskInstance.state == "up_for_reschedule",
                    )
                )
            )

    def publish_once_the_sensor_waits():
        # Published once the sensor gave its slot back, however long the run took to reach it.
        for _ in range(1200):
            if trigger_running.is_set() or sensor_rescheduled():
                break
            time.sleep(0.5)
        et.publish(day, "Evening", et.capacity_csv(day, "Evening", LOCATIONS))

    dag_log = logging.getLogger("airflow.sdk.definitions.dag")
    watcher = TriggerInLine()
    dag_log.addHandler(watcher)
    publisher = threading.Thread(target=publish_once_the_sensor_waits, daemon=True)
    publisher.start()
    with caplog.at_level(logging.INFO, logger="airflow.sdk.definitions.dag"):
        result = run(
            tec_dag,
            gas_day=day.isoformat(),
            cycles=["Evening"],
            publish_deadline_hours=hours_until(120, day),
            wait_mode=wait_mode,
        )
    publisher.join(timeout=5)
    dag_log.removeHandler(watcher)
    assert result.state == "success"
    assert slice_counts(warehouse, day) == {"Evening": LOCATIONS}
    [sensor] = [ti for ti in result.get_task_instances() if ti.task_id == "cycle.wait_until_published"]
    with create_session() as session:
        reschedules = session.scalar(select(func.count()).where(TaskReschedule.ti_id == sensor.id))
    if wait_mode == "reschedule":
        assert reschedules >= 1, "the sensor should have given its slot back while the file was missing"
    else:  # the wait went to the trigger (which `dags test` runs in line), not to reschedules
        assert reschedules == 0 and "running trigger in line" in caplog.text


def test_never_published_and_html_error_page_end_skipped_and_the_run_is_not_green(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 5))
    page = "<html><body>Service unavailable" + " " * 300 + "</body></html>"
    et.publish(day, "Intraday 1", page, name="error.html")
    result = run(
        tec_dag,
        gas_day=day.isoformat(),
        cycles=["Intraday 1", "Intraday 3"],
        publish_deadline_hours=hours_until(4, day),
    )
    assert result.state == "failed", "a run whose every cycle ended skipped must not be green"
    states = task_states(result)
    assert states["cycle.wait_until_published"] == ["skipped", "skipped"]
    assert states["cycle.load"] == ["skipped", "skipped"]
    assert states["check_cycles"] == ["failed"]
    assert slice_counts(warehouse, day) == {}


def test_bad_rows_are_rejected_and_a_bad_header_fails_naming_nothing_loaded(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 6))
    good = et.capacity_csv(day, "Intraday 1", LOCATIONS).splitlines()
    good[2] = good[2].replace("," + good[2].split(",")[8] + ",", ",lots,", 1)  # TSQ not a number
    et.publish(day, "Intraday 1", "\n".join(good) + "\n")
    bad_header = et.capacity_csv(day, "Intraday 2", LOCATIONS).replace("Loc Zn,", "Loc Zone Code,", 1)
    et.publish(day, "Intraday 2", bad_header)

    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 1", "Intraday 2"])
    assert result.state == "failed"
    assert task_states(result)["cycle.load"] == ["success", "failed"]
    assert task_states(result)["check_cycles"] == ["failed"]
    assert slice_counts(warehouse, day) == {"Intraday_1": LOCATIONS - 1}
    rejects = warehouse.execute(
        "SELECT line_number, field, reason, raw_record->>'loc' FROM staging.operational_capacity_rejects "
        "WHERE measure_date = %s",
        (day,),
    ).fetchall()
    assert rejects == [(3, "tsq", "not a number: 'lots'", good[2].split(",")[0])]


def test_dry_run_writes_nothing(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 7))
    publish_all(day, cycles=("Evening",))
    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Evening"], dry_run=True)
    assert result.state == "success"
    states = task_states(result)
    assert states["cycle.wait_until_published"] == ["success"]
    assert states["cycle.load"] == ["skipped"] and states["cycle.quality_gate"] == ["skipped"]
    assert states["check_cycles"] == ["success"]
    assert slice_counts(warehouse, day) == {}
    assert warehouse.execute(
        "SELECT count(*) FROM staging.operational_capacity_history WHERE measure_date = %s",
        (day,),
    ).fetchone() == (0,)


def test_a_5xx_is_retried_with_backoff_and_a_4xx_fails_at_once_with_the_url(devstack_state, fresh_day):
    from airflow.sdk.exceptions import AirflowFailException

    from devstack import paths
    from etl_bundle.common.http_retries import TransientHttpError
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.fetch import download

    day = fresh_day(date(2025, 6, 8))
    config = load_config()
    endpoint = config["endpoints"]["tw_operational_capacity"]
    folder = et.cycle_dir(day, "Evening")
    folder.mkdir(parents=True, exist_ok=True)
    log = paths.log_dir() / "energy_transfer.log"
    marker = "gasDay=06%2F08%2F2025"

    (folder / "status").write_text("503")
    seen = log.read_text().count(marker)
    with pytest.raises(TransientHttpError, match="HTTP 503"):
        download("energy_transfer", endpoint, day, 1, {**config["request"], "retry_attempts": 3})
    assert log.read_text().count(marker) - seen == 3

    (folder / "status").write_text("404")
    seen = log.read_text().count(marker)
    with pytest.raises(AirflowFailException, match=r"HTTP 404 for http://127\.0\.0\.1:\d+/ipost/TW/capacity/"):
        download("energy_transfer", endpoint, day, 1, config["request"])
    assert log.read_text().count(marker) - seen == 1


def test_a_403_or_429_is_retried_honouring_retry_after_and_the_sensor_waits_it_out(
    tec_dag, warehouse, devstack_state, fresh_day
):
    from devstack import paths
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.fetch import ThrottledError, download

    day = fresh_day(date(2025, 6, 9))
    config = load_config()
    endpoint = config["endpoints"]["tw_operational_capacity"]
    publish_all(day, cycles=("Evening",))
    code = config["cycles"]["Evening"]["code"]

    throttle_file = paths.energy_transfer_dir() / "throttle"
    et.throttle(429, 2, retry_after=1)
    answer = download("energy_transfer", endpoint, day, code, {**config["request"], "retry_attempts": 3})
    assert answer.status == 200 and "Evening" in answer.filename
    assert not throttle_file.exists(), "both refusals were retried"  # the wait itself: unit-tested (_backoff)

    et.throttle(403, 3)
    with pytest.raises(ThrottledError, match=r"HTTP 403 .* for http://127\.0\.0\.1:\d+/ipost/"):
        download("energy_transfer", endpoint, day, code, {**config["request"], "retry_attempts": 2})

    # A Retry-After longer than a task should sleep: given up at once, asked again later.
    et.throttle(429, 5, retry_after=3600)
    with pytest.raises(ThrottledError, match="HTTP 429"):
        download("energy_transfer", endpoint, day, code, {**config["request"], "retry_attempts": 3})
    assert throttle_file.read_text() == "429 4 3600", "one request, no retry"
    throttle_file.unlink()

    # The sensor takes a refusal that outlasts the retries as "not yet" and loads on a later poke.
    et.throttle(403, 4)
    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Evening"])
    assert result.state == "success"
    assert slice_counts(warehouse, day) == {"Evening": LOCATIONS}


def test_a_wrong_cycle_code_is_caught_warned_alerted_and_the_run_fails(
    tec_dag, warehouse, fresh_day, maildir, monkeypatch, tmp_path, caplog
):
    """Intraday 1 configured with code 2 (unknown to Energy Transfer): the site answers with
    its default, Timely's file, which must not be loaded as Intraday 1."""
    import logging

    import yaml

    from etl_bundle.tec import config as tec_config

    wrong = yaml.safe_load(tec_config.CONFIG_PATH.read_text())
    wrong["cycles"]["Intraday 1"]["code"] = 2
    wrong_path = tmp_path / "energy_transfer.yaml"
    wrong_path.write_text(yaml.safe_dump(wrong))
    monkeypatch.setattr(tec_config, "CONFIG_PATH", wrong_path)

    day = fresh_day(date(2025, 6, 11))
    publish_all(day, cycles=("Timely", "Intraday 1"))
    seen = set(maildir.keys())
    with caplog.at_level(logging.WARNING):
        result = run(
            tec_dag, gas_day=day.isoformat(), cycles=["Intraday 1"], publish_deadline_hours=hours_until(3, day)
        )
    assert result.state == "failed"
    states = task_states(result)
    assert states["cycle.wait_until_published"] == ["skipped"]
    assert states["check_cycles"] == ["failed"]
    assert slice_counts(warehouse, day) == {}, "Timely's file was loaded as Intraday 1"
    assert any("cycle code 2" in record.getMessage() and "'Timely'" in record.getMessage() for record in caplog.records)
    subjects = [maildir[key]["Subject"] for key in set(maildir.keys()) - seen]
    assert any("cycle code 2 answers 'Timely', not 'Intraday 1'" in subject for subject in subjects), subjects


def test_the_look_back_loads_missed_days_and_picks_up_a_republished_cycle(tec_dag, warehouse, fresh_day):
    today = fresh_day(date(2025, 6, 16))
    yesterday, missed = fresh_day(date(2025, 6, 15)), fresh_day(date(2025, 6, 14))
    fresh_day(date(2025, 6, 13))
    for day in (today, yesterday, missed):
        publish_all(day, cycles=("Evening",))
    conf = {"cycles": ["Evening"], "lookback_days": 3}
    assert run(tec_dag, gas_day=yesterday.isoformat(), **{**conf, "lookback_days": 0}).state == "success"

    # Today's run loads the day an outage missed, and leaves yesterday unchanged.
    result = run(tec_dag, gas_day=today.isoformat(), **conf)
    assert result.state == "success"
    assert task_states(result)["cycle.wait_until_published"] == ["success", "success", "success", "skipped"]
    for day in (today, yesterday, missed):
        assert slice_counts(warehouse, day) == {"Evening": LOCATIONS}

    # Energy Transfer republishes yesterday's Evening with other values: the next run opens new versions.
    et.publish(yesterday, "Evening", et.capacity_csv(yesterday, "Evening", LOCATIONS, revision=1))
    assert run(tec_dag, gas_day=today.isoformat(), **conf).state == "success"
    versions = warehouse.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_current) FROM staging.operational_capacity_history "
        "WHERE measure_date = %s AND cycle_id = 'Evening'",
        (yesterday,),
    ).fetchone()
    assert versions[0] > LOCATIONS and versions[1] == LOCATIONS


def test_a_replay_loads_the_archived_file_without_energy_transfer(tec_dag, warehouse, fresh_day, devstack_state):
    import shutil

    from etl_bundle.tec.archive import endpoint_folder
    from etl_bundle.tec.config import load_config

    day = fresh_day(date(2025, 6, 18))
    # The devstack's SMB stand-in serves this folder.
    archived_day = paths.share_dir() / endpoint_folder(load_config()["archive"], "tw_operational_capacity") / str(day)
    shutil.rmtree(archived_day, ignore_errors=True)  # an earlier test session's copies
    texts = publish_all(day, cycles=("Intraday 2",))
    assert run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"]).state == "success"
    [archived] = archived_day.glob("*/*")
    assert archived.read_text() == texts["Intraday 2"]
    # (private copies: owner-only on a mounted folder, the share's ACL on SMB; tests/integration/test_share.py)

    et.unpublish(day, "Intraday 2")  # Energy Transfer no longer has it
    warehouse.execute("DELETE FROM staging.operational_capacity WHERE measure_date = %s", (day,))
    warehouse.execute("DELETE FROM staging.operational_capacity_history WHERE measure_date = %s", (day,))
    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"], replay=True)
    assert result.state == "success"
    assert task_states(result)["cycle.quality_gate"] == ["success"]
    assert slice_counts(warehouse, day) == {"Intraday_2": LOCATIONS}


# ---------------------------------------------------------------- adoption of the original's database

VERSION_TABLE = "tec__staging__operational_capacity"


def catalog(conn) -> dict[str, set[tuple]]:
    """The table's columns (name, type), constraints and indexes (name, definition)."""
    table = "staging.operational_capacity"
    return {
        "columns": set(
            conn.execute(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
        ),
        "constraints": set(
            conn.execute(
                "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass",
                (table,),
            ).fetchall()
        ),
        "indexes": set(
            conn.execute(
                "SELECT indexname::text, indexdef FROM pg_indexes"
                " WHERE schemaname = 'staging' AND tablename = 'operational_capacity'"
            ).fetchall()
        ),
    }


def rows_by_id(conn, columns: list[str]) -> dict[int, tuple]:
    """id -> (the given columns..., xmin): xmin changes whenever a row is rewritten."""
    query = sql.SQL("SELECT id, {}, xmin::text FROM staging.operational_capacity").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    return {row[0]: row[1:] for row in conn.execute(query).fetchall()}


def test_an_empty_database_gets_the_tables_and_a_run_loads_rows_and_history(tec_dag, scratch_warehouse, fresh_day):
    from etl_bundle.common import migrations

    day = fresh_day(date(2025, 6, 12))
    texts = publish_all(day, cycles=("Evening", "Intraday 1"))
    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Evening", "Intraday 1"])
    assert result.state == "success"
    assert task_states(result)["cycle.quality_gate"] == ["success", "success"]
    assert migrations.current(scratch_warehouse, VERSION_TABLE) == "0002_slice_loads"
    with scratch_warehouse() as conn:
        assert slice_counts(conn, day) == {"Evening": LOCATIONS, "Intraday_1": LOCATIONS}
        assert conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_current), count(DISTINCT (loc, loc_name, cycle_id))"
            " FROM staging.operational_capacity_history WHERE measure_date = %s",
            (day,),
        ).fetchone() == (2 * LOCATIONS, 2 * LOCATIONS, 2 * LOCATIONS)
        # The same shape as an adopted database: the original's id, key and check.
        shape = catalog(conn)
        assert {("id", "integer"), ("created_at", "timestamp without time zone")} <= shape["columns"]
        unique_key = ("operational_capacity_unique_key", "UNIQUE (loc, loc_name, measure_date, cycle_id)")
        assert unique_key in shape["constraints"]
        assert {name for name, _ in shape["constraints"]} >= {"chk_op_capacity", "operational_capacity_pkey"}
        first = texts["Evening"].splitlines()[1].split(",")
        row = conn.execute(
            "SELECT loc_zn, dc::text, row_hash IS NOT NULL, source_system FROM staging.operational_capacity"
            " WHERE measure_date = %s AND cycle_id = 'Evening' AND loc = %s",
            (day, first[0]),
        ).fetchone()
        assert row == (first[1], first[6], True, "energy_transfer")


def test_the_original_database_is_adopted_keeping_every_row_column_index_and_grant(
    tec_dag, scratch_warehouse, fresh_day
):
    from devstack import originals

    # 2025-06-10 is a download date of the original's rows: its Intraday_1 keys 500000-500002
    # are the stand-in's first three locations, so a load of that day meets them.
    day = fresh_day(date(2025, 6, 10))
    with scratch_warehouse() as conn:
        originals.load(conn, "tec")
        before = catalog(conn)
        original_columns = sorted(name for name, _ in before["columns"])
        old = rows_by_id(conn, original_columns)
    lines = et.capacity_csv(day, "Intraday 1", 4).splitlines()
    blank_name = lines[1].split(",")
    blank_name[0], blank_name[2] = "500099", ""
    et.publish(day, "Intraday 1", "\n".join([*lines, ",".join(blank_name)]) + "\n")

    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 1"])
    assert result.state == "success"
    assert task_states(result)["cycle.quality_gate"] == ["success"]

    with scratch_warehouse() as conn:
        after_catalog = catalog(conn)
        new = rows_by_id(conn, original_columns)
        keys = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT id, loc, loc_name, measure_date, cycle_id, dc::text, tsq::text, row_hash IS NOT NULL"
                " FROM staging.operational_capacity"
            ).fetchall()
        }
        history = conn.execute(
            "SELECT count(*) FILTER (WHERE is_current), count(*) FROM staging.operational_capacity_history"
        ).fetchone()
        rejects = conn.execute("SELECT field, raw_record->>'loc' FROM staging.operational_capacity_rejects").fetchall()
        conn.execute("SET ROLE tec_reader")
        reader_count = conn.execute("SELECT count(*) FROM staging.operational_capacity").fetchone()[0]
        conn.execute("RESET ROLE")

    # Every column of the original with its type, every constraint and index, the reader's grant.
    assert before["columns"] <= after_catalog["columns"]
    assert before["constraints"] <= after_catalog["constraints"]
    assert before["indexes"] <= after_catalog["indexes"]
    assert reader_count == len(new)

    # No row lost; the file's three keys the original had are updated in place (same id and
    # created_at, the file's values); every other old row is untouched, byte for byte.
    file_rows = {fields[0]: fields for fields in (line.split(",") for line in lines[1:])}
    updated_ids = {
        row_id
        for row_id, (loc, loc_name, measure_date, cycle, *_) in keys.items()
        if row_id in old and measure_date == day and cycle == "Intraday_1" and loc in file_rows
    }
    assert updated_ids == {1, 2, 3}
    assert set(old) <= set(new) and len(new) == len(old) + 1  # one new location, 500003
    created_at = original_columns.index("created_at")
    for row_id, values in old.items():
        if row_id in updated_ids:
            assert new[row_id][created_at] == values[created_at]
            assert new[row_id][-1] != values[-1], "an updated row is a new row version"
            loc, _, _, _, dc, tsq, hashed = keys[row_id]
            assert (dc, tsq, hashed) == (file_rows[loc][6], file_rows[loc][8], True)
        else:
            assert new[row_id] == values, f"original row {row_id} was rewritten"
    # The slice keeps the original's rows no file has (500042 and the NULL loc_name row).
    assert sorted(
        loc for loc, _, measure_date, cycle, *_ in keys.values() if measure_date == day and cycle == "Intraday_1"
    ) == ["500000", "500001", "500002", "500003", "500042", "500077"]
    assert history == (4, 4)
    assert rejects == [("loc_name", "500099")]
