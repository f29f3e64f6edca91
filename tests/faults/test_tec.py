"""tec_operational_capacity under injected faults: kills mid-load, a Postgres restart, a flaky and a
slow Energy Transfer, bad files; every outcome counted in the fault ledger (tests/faults/conftest.py).

These tests open their own warehouse connections (``connect``) rather than the session's
``warehouse`` fixture: one of them restarts Postgres, which cuts every open session.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et
from tests.faults.conftest import (
    airflow_dags_test,
    copy_rows_streamed,
    reset_airflow_connections,
    restart_postgres,
    sigkill_when,
)
from tests.integration.conftest import run_dag, task_states

pytestmark = pytest.mark.integration

DAG_ID = "tec_operational_capacity"
FAST = {"poke_interval_seconds": 1, "lookback_days": 0}
LOCATIONS = 20
TABLES = [
    sql.Identifier("staging", "operational_capacity" + suffix) for suffix in ("", "_history", "_rejects", "_loads")
]


@pytest.fixture(scope="module")
def warehouse_url(devstack_state):
    from devstack.services import DATABASES, server_url

    return server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])


@pytest.fixture
def connect(warehouse_url):
    """A new autocommit connection to the warehouse per call (closed after the test)."""
    import psycopg

    opened = []

    def make():
        conn = psycopg.connect(warehouse_url, autocommit=True)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


@pytest.fixture(scope="module")
def tec_dag(bundle_dags, warehouse_url):
    import psycopg

    from etl_bundle.tec.schema import migrate_endpoints

    with psycopg.connect(warehouse_url) as conn:
        et.prepare_warehouse(conn)
    migrate_endpoints("warehouse_postgres", None)
    return bundle_dags[DAG_ID]


@pytest.fixture
def fresh_day(connect, tec_dag):
    def make(day: date) -> date:
        conn = connect()
        for table in TABLES:
            conn.execute(sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(table), (day,))
        for cycle in et.CYCLES:
            et.unpublish(day, cycle)
        return day

    yield make
    for name in ("fault", "throttle"):
        (et.paths.energy_transfer_dir() / name).unlink(missing_ok=True)


def slice_checksum(conn, day: date, cycle: str = "Evening") -> dict[str, object]:
    """Target and history of one slice as checksums (every column), with their counts."""
    params = {"day": day, "cycle": cycle}
    target = conn.execute(
        "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY loc, loc_name), '')) "
        "FROM staging.operational_capacity AS t WHERE measure_date = %(day)s AND cycle_id = %(cycle)s",
        params,
    ).fetchone()
    history = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE is_current), count(*) FILTER (WHERE valid_to < valid_from), "
        "md5(coalesce(string_agg(h::text, '|' ORDER BY version_id), '')) "
        "FROM staging.operational_capacity_history AS h WHERE measure_date = %(day)s AND cycle_id = %(cycle)s",
        params,
    ).fetchone()
    return {"rows": target[0], "target": target[1], "versions": history[0], "current": history[1],
            "backwards": history[2], "history": history[3]}  # fmt: skip


def file_hashes(day: date, text: str, cycle: str = "Evening") -> set[str]:
    from etl_bundle.tec.transforms import parse_capacity_csv

    parsed = parse_capacity_csv(
        text, filename="f.csv", measure_date=day, cycle_name=cycle, downloaded_at=0, source_system="s"
    )
    return {row[-1] for row in parsed.rows}


def stored_hashes(conn, day: date, cycle: str = "Evening") -> set[str]:
    rows = conn.execute(
        "SELECT row_hash FROM staging.operational_capacity WHERE measure_date = %(day)s AND cycle_id = %(cycle)s",
        {"day": day, "cycle": cycle},
    ).fetchall()
    return {row_hash for (row_hash,) in rows}


def hours_until(day: date, seconds_from_now: float) -> float:
    """``publish_deadline_hours`` that ends the wait ``seconds_from_now`` (these gas days are past)."""
    from etl_bundle.tec.transforms import gas_day_start

    return (time.time() + seconds_from_now - gas_day_start(day).timestamp()) / 3600


def conf(day: date, **more) -> dict:
    """A run of ``day``'s Evening, waiting up to 10 minutes for it."""
    return {
        **FAST,
        "gas_day": day.isoformat(),
        "cycles": ["Evening"],
        "publish_deadline_hours": hours_until(day, 600),
        **more,
    }


def wait_for_exit(process, timeout: float = 300) -> int:
    try:
        return process.wait(timeout=timeout)
    except Exception:
        import os
        import signal

        os.killpg(process.pid, signal.SIGKILL)
        raise


