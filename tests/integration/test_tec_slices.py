"""Two loads of one TEC slice (day and cycle), a rejected row on a reload, and the quality gate:
merge_capacity and check_loaded_cycle against the devstack's warehouse."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

SCHEMA, TABLE = "staging", "operational_capacity"
TABLES = [sql.Identifier(SCHEMA, TABLE + suffix) for suffix in ("", "_history", "_rejects", "_loads")]
LOCATIONS = 20
T1 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
T2 = T1 + timedelta(minutes=30)


@pytest.fixture(scope="module")
def migrated(warehouse):
    from etl_bundle.tec.schema import migrate_endpoints

    et.prepare_warehouse(warehouse)
    migrate_endpoints("warehouse_postgres", None)


@pytest.fixture
def empty_day(warehouse, migrated):
    def make(day: date) -> date:
        for table in TABLES:
            warehouse.execute(sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(table), (day,))
        return day

    return make


@pytest.fixture
def connect(devstack_state):
    import psycopg

    from devstack.services import DATABASES, server_url

    url = server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"])
    opened = []

    def make():
        conn = psycopg.connect(url)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def parsed_file(day: date, text: str, cycle: str = "Evening", downloaded_at: datetime = T1):
    from etl_bundle.tec.transforms import parse_capacity_csv

    return parse_capacity_csv(
        text,
        filename=et.file_name(day, cycle),
        measure_date=day,
        cycle_name=cycle,
        downloaded_at=downloaded_at.timestamp(),
        source_system="energy_transfer",
    )


def merge(connect, day: date, text: str, observed_at: datetime, run_id: str = "test"):
    from etl_bundle.tec.load import merge_capacity

    conn = connect()
    try:
        return merge_capacity(
            conn,
            schema=SCHEMA,
            table=TABLE,
            parsed=parsed_file(day, text, downloaded_at=observed_at),
            measure_date=day,
            cycle_id="Evening",
            observed_at=observed_at,
            run_id=run_id,
        )
    finally:
        conn.close()


def slice_state(warehouse, day: date) -> dict:
    return {
        "rows": warehouse.execute(
            "SELECT loc, loc_name, dc, opc, tsq, oac, row_hash FROM staging.operational_capacity "
            "WHERE measure_date = %s AND cycle_id = 'Evening' ORDER BY loc",
            (day,),
        ).fetchall(),
        "current": warehouse.execute(
            "SELECT loc, row_hash, valid_from FROM staging.operational_capacity_history "
            "WHERE measure_date = %s AND cycle_id = 'Evening' AND is_current ORDER BY loc",
            (day,),
        ).fetchall(),
        "backwards_versions": warehouse.execute(
            "SELECT count(*) FROM staging.operational_capacity_history "
            "WHERE measure_date = %s AND valid_to < valid_from",
            (day,),
        ).fetchone()[0],
    }


def summary(day: date, counts, observed_at: datetime, text: str) -> dict:
    """What the load task hands the quality gate."""
    from dataclasses import asdict

    return {
        "endpoint": "tw_operational_capacity",
        "cycle": "Evening",
        "gas_day": day.isoformat(),
        "file": et.file_name(day, "Evening"),
        "table": f"{SCHEMA}.{TABLE}",
        "parsed_rows": len(parsed_file(day, text).rows),
        "observed_at": observed_at.isoformat(),
        **asdict(counts),
    }


def waiting_for_a_slice_lock(warehouse) -> int:
    return warehouse.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]


def until(condition, what: str, attempts: int = 600):
    """Poll ``condition`` (a state, not a duration: no timed assertion)."""
    import time

    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def hold_slice_lock(connect, day: date):
    from etl_bundle.tec.load import lock_slice

    holder = connect()
    with holder.cursor() as cur:
        lock_slice(cur, SCHEMA, TABLE, day, "Evening")
    return holder


def test_an_older_download_loaded_after_a_newer_one_is_skipped_and_history_stays_ordered(warehouse, connect, empty_day):
    day = empty_day(date(2025, 7, 1))
    older, newer = (et.capacity_csv(day, "Evening", LOCATIONS, revision=r) for r in (0, 1))
    merge(connect, day, newer, T2)
    newer_state = slice_state(warehouse, day)

    counts = merge(connect, day, older, T1)
    assert counts.skipped and "before the file already loaded" in counts.skipped
    assert counts.inserted == counts.updated == counts.deleted == counts.versions_opened == 0
    assert slice_state(warehouse, day) == newer_state
    assert newer_state["backwards_versions"] == 0


def test_an_unchanged_newer_reload_still_counts_as_the_newest(warehouse, connect, empty_day):
    """A reload that changes nothing opens no history version; a file downloaded between the two
    must still lose to it (the slice's load record keeps the newest download time)."""
    day = empty_day(date(2025, 7, 2))
    first, between = (et.capacity_csv(day, "Evening", LOCATIONS, revision=r) for r in (0, 1))
    merge(connect, day, first, T1)
    merge(connect, day, first, T1 + timedelta(hours=2))  # the same content, downloaded later
    state = slice_state(warehouse, day)
    counts = merge(connect, day, between, T1 + timedelta(hours=1))
    assert counts.skipped
    assert slice_state(warehouse, day) == state


def test_two_concurrent_loads_of_one_slice_end_with_the_newer_file(warehouse, connect, empty_day):
    day = empty_day(date(2025, 7, 3))
    older, newer = (et.capacity_csv(day, "Evening", LOCATIONS, revision=r) for r in (0, 1))
    holder = hold_slice_lock(connect, day)
    outcomes = {}
    threads = [
        threading.Thread(target=lambda: outcomes.update(newer=merge(connect, day, newer, T2))),
        threading.Thread(target=lambda: outcomes.update(older=merge(connect, day, older, T1))),
    ]
    for started, thread in enumerate(threads, start=1):
        thread.start()
        until(lambda n=started: waiting_for_a_slice_lock(warehouse) == n, f"{started} loads waiting for the slice")
    holder.rollback()  # both go now, one after the other, in whichever order Postgres grants
    for thread in threads:
        thread.join(timeout=120)
    assert set(outcomes) == {"newer", "older"}
    state = slice_state(warehouse, day)
    assert state["backwards_versions"] == 0
    assert {row_hash for _, row_hash, _ in state["current"]} == {row[-1] for row in state["rows"]}
    assert [r[:6] for r in state["rows"]] == sorted(r[:6] for r in _values(day, newer))
    assert {valid_from for _, _, valid_from in state["current"]} <= {T1, T2}


def _values(day: date, text: str) -> list[tuple]:
    from etl_bundle.tec.transforms import TARGET_COLUMNS

    columns = [TARGET_COLUMNS.index(c) for c in ("loc", "loc_name", "dc", "opc", "tsq", "oac")]
    return [tuple(row[i] for i in columns) for row in parsed_file(day, text).rows]


def test_the_gate_waits_for_the_slice_and_checks_the_newest_load(warehouse, connect, empty_day):
    from etl_bundle.tec.load import check_loaded_cycle

    day = empty_day(date(2025, 7, 4))
    first = et.capacity_csv(day, "Evening", LOCATIONS)
    first_counts = merge(connect, day, first, T1)
    # A newer file without its last location is loaded before the first load's gate runs.
    shorter = "\n".join(first.splitlines()[:-1]) + "\n"
    merge(connect, day, shorter, T2)

    holder = hold_slice_lock(connect, day)
    result = {}
    gate = threading.Thread(
        target=lambda: result.update(
            checked=check_loaded_cycle(summary(day, first_counts, T1, first), conn_id="warehouse_postgres")
        )
    )
    gate.start()
    until(lambda: waiting_for_a_slice_lock(warehouse) == 1, "the gate waiting for the slice's lock")
    assert gate.is_alive() and not result, "the gate read the slice while a load held it"
    holder.rollback()
    gate.join(timeout=60)
    checked = result["checked"]
    assert checked["loaded_rows"] == LOCATIONS - 1
    assert checked["checked_load"].startswith(et.file_name(day, "Evening"))
    assert "newest file loaded" in checked["checked_load"]


def test_a_rejected_row_on_a_reload_keeps_its_key_until_a_valid_row_replaces_it(warehouse, connect, empty_day):
    from etl_bundle.tec.load import check_loaded_cycle

    day = empty_day(date(2025, 7, 5))
    good = et.capacity_csv(day, "Evening", LOCATIONS)
    merge(connect, day, good, T1)
    before = slice_state(warehouse, day)

    lines = good.splitlines()
    bad_quantity = lines[3].split(",")
    bad_quantity[8] = "lots"  # TSQ of the third location
    blank_name = lines[5].split(",")
    blank_name[2] = ""  # the fifth location's loc_name, a key field
    lines[3], lines[5] = ",".join(bad_quantity), ",".join(blank_name)
    reload = "\n".join(lines) + "\n"
    counts = merge(connect, day, reload, T2)
    assert (counts.rejected, counts.kept_rejected, counts.deleted, counts.versions_closed) == (2, 2, 0, 0)
    assert slice_state(warehouse, day)["rows"] == before["rows"]
    assert slice_state(warehouse, day)["current"] == before["current"]
    gate = check_loaded_cycle(summary(day, counts, T2, reload), conn_id="warehouse_postgres")
    assert gate["loaded_rows"] == LOCATIONS and gate["checked_load"] == "own"

    # A valid file without the third location: now it is truly absent, and removed.
    without = "\n".join(line for n, line in enumerate(good.splitlines()) if n != 3) + "\n"
    counts = merge(connect, day, without, T2 + timedelta(minutes=1))
    assert (counts.deleted, counts.versions_closed, counts.kept_rejected) == (1, 1, 0)
    removed_loc = bad_quantity[0]
    assert removed_loc not in {row[0] for row in slice_state(warehouse, day)["rows"]}
    assert removed_loc not in {loc for loc, _, _ in slice_state(warehouse, day)["current"]}


def test_a_database_error_in_a_load_is_told_without_the_rows_values_and_not_retried(connect, empty_day):
    """A row breaking the table's CHECK (parsing rejects such rows; here one is forced past it):
    psycopg's message carries the failing row (DETAIL), the task's error must not."""
    from decimal import Decimal

    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.load import merge_capacity
    from etl_bundle.tec.transforms import TARGET_COLUMNS

    day = empty_day(date(2025, 7, 6))
    parsed = parsed_file(day, et.capacity_csv(day, "Evening", 3))
    row = list(parsed.rows[0])
    row[TARGET_COLUMNS.index("dc")] = Decimal("-123457")
    parsed.rows[0] = tuple(row)
    conn = connect()
    with pytest.raises(AirflowFailException) as raised:
        merge_capacity(
            conn,
            schema=SCHEMA,
            table=TABLE,
            parsed=parsed,
            measure_date=day,
            cycle_id="Evening",
            observed_at=T1,
            run_id="test",
        )
    message = str(raised.value)
    assert "SQLSTATE 23514" in message and "chk_op_capacity" in message and parsed.filename in message
    assert "-123457" not in message and row[0] not in message and row[2] not in message
    assert raised.value.__suppress_context__, "the psycopg error (with the row) would be printed with it"


def test_a_migration_failing_on_the_originals_rows_names_the_key_not_the_values(scratch_warehouse, monkeypatch):
    """The original's table without its key and with duplicate rows: adopting it fails (a data rule,
    not retried), naming the constraint, never the duplicated values."""
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.schema import migrate_endpoints

    with scratch_warehouse() as conn:
        conn.execute("CREATE SCHEMA staging")
        conn.execute(
            "CREATE TABLE staging.operational_capacity (id SERIAL PRIMARY KEY, loc TEXT, loc_name TEXT,"
            " measure_date DATE, cycle_id TEXT)"
        )
        for _ in range(2):
            conn.execute(
                "INSERT INTO staging.operational_capacity (loc, loc_name, measure_date, cycle_id)"
                " VALUES ('PERSONAL-77', 'Jane Roe', '2025-06-10', 'Evening')"
            )
        conn.commit()
    with pytest.raises(AirflowFailException) as raised:
        migrate_endpoints("warehouse_postgres", ["tw_operational_capacity"])
    message = str(raised.value)
    assert "migrating staging.operational_capacity" in message and "SQLSTATE 23505" in message
    assert "PERSONAL-77" not in message and "Jane Roe" not in message
