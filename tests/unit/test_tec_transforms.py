"""tec_operational_capacity's pure logic on recorded fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest

from etl_bundle.tec import transforms as t
from etl_bundle.tec.config import load_config, plan_targets

FIXTURES = Path(__file__).parent / "fixtures" / "tec"
FIXTURE_FILE = "TW_OperationallyAvailable_Intraday1_06-08-2025.csv"
CONFIG = load_config()
RULES = t.FilenameRules.from_config(CONFIG["filename"])
TW = CONFIG["endpoints"]["tw_operational_capacity"]


def parse_fixture(**overrides):
    kwargs = dict(
        filename=FIXTURE_FILE,
        measure_date=date(2025, 6, 8),
        cycle_name="Intraday 1",
        downloaded_at=1749400000.5,
        source_system="energy_transfer",
    )
    kwargs.update(overrides)
    return t.parse_capacity_csv((FIXTURES / FIXTURE_FILE).read_text(), **kwargs)


# ------------------------------------------------------------------ URL


def test_request_path_and_query_match_the_reference_url():
    assert t.request_path(TW) == "/ipost/TW/capacity/operationally-available"
    query = urlencode(t.request_params(TW, date(2025, 6, 8), 1))
    assert query == (
        "f=csv&extension=csv&asset=TW%2Fcapacity%2F&gasDay=06%2F08%2F2025&searchType=ALL"
        "&searchString=&locType=ALL&locZone=ALL&cycle=1"
    )


def test_cycle_is_left_out_when_not_given():
    assert "cycle" not in t.request_params(TW, date(2025, 6, 8), None)


def test_requests_puts_the_same_query_on_the_wire():
    import requests

    prepared = requests.Request(
        "GET", "http://et.example" + t.request_path(TW), params=t.request_params(TW, date(2025, 6, 8), 2)
    ).prepare()
    assert "gasDay=06%2F08%2F2025" in prepared.url
    assert prepared.url.endswith("&cycle=2")


# ------------------------------------------------------------------ file names


@pytest.mark.parametrize(
    ("filename", "cycle"),
    [
        ("data_intraday1_20250101.csv", "Intraday 1"),
        ("data_intraday 2_20250101.csv", "Intraday 2"),
        ("data_INTRADAY3_20250101.csv", "Intraday 3"),
        ("data_timely_20250101.csv", "Timely"),
        ("data_evening_20250101.csv", "Evening"),
        ("data_final_20250101.csv", "Final"),
        ("TW_OperationallyAvailable_Intraday2_11-22-2026.csv", "Intraday 2"),
        ("data_20250101.csv", None),
        ("data_intraday9_20250101.csv", None),
    ],
)
def test_cycle_from_filename(filename, cycle):
    assert t.cycle_from_filename(filename, RULES) == cycle


@pytest.mark.parametrize(
    ("filename", "day"),
    [
        ("data_intraday1_20250608.csv", date(2025, 6, 8)),
        ("TW_OperationallyAvailable_Evening_06-08-2025.csv", date(2025, 6, 8)),
        ("TW_Evening_02-29-2024.csv", date(2024, 2, 29)),
        ("TW_Evening_02-30-2024.csv", None),
        ("no_date.csv", None),
    ],
)
def test_date_from_filename(filename, day):
    assert t.date_from_filename(filename, RULES) == day


def test_cycle_id_is_the_name_with_underscores():
    assert t.cycle_id("Intraday 1") == "Intraday_1"


def test_every_configured_cycle_is_stored_as_the_originals_cycle_id():
    # The original's stored values (reference §3.1), so its rows and ours line up.
    stored = {t.cycle_id(name) for name in CONFIG["cycles"]}
    assert stored == {"Intraday_1", "Intraday_2", "Intraday_3", "Evening", "Timely", "Final"}
    enabled = {t.cycle_id(name) for name, cycle in CONFIG["cycles"].items() if cycle["enabled"]}
    assert enabled == {"Intraday_1", "Intraday_2", "Intraday_3", "Evening"}


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="data_intraday1_20250608.csv"', "data_intraday1_20250608.csv"),
        ("attachment; filename=plain.csv", "plain.csv"),
        ("attachment; filename*=UTF-8''enc.csv", "enc.csv"),
        ("inline", None),
        (None, None),
    ],
)
def test_filename_from_content_disposition(header, name):
    assert t.filename_from_disposition(header) == name


def _publication(**overrides):
    kwargs = dict(
        status=200,
        content_disposition='attachment; filename="TW_OperationallyAvailable_Intraday1_06-08-2025.csv"',
        body_size=5000,
        expected_cycle="Intraday 1",
        gas_day=date(2025, 6, 8),
        rules=RULES,
        min_body_bytes=200,
    )
    kwargs.update(overrides)
    return t.check_publication(**kwargs)


def test_a_published_cycle_is_recognised():
    assert _publication() == t.Publication(True, "published", "TW_OperationallyAvailable_Intraday1_06-08-2025.csv")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": 404}, "HTTP 404"),
        ({"content_disposition": None}, "no CSV file name"),
        ({"content_disposition": 'attachment; filename="error.html"'}, "no CSV file name"),
        ({"expected_cycle": "Intraday 2"}, "is for cycle 'Intraday 1', not 'Intraday 2'"),
        ({"gas_day": date(2025, 6, 9)}, "not gas day 2025-06-09"),
        ({"body_size": 120}, "120 bytes"),
    ],
)
def test_answers_that_are_not_the_published_file(overrides, reason):
    publication = _publication(**overrides)
    assert not publication.published
    assert reason in publication.reason


# ------------------------------------------------------------------ gas days


def test_gas_day_from_param_wins():
    assert t.gas_day_of_run("2025-06-08", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)) == date(
        2025, 6, 8
    )


def test_gas_day_is_the_central_date_of_the_interval_start():
    # Central midnight of Mar 9 2025 (CDT starts at 02:00 that day) is 06:00 UTC.
    assert t.gas_day_of_run(None, datetime(2025, 3, 9, 6, 0, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)) == date(
        2025, 3, 9
    )
    # 03:00 UTC on Nov 2 is still Nov 1 in Chicago.
    assert t.gas_day_of_run(None, datetime(2025, 11, 2, 3, 0, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)) == date(
        2025, 11, 1
    )


def test_gas_day_without_logical_date_is_the_trigger_day_in_central_time():
    assert t.gas_day_of_run(None, None, datetime(2026, 11, 22, 4, 30, tzinfo=UTC)) == date(2026, 11, 21)


def test_publication_deadline_counts_from_central_midnight_across_dst():
    # Nov 2 2025 has 25 hours in Chicago: 30 elapsed hours after its midnight (05:00 UTC) is 11:00 UTC Nov 3.
    assert t.publication_deadline(date(2025, 11, 2), 30).astimezone(UTC) == datetime(2025, 11, 3, 11, 0, tzinfo=UTC)


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Loc", "loc"),
        ("Loc Zn", "loc_zn"),
        ("Loc/QTI", "loc_qti"),
        ("Loc Purp Desc", "loc_purp_desc"),
        ("\ufeffLoc", "loc"),
        (" All Qty Avail ", "all_qty_avail"),
    ],
)
def test_sanitize_header(raw, name):
    assert t.sanitize_header(raw) == name


def test_all_reference_headers_sanitise_to_the_table_columns():
    raw = (
        "Loc, Loc Zn, Loc Name, Loc Purp Desc, Loc/QTI, Flow Ind, DC, OPC, TSQ, OAC, IT, Auth Overrun Ind, "
        "Nom Cap Exceed Ind, All Qty Avail, Qty Reason"
    ).split(", ")
    assert tuple(t.sanitize_header(h) for h in raw) == t.CAPACITY_COLUMNS


@pytest.mark.parametrize(
    ("text", "value"),
    [("125,000", Decimal("125000")), ("80000.50", Decimal("80000.50")), ("0", Decimal(0)), ("", None), (None, None)],
)
def test_parse_decimal(text, value):
    assert t.parse_decimal(text) == value


@pytest.mark.parametrize("text", ["n/a", "12a", "NaN", "Infinity"])
def test_parse_decimal_refuses_non_numbers(text):
    with pytest.raises(ValueError, match="number"):
        t.parse_decimal(text)


def test_fixture_parses_into_rows_and_rejects_with_line_and_field():
    parsed = parse_fixture()
    assert [row[0] for row in parsed.rows] == ["500001", "500002", "500008"]
    reasons = {(r.line, r.field): r.reason for r in parsed.rejects}
    assert reasons[(4, "tsq")] == "not a number: 'n/a'"
    assert "negative quantity -10000" in reasons[(5, "oac")]
    assert "duplicate key" in reasons[(6, "loc")] and "first on line 2" in reasons[(6, "loc")]
    assert "loc is required" in reasons[(7, "loc")]
    assert "expected 15 fields, found 9" in reasons[(8, None)]
    assert len(parsed.rows) + len(parsed.rejects) == 8


def test_rows_carry_exact_decimals_lineage_and_normalised_reason():
    parsed = parse_fixture()
    first = dict(zip(t.TARGET_COLUMNS, parsed.rows[0], strict=True))
    assert first["dc"] == Decimal("125000") and first["tsq"] == Decimal("80000.50")
    assert first["measure_date"] == date(2025, 6, 8)
    assert first["cycle_id"] == "Intraday_1"
    assert first["download_timestamp"] == 1749400000.5
    assert first["source_system"] == "energy_transfer"
    assert first["qty_reason"] is None
    second = dict(zip(t.TARGET_COLUMNS, parsed.rows[1], strict=True))
    assert second["qty_reason"] == "Unavailable"


def test_unknown_column_fails_the_file_naming_it():
    text = (FIXTURES / FIXTURE_FILE).read_text().replace("Loc Zn,", "Loc Zone Code,", 1)
    with pytest.raises(t.CapacityFileError, match=r"x\.csv line 1 field 'Loc Zone Code': unknown column"):
        t.parse_capacity_csv(
            text,
            filename="x.csv",
            measure_date=date(2025, 6, 8),
            cycle_name="Evening",
            downloaded_at=0,
            source_system="s",
        )


def test_missing_column_fails_the_file_naming_it():
    text = "Loc,Loc Zn,Loc Name\n1,2,3\n"
    with pytest.raises(t.CapacityFileError, match=r"x\.csv line 1 field .*loc_purp_desc.*: missing column"):
        t.parse_capacity_csv(
            text,
            filename="x.csv",
            measure_date=date(2025, 6, 8),
            cycle_name="Evening",
            downloaded_at=0,
            source_system="s",
        )


def _parse(text: str):
    return t.parse_capacity_csv(
        text, filename="x.csv", measure_date=date(2025, 6, 8), cycle_name="Evening", downloaded_at=0, source_system="s"
    )


def _fixture_lines() -> list[list[str]]:
    return [line.split(",") for line in (FIXTURES / FIXTURE_FILE).read_text().splitlines()[:3]]


def _joined(lines: list[list[str]]) -> str:
    return "\n".join(",".join(fields) for fields in lines) + "\n"


def test_a_field_over_the_csv_limit_fails_the_file_naming_line_and_field():
    import csv

    lines = _fixture_lines()
    lines[2][3] = '"' + "x" * (csv.field_size_limit() + 1) + '"'  # loc_purp_desc of line 3
    with pytest.raises(t.CapacityFileError, match=r"x\.csv line 3 field loc_purp_desc: value longer than 131072"):
        _parse(_joined(lines))


def test_an_unclosed_quote_swallowing_the_rest_fails_at_the_line_it_reaches_the_limit():
    lines = _fixture_lines()
    lines[2][2] = '"TW open quote'  # loc_name of line 3 never closes
    text = _joined(lines) + ("filler line\n" * 20000)
    with pytest.raises(t.CapacityFileError, match=r"x\.csv line \d+ field loc_name: value longer than"):
        _parse(text)


def test_a_nul_byte_quarantines_the_row_naming_the_field_and_keeps_a_storable_record():
    import json

    lines = _fixture_lines()
    lines[2][2] = "TW\x00name"
    parsed = _parse(_joined(lines))
    assert len(parsed.rows) == 1
    [reject] = parsed.rejects
    assert (reject.line, reject.field) == (3, "loc_name") and "NUL byte" in reject.reason
    assert "\\u0000" not in json.dumps(reject.raw) and reject.raw["loc_name"] == "TW\\x00name"


@pytest.mark.parametrize("quantity", ["1e20000000", "-1e20000000", "1e-20000", "9e131072"])
def test_a_quantity_beyond_postgres_numeric_quarantines_the_row(quantity):
    lines = _fixture_lines()
    lines[2][6] = quantity  # dc of line 3
    parsed = _parse(_joined(lines))
    [reject] = parsed.rejects
    assert (reject.line, reject.field) == (3, "dc")
    assert reject.reason.startswith("out of range for a numeric column") and len(reject.reason) < 100


def test_a_byte_neither_encoding_decodes_fails_the_file_naming_line_and_field():
    body = _joined(_fixture_lines()).encode()
    line_3 = body.index(b"\n", body.index(b"\n") + 1) + 1
    comma = [i for i in range(line_3, len(body)) if body[i : i + 1] == b","][1]  # after loc_zn
    bad = body[: comma + 1] + b"TW \x81" + body[comma + 1 :]
    with pytest.raises(t.CapacityFileError, match=r"x\.csv line 3 field loc_name: byte 0x81 is neither UTF-8"):
        t.decode_capacity_file(bad, "x.csv")
    assert t.decode_capacity_file("é".encode("cp1252") + body, "x.csv").startswith("é")  # the fallback


# ------------------------------------------------------------------ change detection (SCD2)


def _values(**changes):
    base = {c: None for c in t.CAPACITY_COLUMNS}
    base.update(loc="1", loc_name="A", dc=Decimal("10.0"), opc=Decimal(5), tsq=Decimal(1), oac=Decimal(4), it="Y")
    base.update(changes)
    return base


def test_row_hash_ignores_representation_and_lineage():
    assert t.row_hash(_values()) == t.row_hash(_values(dc=Decimal("10.00")))
    assert t.row_hash(_values()) == t.row_hash(_values(download_timestamp=1.0, source_system="x"))


def test_row_hash_changes_when_a_value_changes():
    assert t.row_hash(_values()) != t.row_hash(_values(tsq=Decimal(2)))
    assert t.row_hash(_values()) != t.row_hash(_values(qty_reason="Unavailable"))
    assert t.row_hash(_values(it=None)) != t.row_hash(_values(it=""))


def test_same_file_twice_gives_the_same_hashes_and_a_change_shows():
    first = parse_fixture()
    again = parse_fixture(downloaded_at=1.0)
    hashes = [row[-1] for row in first.rows]
    assert hashes == [row[-1] for row in again.rows]
    changed_text = (FIXTURES / FIXTURE_FILE).read_text().replace("700,700.0,0,700", "700,700.0,10,690")
    changed = t.parse_capacity_csv(
        changed_text,
        filename=FIXTURE_FILE,
        measure_date=date(2025, 6, 8),
        cycle_name="Intraday 1",
        downloaded_at=2.0,
        source_system="energy_transfer",
    )
    assert [row[-1] for row in changed.rows][:2] == hashes[:2]
    assert changed.rows[2][-1] != hashes[2]


# ------------------------------------------------------------------ configuration


def test_default_plan_is_the_originals_four_cycles():
    targets = plan_targets(CONFIG, date(2025, 6, 8))
    assert [x["cycle"] for x in targets] == ["Evening", "Intraday 1", "Intraday 2", "Intraday 3"]
    assert {x["gas_day"] for x in targets} == {"2025-06-08"}
    assert all(isinstance(x["cycle_code"], int) for x in targets)


def test_plan_overrides_and_unknown_names():
    assert [x["cycle"] for x in plan_targets(CONFIG, date(2025, 6, 8), cycles=["Timely", "Final"])] == [
        "Timely",
        "Final",
    ]
    with pytest.raises(ValueError, match="unknown cycle"):
        plan_targets(CONFIG, date(2025, 6, 8), cycles=["Intraday 9"])
    with pytest.raises(ValueError, match="unknown endpoint"):
        plan_targets(CONFIG, date(2025, 6, 8), endpoints=["nope"])


def test_config_refuses_an_unsafe_table_name(tmp_path):
    import yaml

    bad = dict(CONFIG)
    bad["endpoints"] = {"x": {**TW, "table": "capacity; DROP TABLE y"}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="identifier"):
        load_config(path)


def test_cycle_codes_are_energy_transfers_evidenced_ones():
    """Reference original-contracts.md §3.2: 0 Timely, 1 Evening, 3/4/7 Intraday 1/2/3, 5 Final."""
    codes = {name: cycle["code"] for name, cycle in CONFIG["cycles"].items()}
    assert codes == {"Timely": 0, "Evening": 1, "Intraday 1": 3, "Intraday 2": 4, "Intraday 3": 7, "Final": 5}


def test_plan_with_look_back_adds_the_previous_days_once_each():
    targets = plan_targets(CONFIG, date(2025, 6, 8), cycles=["Evening"], lookback_days=3)
    assert [(x["gas_day"], x["lookback"]) for x in targets] == [
        ("2025-06-08", False),
        ("2025-06-07", True),
        ("2025-06-06", True),
        ("2025-06-05", True),
    ]
    assert CONFIG["lookback_days"] == 3


def test_another_cycles_file_is_named_as_found():
    publication = t.check_publication(
        status=200,
        content_disposition='attachment; filename="TW_OperationallyAvailable_Timely_06-08-2025.csv"',
        body_size=5000,
        expected_cycle="Intraday 1",
        gas_day=date(2025, 6, 8),
        rules=RULES,
        min_body_bytes=200,
    )
    assert (publication.published, publication.found_cycle) == (False, "Timely")


@pytest.mark.parametrize(("header", "seconds"), [(None, None), ("", None), ("7", 7.0), (" 12 ", 12.0), ("soon", None)])
def test_retry_after_in_seconds(header, seconds):
    from etl_bundle.tec.fetch import retry_after_seconds

    assert retry_after_seconds(header) == seconds


def test_throttled_retries_wait_as_the_server_asks_and_give_up_on_a_long_wait():
    from types import SimpleNamespace

    from etl_bundle.tec.fetch import (
        MAX_WAIT_SECONDS,
        ThrottledError,
        _asked_to_wait_longer_than_a_task_should_sleep,
        _backoff,
    )

    def state(error, attempt=1):
        return SimpleNamespace(outcome=SimpleNamespace(exception=lambda: error), attempt_number=attempt)

    assert _backoff(state(ThrottledError("429", 1.0))) == 1.0  # Retry-After honoured
    assert _backoff(state(ThrottledError("403", None), attempt=3)) == 4  # else exponential
    assert _backoff(state(ThrottledError("429", 3600.0))) == MAX_WAIT_SECONDS
    assert _asked_to_wait_longer_than_a_task_should_sleep(state(ThrottledError("429", 3600.0)))
    assert not _asked_to_wait_longer_than_a_task_should_sleep(state(ThrottledError("429", 1.0)))
    assert not _asked_to_wait_longer_than_a_task_should_sleep(state(ThrottledError("403", None)))


def test_archive_prunes_by_gas_day_and_finds_the_newest(tmp_path, monkeypatch):
    from contextlib import contextmanager

    from etl_bundle.common.share import FolderShare
    from etl_bundle.tec import archive

    @contextmanager
    def folder_share(settings):
        yield FolderShare("network_share", tmp_path)

    monkeypatch.setattr(archive, "archive_share", folder_share)
    settings = {"retention_days": 2, "folder": "tec_raw"}
    for day, stamp in ((date(2025, 6, 1), 1749000000.0), (date(2025, 6, 8), 1749400000.0)):
        archive.archive_file(
            settings, endpoint="tw", gas_day=day, cycle_id="Evening", filename="f.csv", body=b"x", downloaded_at=stamp
        )
    archive.archive_file(
        settings,
        endpoint="tw",
        gas_day=date(2025, 6, 8),
        cycle_id="Evening",
        filename="g.csv",
        body=b"y",
        downloaded_at=1749400100.0,
    )
    assert sorted(p.name for p in (tmp_path / "tec_raw" / "tw").iterdir()) == ["2025-06-08"]
    path, body, downloaded_at = archive.latest_archived(settings, "tw", date(2025, 6, 8), "Evening")
    assert (archive.original_name(path), downloaded_at, body) == ("g.csv", 1749400100.0, b"y")
    assert path == "tec_raw/tw/2025-06-08/Evening/20250608T162820.000000Z_g.csv"


def test_an_archived_copy_keeps_its_download_time_to_the_microsecond():
    """A replay of the newest copy must not look older than the load of that same download
    (the load skips a file older than the one already loaded)."""
    from etl_bundle.tec import archive

    assert archive.archived_at("20250608T162820.123456Z_g.csv") == 1749400100.123456
    assert archive.archived_at("20250608T162820Z_g.csv") == 1749400100.0  # copies archived before


class RecordedXComs:
    """Stands for a task instance's xcom_pull over recorded (task, key, map index) values."""

    def __init__(self, values):
        self.values = values

    def xcom_pull(self, task_ids, map_indexes, key="return_value"):
        return self.values.get((task_ids, key, map_indexes))