# ---------------------------------------------------------------- kills and restarts


def test_sigkill_mid_load_then_rerun_leaves_old_or_new_state_never_a_mix(tec_dag, connect, fresh_day, faults):
    day = fresh_day(date(2025, 8, 1))
    conn = connect()
    big = 50_000
    first = et.capacity_csv(day, "Evening", big)
    et.publish(day, "Evening", first)

    with faults.inject("tec: SIGKILL during the first load's COPY, then rerun"):
        process = airflow_dags_test(DAG_ID, conf(day))
        killed = sigkill_when(process, lambda: copy_rows_streamed(conn) > 2000)
        assert killed, f"the run ended before its COPY got going; log: {process.log_path}"
        empty = slice_checksum(conn, day)
        assert (empty["rows"], empty["versions"]) == (0, 0), "a killed first load left rows behind"
        assert run_dag(tec_dag, conf(day)).state == "success"
        loaded = slice_checksum(conn, day)
        assert (loaded["rows"], loaded["versions"], loaded["current"], loaded["backwards"]) == (big, big, big, 0)
        assert stored_hashes(conn, day) == file_hashes(day, first)
        faults.rows_lost(big, loaded["rows"])

    second = et.capacity_csv(day, "Evening", big, revision=1)
    et.publish(day, "Evening", second)
    with faults.inject("tec: SIGKILL during a reload's COPY, then rerun"):
        process = airflow_dags_test(DAG_ID, conf(day))
        killed = sigkill_when(process, lambda: copy_rows_streamed(conn) > 2000)
        assert killed, f"the run ended before its COPY got going; log: {process.log_path}"
        assert slice_checksum(conn, day) == loaded, "a killed reload changed the slice"
        assert run_dag(tec_dag, conf(day)).state == "success"
        reloaded = slice_checksum(conn, day)
        assert stored_hashes(conn, day) == file_hashes(day, second)
        assert (reloaded["rows"], reloaded["current"], reloaded["backwards"]) == (big, big, 0)

    # A rerun of the same gas day (the same file) gives identical target and history checksums.
    assert run_dag(tec_dag, conf(day)).state == "success"
    assert slice_checksum(conn, day) == reloaded


def test_postgres_restart_mid_load_then_the_retry_loads_all(tec_dag, connect, fresh_day, faults):
    """The load task's callable (as its task runs it) while Postgres restarts under its COPY:
    it fails retryable, without row values, leaves the slice as it was, and its retry loads.
    (Run through ``airflow dags test`` the restart kills the command itself: its loop holds a
    metadata session across tasks; see the report.)"""
    import threading

    from etl_bundle.common.db_errors import DatabaseError
    from etl_bundle.tec.load import load_published_cycle

    day = fresh_day(date(2025, 8, 2))
    big = 50_000
    text = et.capacity_csv(day, "Evening", big)
    et.publish(day, "Evening", text)
    published = {
        "endpoint": "tw_operational_capacity",
        "cycle": "Evening",
        "cycle_code": 1,
        "gas_day": day.isoformat(),
        "lookback": False,
        "filename": et.file_name(day, "Evening"),
    }

    def load():
        return load_published_cycle(
            published,
            conn_id="warehouse_postgres",
            http_conn_id="energy_transfer",
            run_id="restart",
            dry_run=False,
            max_rejected_rows=50,
        )

    with faults.inject("tec: Postgres restarted during a load's COPY, then the retry"):
        outcome = {}

        def first_try():
            try:
                outcome["result"] = load()
            except Exception as err:  # noqa: BLE001 - the outcome is asserted below
                outcome["error"] = err

        loader = threading.Thread(target=first_try)
        loader.start()
        probe = connect()
        for _ in range(6000):
            if copy_rows_streamed(probe) > 2000 or not loader.is_alive():
                break
            time.sleep(0.01)
        assert loader.is_alive(), f"the load ended before its COPY got going: {outcome}"
        restart_postgres()
        loader.join(timeout=120)
        reset_airflow_connections()  # the loading thread used its sessions past the restart
        error = outcome.get("error")
        assert isinstance(error, DatabaseError), f"expected a retryable DatabaseError, got {outcome}"
        assert "500000" not in str(error) and "TW " not in str(error)
        state = slice_checksum(connect(), day)
        assert (state["rows"], state["versions"]) == (0, 0), "a load cut by the restart left rows"

        result = load()  # the task's retry
        assert result["inserted"] == big and not result["skipped"]
        state = slice_checksum(connect(), day)
        assert (state["rows"], state["versions"], state["current"]) == (big, big, big)
        faults.rows_lost(big, state["rows"])


