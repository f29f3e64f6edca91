"""Which DPS files answer a period, and when they are ready to take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.dfps.answer_files import (
    RemoteFile,
    Send,
    answer_kind,
    answers_for,
    owner_by_send,
    pick_answers,
    readiness,
    stable,
)

Q1 = FiscalPeriod.parse("FY2027_Q1")
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=60)


def remote(name, size=100, minutes_ago=30):
    return RemoteFile(name=name, size=size, mtime=int((NOW - timedelta(minutes=minutes_ago)).timestamp()))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dfps-missing-person-results_FY2027_Q1.txt", ("results", True)),
        ("DFPS-Missing-Person-Counts_fy2027_q1.TXT", ("counts", True)),
        ("dfps-missing-person-results.txt", ("results", False)),
        ("dfps-missing-person-counts", ("counts", False)),
        ("dfps-missing-person-results_FY2026_Q4.txt", None),  # another period's answer
        ("dfps-missing-person-results_FY2027.txt", None),  # the whole year is another period
        ("dfps-missing-person-results.txt.part", None),  # still being uploaded
        (".dfps-missing-person-results.txt", None),
        ("Children_in_care_FY2027_Q1.txt", None),
        # as the original: any name containing the marker, in any case
        ("TX_DFPS-MISSING-PERSON-RESULTS_20261205.csv", ("results", False)),
        ("copy of dfps-missing-person-counts (2).txt", ("counts", False)),
        ("dfps-missing-person-results-fy2027-q1.dat", ("results", True)),
        ("FY2027_Q1 dfps-missing-person-results", ("results", True)),
        ("dfps-missing-person-results_FY2027_Q1_FY2026_Q4.txt", None),  # names two periods
        ("dfps-missing-person-results-and-counts.txt", ("results", False)),
        ("dfps-missing-person-results_dfps-missing-person-counts.txt", None),  # which one?
    ],
)
def test_answer_names_containing_the_marker_any_case_never_another_periods(name, expected):
    assert answer_kind(name, Q1) == expected


def test_the_file_named_for_the_period_wins_over_an_unsuffixed_newer_one():
    files = [
        remote("dfps-missing-person-results.txt", minutes_ago=1),
        remote("dfps-missing-person-results_FY2027_Q1.txt", minutes_ago=50),
        remote("dfps-missing-person-counts.txt", minutes_ago=9),
        remote("dfps-missing-person-counts_v2.txt"),
    ]
    picked = pick_answers(files, Q1)
    assert picked["results"].name == "dfps-missing-person-results_FY2027_Q1.txt"
    assert picked["counts"].name == "dfps-missing-person-counts.txt"


def test_only_files_that_held_still_between_listings_are_stable():
    first = {"results": remote("r", size=10), "counts": remote("c")}
    second = {"results": remote("r", size=20), "counts": remote("c")}
    assert stable(first, second) == {"counts": remote("c")}


def test_results_and_counts_settled_are_ready():
    seen = {"results": remote("r"), "counts": remote("c")}
    found = readiness(seen, seen, NOW, GRACE)
    assert found.ready and found.results.name == "r" and found.counts.name == "c"


def test_a_growing_file_is_not_taken():
    seen = {"results": remote("r", size=20), "counts": remote("c")}
    found = readiness(seen, {"counts": remote("c")}, NOW, GRACE)
    assert not found.ready and "still being written" in found.reason


def test_counts_are_awaited_for_the_grace_period_then_the_run_goes_on_without_them():
    early = {"results": remote("r", minutes_ago=10)}
    assert not readiness(early, early, NOW, GRACE).ready
    late = {"results": remote("r", minutes_ago=61)}
    found = readiness(late, late, NOW, GRACE)
    assert found.ready and found.counts is None and "without it" in found.reason


def test_nothing_there_is_not_ready():
    assert readiness({}, {}, NOW, GRACE).reason == "no results file yet"


def test_a_young_file_is_not_taken_though_it_held_still():
    young = {"results": remote("r", minutes_ago=2), "counts": remote("c", minutes_ago=30)}
    found = readiness(young, young, NOW, GRACE, timedelta(minutes=10))
    assert not found.ready and found.reason.startswith("r was last changed 120 s ago")
    old_results_young_counts = {"results": remote("r"), "counts": remote("c", minutes_ago=1)}
    assert not readiness(old_results_young_counts, old_results_young_counts, NOW, GRACE, timedelta(minutes=10)).ready
    settled = {"results": remote("r", minutes_ago=11), "counts": remote("c", minutes_ago=11)}
    assert readiness(settled, settled, NOW, GRACE, timedelta(minutes=10)).ready


Q4 = FiscalPeriod.parse("FY2026_Q4")
FY = FiscalPeriod.parse("FY2026")
SENDS = [Send(Q4, NOW - timedelta(days=10)), Send(FY, NOW - timedelta(days=1))]


def test_an_unsuffixed_answer_belongs_to_the_period_sent_last_before_it():
    assert owner_by_send(int((NOW - timedelta(days=5)).timestamp()), SENDS) == Q4
    assert owner_by_send(int((NOW - timedelta(hours=2)).timestamp()), SENDS) == FY
    assert owner_by_send(int((NOW - timedelta(days=30)).timestamp()), SENDS) is None

    between = remote("dfps-missing-person-results.txt", minutes_ago=5 * 24 * 60)
    after_both = remote("dfps-missing-person-counts.txt", minutes_ago=60)
    named = remote("dfps-missing-person-results_FY2026.txt", minutes_ago=5 * 24 * 60)
    kept, notes = answers_for([between, after_both, named], FY, SENDS, {})
    assert kept == [after_both, named]  # a name naming the period wins whatever its time
    assert notes == ["dfps-missing-person-results.txt answers FY2026_Q4 (the last send before it)"]
    kept, notes = answers_for([between, after_both], Q4, SENDS, {})
    assert kept == [between]
    assert notes == ["dfps-missing-person-counts.txt answers FY2026 (the last send before it)"]


def test_an_answer_before_any_send_or_claimed_for_another_period_is_not_taken():
    early = remote("dfps-missing-person-results.txt", minutes_ago=40 * 24 * 60)
    assert answers_for([early], Q4, SENDS, {}) == (
        [],
        [f"{early.name} names no period and no send to DPS came before it"],
    )
    left_behind = remote("dfps-missing-person-results.txt", minutes_ago=60)
    claims = {(left_behind.name, left_behind.size, left_behind.mtime): "FY2026_Q4"}
    assert answers_for([left_behind], FY, SENDS, claims) == ([], [f"{left_behind.name} was taken for FY2026_Q4"])
    # The period it was claimed for takes it again (a retry, a rerun after a failure).
    named = remote("dfps-missing-person-results_FY2026_Q4.txt")
    claims[(named.name, named.size, named.mtime)] = "FY2026_Q4"
    assert answers_for([named], Q4, SENDS, claims) == ([named], [])
