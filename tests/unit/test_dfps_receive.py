"""dfps_dps_receive's pieces that need no service: the archived answer a reconcile-again run takes,
and the stakeholders' notice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.common.share import FolderShare
from etl_bundle.dfps.receive import STAKEHOLDER_SUBJECT, archived_answer, summary_html


def test_reconcile_again_takes_the_periods_newest_archived_answer_never_a_quarters_of_the_same_year(tmp_path):
    archive = tmp_path / "dfps_dps" / "archive" / "from_dps"
    archive.mkdir(parents=True)
    for name in (
        "dfps-missing-person-results_FY2025_20250921_060000.txt",
        "dfps-missing-person-counts_FY2025_20250921_060000.txt",
        "dfps-missing-person-results_FY2025_20250925_101500.txt",  # collected again later: the newest
        "dfps-missing-person-results_FY2025_Q4_20250930_000000.txt",  # a quarter of that year
    ):
        (archive / name).write_text("CPS NAME:CPS DOB:LAST CONT:STS\nA,B:01/01/2012:01/01/2025:LOC:\n")
    share = FolderShare("network_share", tmp_path)
    collected = archived_answer(share, FiscalPeriod(2025))
    assert collected["from_archive"] is True and collected["counts"] is None  # no counts from that collection
    results = collected["results"]
    assert results["archived"] == "dfps_dps/archive/from_dps/dfps-missing-person-results_FY2025_20250925_101500.txt"
    assert results["remote"] is None and results["lines"] == 2 and len(results["sha256"]) == 64

    quarter = archived_answer(share, FiscalPeriod(2025, 4))
    assert Path(quarter["results"]["archived"]).name == "dfps-missing-person-results_FY2025_Q4_20250930_000000.txt"


def test_reconcile_again_without_an_archived_answer_fails_saying_what_to_do(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="run without it to wait for DPS's answer"):
        archived_answer(FolderShare("network_share", tmp_path), FiscalPeriod(2025, 2))


def test_the_notice_names_the_period_counts_folder_and_files_as_the_original():
    summary = {
        "period": "FY2025_Q2",
        "window": ["2024-12-01", "2025-02-28"],
        "share_folder": "dfps_dps/to_cps",
        "share_files": [
            "dfps_dps/to_cps/DPS_total_runaway_events_FY2025_Q2_20250311_060000.xlsx",
            "dfps_dps/to_cps/DPS_not_in_IMPACT_FY2025_Q2_20250311_060000.xlsx",
            "dfps_dps/to_cps/IMPACT_not_in_DPS_FY2025_Q2_20250311_060000.xlsx",
        ],
        "events_rows": 12,
        "not_in_impact_rows": 3,
        "impact_not_in_dps_rows": 5,
        "results_rows": 40,
        "rejected_rows": 1,
        "unmatched": 2,
        "warnings": ["counts file says TOTAL RECORDS = 41, the results file has 40 rows"],
    }
    assert (
        STAKEHOLDER_SUBJECT.format(period="FY2025_Q2")
        == "DPS Comparison Reports - FY2025_Q2 (Uploaded to Network Drive)"
    )
    body = summary_html(summary, r"\\files.example.org\SHARE\dfps_dps\to_cps")
    assert "<b>FY2025_Q2</b>" in body and r"\\files.example.org\SHARE\dfps_dps\to_cps" in body
    for label, count in (("DPS_total_runaway_events", 12), ("DPS_not_in_IMPACT", 3), ("IMPACT_not_in_DPS", 5)):
        assert f"<li>{label}: {count} " in body
    assert all(Path(name).name in body for name in summary["share_files"])
    assert "TOTAL RECORDS = 41" in body


def test_the_oracle_renderings_use_the_originals_objects():
    import sqlglot

    from etl_bundle.common.sql import render_sql

    load = render_sql("dfps/load_msng_person.sql", dialect="oracle")
    assert load == "BEGIN caps.load_dfps_msng_person(:fiscal_year, :quarter); END;"
    call = sqlglot.parse_one(load.removeprefix("BEGIN ").removesuffix("; END;"), read="oracle")
    assert [str(arg) for arg in call.expression.expressions] == [":fiscal_year", ":quarter"]
    sa98 = sqlglot.parse_one(render_sql("dfps/runaways_sa98.sql", dialect="oracle"), read="oracle")
    function = sa98.args["from_"].this
    assert sa98.is_star and (function.catalog, function.db, function.this.name) == (
        "caps",
        "qtr_dps_cvs_pkg",
        "get_sa_98",
    )
    legal = sqlglot.parse_one(render_sql("dfps/legal_counties.sql", dialect="oracle"), read="oracle")
    assert {table.name for table in legal.find_all(sqlglot.exp.Table)} == {"SA_SUM@WARE", "CCOUNT@rpt"}
    assert legal.named_selects == ["ID_SA_PERSON", "CD_LEGAL_CNTY", "DECODE", "NM_PERSON_NAME"]
    time_load = render_sql("dfps/time_load.sql", dialect="oracle")
    assert "nbr_time_calendar_year = :calendar_year" in time_load
    assert "nbr_time_calendar_month = :calendar_month" in time_load


T0 = datetime(2025, 3, 11, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("records", "force", "per_run", "send", "why"),
    [
        ([], False, False, True, "first send"),
        ([("run_a", "sent", T0, T0)], False, False, False, "already sent by run run_a"),
        ([("run_a", "sent", T0, T0)], True, False, True, "forced"),
        ([("run_b", "sent", T0, T0)], True, False, False, "already sent by this run"),  # a forced run's retry
        ([("run_a", "pending", T0, None)], False, False, False, "maybe sent: run run_a"),
        ([("run_b", "pending", T0, None)], False, False, False, "maybe sent: run run_b"),  # this run, killed
        ([("run_b", "pending", T0, None)], True, False, True, "forced"),
        ([("run_a", "sent", T0, T0)], False, True, True, "first send"),  # late notices: once per run
        ([("run_b", "pending", T0, None)], False, True, False, "maybe sent"),
    ],
)
def test_a_mail_goes_once_and_a_send_of_unknown_outcome_is_not_repeated_unless_forced(
    records, force, per_run, send, why
):
    from etl_bundle.dfps.receive import mail_decision

    decided, reason = mail_decision(records, "run_b", force=force, per_run=per_run)
    assert decided is send and reason.startswith(why)
