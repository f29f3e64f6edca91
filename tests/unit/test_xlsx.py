"""The streaming workbook writer, read back with openpyxl."""

from __future__ import annotations

import stat
import warnings
from datetime import date, datetime

from openpyxl import load_workbook

from etl_bundle.common.xlsx import column_letter, write_workbook


def test_values_round_trip_through_openpyxl(tmp_path):
    path = tmp_path / "book.xlsx"
    rows = [
        {"text": 'Peña <&> "quoted"\x07', "day": date(2008, 2, 29), "n": 12345678901, "x": 1.5, "flag": True},
        {"text": None, "day": datetime(2024, 1, 2, 3, 4, 5), "n": -1},
    ]
    assert write_workbook(path, ["text", "day", "n", "x", "flag"], rows, sheet="Runaways") == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a malformed part would make openpyxl warn
        book = load_workbook(path)
    sheet = book["Runaways"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("text", "day", "n", "x", "flag"),
        ('Peña <&> "quoted"', datetime(2008, 2, 29), 12345678901, 1.5, True),
        (None, datetime(2024, 1, 2, 3, 4, 5), -1, None, None),
    ]
    assert sheet["B2"].number_format == "yyyy\\-mm\\-dd"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_sheet_has_its_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    assert write_workbook(path, ["Person_ID", "Outcome"], []) == 0
    assert list(load_workbook(path).active.iter_rows(values_only=True)) == [("Person_ID", "Outcome")]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == ["A", "Z", "AA", "AZ", "ZZ", "AAA"]


def test_read_workbook_pads_rows_whose_last_cells_are_empty(tmp_path):
    from etl_bundle.common.xlsx import read_workbook

    path = tmp_path / "short.xlsx"
    write_workbook(path, ["Person_ID", "Exited_Care", "Outcome"], [{"Person_ID": 7}, {"Person_ID": 8, "Outcome": "x"}])
    assert read_workbook(path) == [
        {"Person_ID": 7, "Exited_Care": None, "Outcome": None},
        {"Person_ID": 8, "Exited_Care": None, "Outcome": "x"},
    ]


def test_the_same_rows_give_the_same_bytes_at_any_time(tmp_path, monkeypatch):
    import time
    import zipfile

    rows = [{"Name": "CRUZ,JOSE", "Born": date(2010, 1, 2)}]
    write_workbook(tmp_path / "first.xlsx", ["Name", "Born"], rows)
    later = time.time() + 3 * 86400  # zip entries keep the clock to two seconds: days apart differ
    monkeypatch.setattr(zipfile.time, "time", lambda: later)
    write_workbook(tmp_path / "again.xlsx", ["Name", "Born"], rows)
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "again.xlsx").read_bytes()
    assert load_workbook(tmp_path / "again.xlsx", read_only=True).active["A2"].value == "CRUZ,JOSE"