# ---------------------------------------------------------------- a flaky and a slow Energy Transfer


def sensor_tries(run) -> list[int]:
    return [ti.try_number for ti in run.get_task_instances() if ti.task_id == "cycle.wait_until_published"]


def test_http_503_then_200_the_wait_goes_on_and_loads_once(tec_dag, connect, fresh_day, faults):
    day = fresh_day(date(2025, 8, 3))
    et.publish(day, "Evening", et.capacity_csv(day, "Evening", LOCATIONS))
    with faults.inject("tec: Energy Transfer answers 503 four times, then 200"):
        et.fault("status", 4, 503)  # the first poke's three tries and the second poke's first
        run = run_dag(tec_dag, conf(day))
        assert run.state == "success"
        assert sensor_tries(run) == [1], "a 503 in a poke cost the sensor a try"
        assert not (et.paths.energy_transfer_dir() / "fault").exists()
        state = slice_checksum(connect(), day)
        faults.rows_lost(LOCATIONS, state["rows"])
        faults.side_effects("tec: versions opened per key", state["versions"] // LOCATIONS)


def test_responses_slower_than_the_timeout_then_the_file(tec_dag, connect, fresh_day, faults, monkeypatch, tmp_path):
    import yaml

    from etl_bundle.tec import config as tec_config

    config = yaml.safe_load(tec_config.CONFIG_PATH.read_text())
    config["request"].update(timeout_seconds=1, retry_attempts=2)
    path = tmp_path / "energy_transfer.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setattr(tec_config, "CONFIG_PATH", path)
    day = fresh_day(date(2025, 8, 4))
    et.publish(day, "Evening", et.capacity_csv(day, "Evening", LOCATIONS))
    with faults.inject("tec: Energy Transfer slower than the timeout three times"):
        et.fault("delay", 3, 2.5)
        run = run_dag(tec_dag, conf(day))
        assert run.state == "success"
        assert sensor_tries(run) == [1], "a timeout in a poke cost the sensor a try"
        faults.rows_lost(LOCATIONS, slice_checksum(connect(), day)["rows"])


@pytest.mark.quick
def test_a_dropped_connection_then_the_file_in_one_sensor_poke_each(tec_dag, fresh_day, faults):
    """The sensor's poke against the stand-in itself: a reset connection keeps it waiting."""
    from etl_bundle.tec.sensors import CyclePublishedSensor
    from etl_bundle.tec.transforms import GAS_DAY_TZ

    day = datetime.now(GAS_DAY_TZ).date() + timedelta(days=400)  # a day of its own, far ahead
    fresh_day(day)
    et.publish(day, "Evening", et.capacity_csv(day, "Evening", LOCATIONS))
    target = {"endpoint": "tw_operational_capacity", "cycle": "Evening", "cycle_code": 1, "gas_day": str(day)}
    sensor = CyclePublishedSensor(task_id="wait_until_published", target=target)
    context = {"params": {"publish_deadline_hours": 1e6, "replay": False}, "ti": None, "run_id": "quick"}
    with faults.inject("tec: connection reset on every try of one poke"):
        et.fault("reset", 3)
        assert sensor.poke(context) is False
        assert sensor.poke(context).is_done


@pytest.mark.quick
def test_an_older_download_after_a_newer_one_changes_nothing(tec_dag, connect, warehouse_url, fresh_day, faults):
    from etl_bundle.tec.load import merge_capacity
    from etl_bundle.tec.transforms import parse_capacity_csv

    day = fresh_day(date(2025, 8, 5))
    newer_at = datetime(2026, 2, 1, 7, tzinfo=UTC)
    conn = connect()

    def load(revision: int, observed_at: datetime):
        text = et.capacity_csv(day, "Evening", LOCATIONS, revision=revision)
        parsed = parse_capacity_csv(
            text, filename=et.file_name(day, "Evening"), measure_date=day, cycle_name="Evening",
            downloaded_at=observed_at.timestamp(), source_system="energy_transfer",
        )  # fmt: skip
        import psycopg

        with psycopg.connect(warehouse_url) as load_conn:
            return merge_capacity(
                load_conn, schema="staging", table="operational_capacity", parsed=parsed, measure_date=day,
                cycle_id="Evening", observed_at=observed_at, run_id="quick",
            )  # fmt: skip

    with faults.inject("tec: two runs load one slice in the wrong order"):
        load(1, newer_at)
        newer = slice_checksum(conn, day)
        assert load(0, newer_at - timedelta(minutes=5)).skipped
        assert slice_checksum(conn, day) == newer and newer["backwards"] == 0


# ---------------------------------------------------------------- bad input


def with_field(text: str, line: int, column: int, value: str) -> str:
    """``text`` with one field replaced (generated files quote only loc_name, which has no comma)."""
    lines = text.splitlines()
    fields = lines[line - 1].split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields)
    return "\n".join(lines) + "\n"


