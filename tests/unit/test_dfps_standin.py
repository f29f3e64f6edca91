"""The DFPS Oracle stand-in's generated rows and DPS's answer files (devstack.dfps_data), no services."""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest

from devstack import dfps_data
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.dfps.reconcile import runaway_events
from etl_bundle.dfps.results import counts_warnings, parse_counts, parse_results

PERIOD = FiscalPeriod(2026, 4)
HEADER = dfps_data.RESULTS_HEADER.split(":")


@pytest.fixture(scope="module")
def reference():
    return dfps_data.reference_rows(PERIOD)


@pytest.fixture(scope="module")
def lines(reference):
    return dfps_data.results_lines(reference, PERIOD, dfps_data.answer_rng("test"))


def cells(line: str) -> dict[str, str]:
    return dict(zip(HEADER, line[:-1].split(":"), strict=True))


def mdy(text: str) -> date | None:
    return datetime.strptime(text, "%m/%d/%Y").date() if text else None


def test_reference_is_the_periods_children_as_send_prepares_them(reference):
    quarter = {row[0] for row in dfps_data.generated(1000) if (row[8], row[9]) == (2026, 4)}
    assert reference and {int(ref["Person_ID"]) for ref in reference} <= quarter
    assert all(ref["Name"] == ref["Name"].upper() and len(ref["Name"]) <= 30 for ref in reference)


def test_default_period_is_the_quarter_before_today():
    assert dfps_data.default_period(date(2026, 11, 29)).label == "FY2026_Q4"
    assert dfps_data.default_period(date(2026, 12, 1)).label == "FY2027_Q1"


def test_default_year_is_the_fiscal_year_before_today():
    assert dfps_data.default_year(date(2026, 11, 29)).label == "FY2026"
    assert dfps_data.default_year(date(2026, 8, 31)).label == "FY2025"


def test_results_header_has_no_trailing_colon_and_every_row_one_with_the_headers_fields(lines):
    assert lines[0] == dfps_data.RESULTS_HEADER and not lines[0].endswith(":")
    assert len(lines) > 10
    for line in lines[1:]:
        assert line.endswith(":")
        assert len(line[:-1].split(":")) == len(HEADER)


def test_results_dates_statuses_and_status_dates(lines):
    for line in lines[1:]:
        row = cells(line)
        for column in ("CPS DOB", "DOE", "LAST CONT"):
            assert mdy(row[column])
        assert row["STS"] in dfps_data.RESULT_STATUSES
        assert bool(mdy(row["LOCATE DTE"])) == (row["STS"] == "LOC")
        assert bool(mdy(row["CLR/CAN DTE"])) == (row["STS"] in ("CLRD", "CANC"))
        assert row["S"] in ("M", "F") and row["NIC #"].startswith("M") and len(row["NIC #"]) == 10
    assert {cells(line)["STS"] for line in lines[1:]} == set(dfps_data.RESULT_STATUSES)


def test_results_names_come_from_the_reference_but_three(reference, lines):
    known = {(ref["Name"], ref["Date_of_Birth"]) for ref in reference}
    rows = [cells(line) for line in lines[1:]]
    unmatched = [row for row in rows if (row["CPS NAME"], mdy(row["CPS DOB"])) not in known]
    assert len(unmatched) == 3
    assert {row["CPS NAME"].split(",")[1] for row in unmatched} == set(dfps_data.UNMATCHED_FIRST)
    assert not {row["CPS NAME"] for row in unmatched} & {name for name, _ in known}


def test_results_cover_about_thirty_percent_and_the_awkward_cases(reference, lines):
    by_name = {(ref["Name"], ref["Date_of_Birth"]): ref["Person_ID"] for ref in reference}
    rows = [cells(line) for line in lines[1:]]
    people: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        person = by_name.get((row["CPS NAME"], mdy(row["CPS DOB"])))
        if person is not None:
            people.setdefault(person, []).append(row)
    total = len({ref["Person_ID"] for ref in reference})
    assert abs(len(people) - round(total * 0.3)) <= 1
    same_day = [rs for rs in people.values() if len({r["LAST CONT"] for r in rs}) == 1 and len(rs) == 2]
    assert any({r["STS"] for r in rs} == {"LOC", "CLRD"} for rs in same_day)
    assert any(len({r["LAST CONT"] for r in rs}) == 2 for rs in people.values())
    contacts = [(mdy(row["LAST CONT"]), row["STS"]) for row in rows]
    assert any(day < PERIOD.start and status == "ACTV" for day, status in contacts)
    assert any(day > PERIOD.end for day, _ in contacts)
    inside = sum(PERIOD.contains(day) for day, _ in contacts)
    assert inside > len(contacts) / 2


def test_results_parse_with_the_dags_parser_and_reconcile(reference, lines):
    text = "\n".join(lines) + "\n"
    parsed = parse_results(text, "dfps-missing-person-results_FY2026_Q4.txt")
    assert parsed.rejects == [] and len(parsed.rows) == len(lines) - 1
    assert counts_warnings(dfps_data.counts_text(lines), parsed) == []
    events, counts = runaway_events(parsed.rows, reference, PERIOD.start, PERIOD.end)
    assert counts["unmatched"] == 3 and events


def test_counts_total_is_the_data_rows_and_statuses_add_up(lines):
    counts = parse_counts(dfps_data.counts_text(lines))
    assert counts["TOTAL RECORDS"] == len(lines) - 1
    assert sum(counts[status] for status in dfps_data.RESULT_STATUSES) == len(lines) - 1


