"""tec_operational_capacity end to end on the devstack: Energy Transfer stand-in → Postgres."""

from __future__ import annotations

import time
from datetime import date

import pytest
from psycopg import sql

from devstack import energy_transfer_data as et
from tests.integration.conftest import run_dag, task_states

pytestmark = pytest.mark.integration

CYCLES = et.configured_cycles()
LOCATIONS = 20
FAST = {"poke_interval_seconds": 1}
CAPACITY_TABLES = [
    sql.Identifier("staging", name)
    for name in ("operational_capacity", "operational_capacity_history", "operational_capacity_rejects")
]


@pytest.fixture(scope="module")
def tec_dag(bundle_dags):
    from etl_bundle.tec.load import ensure_all_tables

    ensure_all_tables("warehouse_postgres")
    return bundle_dags["tec_operational_capacity"]


@pytest.fixture
def fresh_day(warehouse):
    """A gas day of its own for a test: no rows in the tables, no files on the stand-in."""
    days = []

    def make(day: date) -> date:
        for table in CAPACITY_TABLES:
            warehouse.execute(sql.SQL("DELETE FROM {} WHERE measure_date = %s").format(table), (day,))
        for spec in CYCLES.values():
            folder = et.cycle_dir(day, spec["code"])
            if folder.exists():
                for file in folder.iterdir():
                    file.unlink()
        days.append(day)
        return day

    return make


def publish_all(day: date, cycles=("Evening", "Intraday 1", "Intraday 2", "Intraday 3")) -> dict[str, str]:
    texts = {}
    for cycle in cycles:
        texts[cycle] = et.capacity_csv(day, cycle, LOCATIONS)
        et.publish(day, cycle, CYCLES[cycle]["code"], texts[cycle])
    return texts


def run(dag, **conf):
    return run_dag(dag, FAST, **conf)


def slice_counts(warehouse, day: date) -> dict[str, int]:
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


def test_changed_values_open_one_version_and_unchanged_rerun_changes_nothing(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 3))
    texts = publish_all(day, cycles=("Intraday 2",))
    assert run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 2"]).state == "success"

    lines = texts["Intraday 2"].splitlines()
    fields = lines[3].split(",")
    changed_loc = fields[0]
    fields[8], fields[9] = "0", fields[7]  # TSQ to 0, OAC to OPC
    lines[3] = ",".join(fields)
    et.publish(day, "Intraday 2", CYCLES["Intraday 2"]["code"], "\n".join(lines) + "\n")
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


def test_a_late_cycle_is_loaded_once_it_appears(tec_dag, warehouse, fresh_day):
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    day = fresh_day(date(2025, 6, 4))
    et.publish(
        day,
        "Evening",
        CYCLES["Evening"]["code"],
        et.capacity_csv(day, "Evening", LOCATIONS),
        publish_at=time.time() + 6,
    )
    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Evening"], publish_deadline_hours=hours_until(120, day))
    assert result.state == "success"
    assert slice_counts(warehouse, day) == {"Evening": LOCATIONS}
    [sensor] = [ti for ti in result.get_task_instances() if ti.task_id == "cycle.wait_until_published"]
    with create_session() as session:
        reschedules = session.scalar(select(func.count()).where(TaskReschedule.ti_id == sensor.id))
    assert reschedules >= 1, "the sensor should have given its slot back while the file was missing"


def test_never_published_and_html_error_page_end_skipped(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 5))
    page = "<html><body>Service unavailable" + " " * 300 + "</body></html>"
    et.publish(day, "Intraday 1", CYCLES["Intraday 1"]["code"], page, name="error.html")
    result = run(
        tec_dag,
        gas_day=day.isoformat(),
        cycles=["Intraday 1", "Intraday 3"],
        publish_deadline_hours=hours_until(4, day),
    )
    assert result.state == "success"
    states = task_states(result)
    assert states["cycle.wait_until_published"] == ["skipped", "skipped"]
    assert states["cycle.load"] == ["skipped", "skipped"]
    assert slice_counts(warehouse, day) == {}


def test_bad_rows_are_rejected_and_a_bad_header_fails_naming_nothing_loaded(tec_dag, warehouse, fresh_day):
    day = fresh_day(date(2025, 6, 6))
    good = et.capacity_csv(day, "Intraday 1", LOCATIONS).splitlines()
    good[2] = good[2].replace("," + good[2].split(",")[8] + ",", ",lots,", 1)  # TSQ not a number
    et.publish(day, "Intraday 1", CYCLES["Intraday 1"]["code"], "\n".join(good) + "\n")
    bad_header = et.capacity_csv(day, "Intraday 2", LOCATIONS).replace("Loc Zn,", "Loc Zone Code,", 1)
    et.publish(day, "Intraday 2", CYCLES["Intraday 2"]["code"], bad_header)

    result = run(tec_dag, gas_day=day.isoformat(), cycles=["Intraday 1", "Intraday 2"])
    assert result.state == "failed"
    assert task_states(result)["cycle.load"] == ["success", "failed"]
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
    folder = et.cycle_dir(day, CYCLES["Evening"]["code"])
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