BAD_FILES = {
    # cycle: (what, how the file is spoiled, outcome, the parts the error or reject must name)
    "Evening": ("a field over the csv module's limit", "over_limit", "fails", ("line 3", "field loc_purp_desc")),
    "Intraday 1": ("a NUL byte", "nul", "rejects", ("line 3", "field loc_name")),
    "Intraday 2": ("1e20000000 as a quantity", "overflow", "rejects", ("line 4", "field dc")),
    "Intraday 3": ("a byte no declared encoding decodes", "bad_byte", "fails", ("line 5", "field loc_zn")),
    "Timely": ("a missing column", "missing_column", "fails", ("line 1", "field qty_reason")),
    "Final": ("a negative quantity", "negative", "rejects", ("line 2", "field oac")),
}


def spoiled(day: date, cycle: str, how: str) -> bytes:
    import csv

    text = et.capacity_csv(day, cycle, LOCATIONS)
    if how == "over_limit":
        return with_field(text, 3, 3, '"' + "x" * (csv.field_size_limit() + 10) + '"').encode()
    if how == "nul":
        return with_field(text, 3, 2, '"TW \x00 NUL"').encode()
    if how == "overflow":
        return with_field(text, 4, 6, "1e20000000").encode()
    if how == "bad_byte":
        return with_field(text, 5, 1, "Zone @").encode().replace(b"Zone @", b"Zone \x81")
    if how == "missing_column":
        return "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()).encode() + b"\n"
    if how == "negative":
        return with_field(text, 2, 9, "-5").encode()
    raise ValueError(how)


def test_bad_files_each_quarantine_a_row_or_fail_clearly_without_retry_and_lose_nothing(
    tec_dag, connect, fresh_day, faults, capfd
):
    day = fresh_day(date(2025, 8, 6))
    cycles = list(BAD_FILES)
    for cycle in cycles:
        et.publish(day, cycle, et.capacity_csv(day, cycle, LOCATIONS))
    assert run_dag(tec_dag, conf(day, cycles=cycles)).state == "success"
    conn = connect()
    before = {cycle: slice_checksum(conn, day, cycle.replace(" ", "_")) for cycle in cycles}

    for cycle in cycles:
        folder = et.publish(day, cycle, "")
        folder.write_bytes(spoiled(day, cycle, BAD_FILES[cycle][1]))
    capfd.readouterr()
    run = run_dag(tec_dag, conf(day, cycles=cycles))
    output = capfd.readouterr()
    # Put the task logs back, for the session's search for secrets.
    sys.stdout.write(output.out)
    sys.stderr.write(output.err)
    failures = [line for line in (output.out + output.err).splitlines() if "AirflowFailException: " in line]
    assert run.state == "failed"
    loads = {ti.map_index: (ti.state, ti.try_number) for ti in run.get_task_instances() if ti.task_id == "cycle.load"}
    for index, cycle in enumerate(cycles):
        what, _, outcome, parts = BAD_FILES[cycle]
        filename = et.file_name(day, cycle)
        stored = cycle.replace(" ", "_")
        if outcome == "fails":
            assert loads[index] == ("failed", 1), f"{cycle}: {what} was retried or did not fail"
            [error] = [line for line in failures if filename in line][:1]
            faults.bad_input(f"tec: {what}", error, filename, *parts)
            after = slice_checksum(conn, day, stored)
            assert after == before[cycle], f"{cycle}: a failed file changed the slice"
            faults.rows_lost(LOCATIONS, after["rows"])
        else:
            assert loads[index] == ("success", 1)
            [(source_file, line, field, reason)] = conn.execute(
                "SELECT source_file, line_number, field, reason FROM staging.operational_capacity_rejects "
                "WHERE measure_date = %(day)s AND cycle_id = %(cycle)s",
                {"day": day, "cycle": stored},
            ).fetchall()
            faults.bad_input(f"tec: {what}", f"{source_file} line {line} field {field}: {reason}", filename, *parts)
            after = slice_checksum(conn, day, stored)
            # The rejected key keeps its row: every key of the file is in the table, and none twice.
            assert (after["rows"], after["current"], after["backwards"]) == (LOCATIONS, LOCATIONS, 0)
            faults.rows_lost(LOCATIONS, after["rows"])
    assert task_states(run)["check_cycles"] == ["failed"]