def test_results_are_deterministic(reference):
    first = dfps_data.results_lines(reference, PERIOD, dfps_data.answer_rng("FY2026_Q4"))
    assert dfps_data.results_lines(reference, PERIOD, dfps_data.answer_rng("FY2026_Q4")) == first


def test_place_dps_answer_writes_private_files_in_to_dfps(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVSTACK_HOME", str(tmp_path))
    written = dfps_data.place_dps_answer("FY2026_Q4")
    assert [path.name for path in written] == [
        "dfps-missing-person-results_FY2026_Q4.txt",
        "dfps-missing-person-counts_FY2026_Q4.txt",
    ]
    assert all(path.parent == tmp_path / "sftp" / "root" / "to_dfps" for path in written)
    assert all(oct(os.stat(path).st_mode & 0o777) == "0o600" for path in written)
    assert sorted(p.name for p in written[0].parent.iterdir()) == sorted(p.name for p in written)  # no leftovers
    results = written[0].read_text(encoding="ascii").splitlines()
    assert parse_counts(written[1].read_text())["TOTAL RECORDS"] == len(results) - 1
    assert dfps_data.place_dps_answer("FY2026_Q4")[0].read_text(encoding="ascii").splitlines() == results


def test_time_dim_is_monthly_by_calendar_year_and_month_with_increasing_ids():
    loads = dfps_data.time_dim_rows()
    assert loads[0][1:] == (2023, 9) and loads[-1][1:] == (2027, 8) and len(loads) == 48
    assert all(a[0] < b[0] for a, b in zip(loads, loads[1:], strict=False))
    assert len({(year, month) for _, year, month in loads}) == 48


@pytest.fixture(scope="module")
def lookups():
    data = dfps_data.generated(1000)
    tables = {target.split(" ")[0]: rows for target, rows in dfps_data.lookup_tables(data).items()}
    return data, tables["caps.sa_98_runaways"], tables["caps.sa_sum"]


def test_sa_sum_has_every_child_in_each_quarters_last_month(lookups):
    data, _, sa_sum = lookups
    loads = {(year, month): load for load, year, month in dfps_data.time_dim_rows()}
    people = {row[0] for row in data}
    for fiscal_year in dfps_data.FISCAL_YEARS:
        for quarter in (1, 2, 3, 4):
            last = FiscalPeriod(fiscal_year, quarter).end
            assert {row[0] for row in sa_sum if row[3] == loads[(last.year, last.month)]} == people
    codes = {row[1] for row in sa_sum}
    ccount = {code for code, _, _ in dfps_data.COUNTIES}
    assert dfps_data.OUT_OF_STATE in codes and dfps_data.OUT_OF_STATE not in ccount
    assert "151" in codes  # Loving: a ccount name with no region


def test_runaways_are_children_with_spread_statuses_some_recovered(lookups):
    data, runaways, _ = lookups
    rows = [dict(zip(dfps_data.SA98_NAMES, row, strict=True)) for row in runaways]
    people = {row[0] for row in data}
    assert rows and {row["child_pid"] for row in rows} <= people
    assert {row["legal_status"] for row in rows} == set(dfps_data.LEGAL_STATUSES)
    recovered = [row for row in rows if row["dt_recovered"] is not None]
    assert recovered and len(recovered) < len(rows)
    assert all(row["dt_recovered"] >= row["dt_run"] for row in recovered)
    assert all(row["returned_by"] is None and row["days_missing"] is None for row in rows if row not in recovered)
    period = FiscalPeriod(2026, 4)
    listed = [
        r
        for r in rows
        if r["dt_run"] <= period.end and (r["dt_recovered"] is None or r["dt_recovered"] >= period.start)
    ]
    assert listed


def test_the_sa_98_table_is_created_with_the_columns_the_seed_copies_in_that_order():
    import sqlglot

    create = next(
        statement
        for statement in sqlglot.parse(
            dfps_data.LOOKUP_DDL.split("CREATE SCHEMA IF NOT EXISTS qtr")[0], read="postgres"
        )
        if statement is not None and statement.key == "create" and statement.this.this.name == "sa_98_runaways"
    )
    assert [column.name for column in create.this.expressions] == dfps_data.SA98_NAMES


def test_get_sa_98_is_wide_with_the_originals_recovery_columns_at_17_to_27():
    from etl_bundle.dfps.reconcile import SA98_DROPPED

    names = [name.upper() for name in dfps_data.SA98_NAMES]
    assert len(names) >= 29 and len(set(names)) == len(names)
    assert {"CHILD_PID", "LEGAL_STATUS", "DT_RECOVERED"} <= set(names)
    assert names[17:28] == list(SA98_DROPPED[1:]) and names[16] == "DT_RECOVERED"  # the prototype's cut
    assert not {"NM_CHILD", "DT_RUNAWAY", "LEGAL_COUNTY"} & set(names)  # names we once invented


def test_region_table_matches_ccount_names_but_one():
    regions = {name for _, name, _ in dfps_data.COUNTIES if name not in dfps_data.NOT_IN_REGIONS}
    decodes = {name for _, name, _ in dfps_data.COUNTIES}
    assert decodes - regions == {"Loving"}
    assert {"Travis", "Harris", "Bexar", "Dallas", "El Paso", "Hidalgo"} <= regions