SENSOR, GATE = "cycle.wait_until_published", "cycle.quality_gate"


def test_run_check_fails_when_every_cycle_of_the_day_was_skipped_naming_why():
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.load import check_run_outcome

    targets = plan_targets(CONFIG, date(2025, 6, 8), cycles=["Intraday 1", "Evening"], lookback_days=1)
    skipped = {(SENSOR, "outcome", i): {"reason": f"cycle {i} never published"} for i in range(4)}
    with pytest.raises(AirflowFailException, match="no cycle .* cycle 0 never published; cycle 1 never published"):
        check_run_outcome(targets, RecordedXComs(skipped), dry_run=False)

    one_loaded = {**skipped, (SENSOR, "return_value", 1): {"filename": "x"}, (GATE, "return_value", 1): {}}
    assert check_run_outcome(targets, RecordedXComs(one_loaded), dry_run=False)["loaded"] == [
        "tw_operational_capacity Evening of gas day 2025-06-08"
    ]


def test_run_check_fails_when_a_cycle_failed_even_if_others_loaded():
    from airflow.sdk.exceptions import AirflowFailException

    from etl_bundle.tec.load import check_run_outcome

    targets = plan_targets(CONFIG, date(2025, 6, 8), cycles=["Intraday 1", "Evening"])
    xcoms = {
        (SENSOR, "return_value", 0): {"filename": "x"},
        (GATE, "return_value", 0): {},
        (SENSOR, "return_value", 1): {"filename": "y"},
    }
    with pytest.raises(AirflowFailException, match="Evening of gas day 2025-06-08: published, but its load"):
        check_run_outcome(targets, RecordedXComs(xcoms), dry_run=False)
    assert len(check_run_outcome(targets, RecordedXComs(xcoms), dry_run=True)["loaded"]) == 2
    with pytest.raises(AirflowFailException, match="Intraday 1 of gas day 2025-06-08: waiting for it failed"):
        check_run_outcome(targets, RecordedXComs({k: v for k, v in xcoms.items() if k[2] == 1}), dry_run=True)
