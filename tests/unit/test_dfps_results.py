"""DPS results and counts files (made-up people)."""

from __future__ import annotations

from datetime import date

import pytest

from etl_bundle.dfps.results import (
    ParsedResults,
    ResultsFileError,
    counts_disagreement,
    counts_warnings,
    parse_counts,
    parse_date,
    parse_results,
    unknown_statuses,
)

HEADER = (
    "CPS NAME:FULL NAME:CPS DOB:S:R:E:DOE:LAST CONT:HR:ORI:ORI DESC:COUNTY NAME"
    ":ORI PHONE:NIC #:STS:LOCATE DTE:CLR/CAN DTE"
)
ROW_1 = (
    "CRUZ, JOSE :JOSE CRUZ:2008-02-29:M:W:H::2025-01-10:N:TX0000000:AUSTIN PD:TRAVIS"
    ":512-555-0100:M000000001:LOC:2025-01-12::"
)
ROW_2 = "DOE,JANE:JANE DOE:03/15/2010:F:W:N::01/20/2025:N:TX0000001:DALLAS PD:DALLAS:214-555-0100:M000000002:ACTV:::"
FILE = "dfps-missing-person-results_FY2025_Q2.txt"


def test_rows_are_read_with_renamed_columns_and_real_dates():
    parsed = parse_results("\n".join([HEADER, ROW_1, ROW_2]) + "\n", FILE)
    assert parsed.rejects == []
    first, second = parsed.rows
    assert first["CPS_NAME"] == "CRUZ,JOSE"  # spaces removed, as the match on Name needs
    assert (first["CPS_DOB"], first["LAST_CONT"], first["LOCATE_DT"], first["CLR_CAN_DT"]) == (
        date(2008, 2, 29),
        date(2025, 1, 10),
        date(2025, 1, 12),
        None,
    )
    assert (first["NIC"], first["ORI_DESC"], first["STS"]) == ("M000000001", "AUSTIN PD", "LOC")
    assert (second["CPS_DOB"], second["LAST_CONT"]) == (date(2010, 3, 15), date(2025, 1, 20))


def test_a_bad_date_rejects_its_row_naming_line_and_field():
    bad = ROW_2.replace("01/20/2025", "2025-13-45")
    parsed = parse_results("\n".join([HEADER, ROW_1, bad]), FILE)
    assert len(parsed.rows) == 1
    (reject,) = parsed.rejects
    assert (reject.line, reject.field) == (3, "LAST_CONT") and "not a date" in reject.reason


def test_an_unknown_status_is_kept_unchanged_and_warned_about_a_missing_name_rejects_the_row():
    parsed = parse_results("\n".join([HEADER, ROW_1.replace(":LOC:", ":GONE:"), ":" + ROW_2.split(":", 1)[1]]), FILE)
    assert [(r.line, r.field) for r in parsed.rejects] == [(3, "CPS_NAME")]
    assert [row["STS"] for row in parsed.rows] == ["GONE"]
    assert unknown_statuses(parsed) == [
        "1 rows with status 'GONE', not one of ['ACTV', 'CANC', 'CLRD', 'LOC']: kept unchanged"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"{FILE}: empty results file"),
        ("\n\n", f"{FILE}: empty results file"),
        (HEADER + "\n" + ROW_1.replace(":TRAVIS:", ":TRAVIS:EXTRA:"), f"{FILE} line 2: 18 fields, the header has 17"),
        (HEADER + "\n" + ROW_1 + "\n" + ROW_2[:40], f"{FILE} line 3: a data row must end with ':'"),
        ("NAME:DOB\nX:Y:", f"{FILE} line 1: header lacks CPS_NAME, CPS_DOB, LAST_CONT, STS"),
    ],
)
def test_unreadable_files_fail_naming_file_and_line(text, message):
    with pytest.raises(ResultsFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_results(text, FILE)


def test_dates_in_the_formats_seen_and_errors_otherwise():
    assert parse_date("20250110") == parse_date("01/10/2025") == parse_date("2025-01-10") == date(2025, 1, 10)
    assert parse_date("  ") is None
    with pytest.raises(ValueError, match="not a date"):
        parse_date("yesterday")


def test_counts_are_read_tolerantly_and_only_warn():
    results = ParsedResults(FILE, rows=[{}, {}], rejects=[])
    assert parse_counts("Total records: 1,204\nMatched = 17\nnoise line\n") == {"TOTAL RECORDS": 1204, "MATCHED": 17}
    assert counts_warnings("TOTAL RECORDS: 2:\n", results) == []
    assert counts_warnings("Total records, 3", results) == [
        "counts file says TOTAL RECORDS = 3, the results file has 2 rows"
    ]
    assert "could not be read" in counts_warnings("%PDF-1.4 binary", results)[0]
    assert "no counts file arrived" in counts_warnings(None, results)[0]
    assert "no total to compare" in counts_warnings("Matched: 2", results)[0]


def test_a_results_file_short_of_the_counts_beyond_the_tolerance_is_held():
    counts = "TOTAL RECORDS: 120\nLOC: 20\n"
    held = counts_disagreement(counts, FILE, 100, 0)
    assert held == (
        f"the counts file says TOTAL RECORDS = 120 but {FILE} has 100 rows "
        "(more than 0 apart: truncated or still coming?)"
    )
    assert counts_disagreement(counts, FILE, 120, 0) is None
    assert counts_disagreement(counts, FILE, 115, 5) is None
    assert counts_disagreement(counts, FILE, 114, 5) is not None
    assert counts_disagreement("LOC: 20\n", FILE, 1, 0) is None  # no total: reconcile warns instead


def test_a_byte_that_is_not_utf8_fails_naming_file_line_and_field():
    from etl_bundle.dfps.results import decode_results

    data = (HEADER + "\n" + ROW_2 + "\n" + ROW_1.replace("AUSTIN PD", "AUSTIN P\xc9D") + "\n").encode("latin-1")
    with pytest.raises(ResultsFileError) as raised:
        decode_results(data, FILE)
    assert str(raised.value) == (
        f"{FILE} line 3, field ORI_DESC: byte 0xC9 is not UTF-8 (was the file written in another encoding?)"
    )
    assert decode_results(b"\xef\xbb\xbf" + HEADER.encode(), FILE) == HEADER  # a BOM is fine
    with pytest.raises(ResultsFileError, match="line 1, the header"):
        decode_results(b"CPS NAME:\xff", FILE)
