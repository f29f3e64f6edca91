"""The fiscal calendar and the fiscal-quarter timetable (no services)."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from etl_bundle.common import fiscal_timetable
from etl_bundle.common.fiscal import FiscalPeriod, fiscal_year_of, quarter_containing, year_containing
from etl_bundle.common.fiscal_timetable import FiscalQuarterTimetable

CHICAGO = "America/Chicago"


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2024, 8, 31), "FY2024_Q4"),
        (date(2024, 9, 1), "FY2025_Q1"),
        (date(2024, 11, 30), "FY2025_Q1"),
        (date(2024, 12, 1), "FY2025_Q2"),
        (date(2025, 2, 28), "FY2025_Q2"),
        (date(2024, 2, 29), "FY2024_Q2"),
        (date(2025, 3, 1), "FY2025_Q3"),
        (date(2025, 5, 31), "FY2025_Q3"),
        (date(2025, 6, 1), "FY2025_Q4"),
        (date(2025, 8, 31), "FY2025_Q4"),
    ],
)
def test_quarter_edges(day, label):
    assert quarter_containing(day).label == label
    assert quarter_containing(day).contains(day)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("FY2025_Q1", date(2024, 9, 1), date(2024, 11, 30)),
        ("FY2025_Q2", date(2024, 12, 1), date(2025, 2, 28)),
        ("FY2024_Q2", date(2023, 12, 1), date(2024, 2, 29)),  # leap year: the original stopped at Feb 28
        ("FY2100_Q2", date(2099, 12, 1), date(2100, 2, 28)),  # 2100 is not a leap year
        ("FY2025_Q3", date(2025, 3, 1), date(2025, 5, 31)),
        ("FY2025_Q4", date(2025, 6, 1), date(2025, 8, 31)),
        ("FY2025", date(2024, 9, 1), date(2025, 8, 31)),
    ],
)
def test_period_bounds(label, start, end):
    period = FiscalPeriod.parse(label)
    assert (period.start, period.end, period.label) == (start, end, label)


def test_full_year_and_neighbours():
    year = year_containing(date(2025, 1, 15))
    assert year == FiscalPeriod(2025) and year.is_full_year and fiscal_year_of(date(2025, 9, 1)) == 2026
    assert FiscalPeriod(2025, 4).following() == FiscalPeriod(2026, 1)
    assert FiscalPeriod(2025, 1).previous() == FiscalPeriod(2024, 4)
    assert year.following() == FiscalPeriod(2026) and year.previous() == FiscalPeriod(2024)
    quarters = [FiscalPeriod(2025, 1)]
    while len(quarters) < 4:
        quarters.append(quarters[-1].following())
    # The quarters tile the year: each starts the day after the previous one ends.
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    assert all(a.end.toordinal() + 1 == b.start.toordinal() for a, b in zip(quarters, quarters[1:], strict=False))


@pytest.mark.parametrize("label", ["FY25_Q1", "FY2025_Q5", "FY2025-Q1", "fy2025", "", None])
def test_bad_labels_are_refused(label):
    with pytest.raises(ValueError, match="fiscal period label"):
        FiscalPeriod.parse(label)


def infos(timetable, earliest, latest=None, *, catchup=True, last=None, limit=12):
    restriction = TimeRestriction(earliest=earliest, latest=latest, catchup=catchup)
    found, interval = [], last
    while len(found) < limit:
        info = timetable.next_dagrun_info(last_automated_data_interval=interval, restriction=restriction)
        if info is None:
            break
        found.append(info)
        interval = info.data_interval
    return found


def test_a_backfill_over_fy2025_selects_its_four_quarters():
    timetable = FiscalQuarterTimetable(delay_days=10, timezone=CHICAGO)
    found = infos(timetable, pendulum.datetime(2024, 9, 1, tz=CHICAGO), pendulum.datetime(2025, 8, 31, tz=CHICAGO))
    assert [timetable.period_of(i.data_interval).label for i in found] == [
        "FY2025_Q1",
        "FY2025_Q2",
        "FY2025_Q3",
        "FY2025_Q4",
    ]
    first = found[0]
    assert first.logical_date == pendulum.datetime(2024, 9, 1, tz=CHICAGO)
    assert first.data_interval.end == pendulum.datetime(2024, 12, 1, tz=CHICAGO)  # CDT to CST: still midnights
    assert first.run_after == pendulum.datetime(2024, 12, 11, tz=CHICAGO)
    assert found[1].data_interval.end == pendulum.datetime(2025, 3, 1, tz=CHICAGO)
    # Bounds given as UTC midnights (as the CLI may) select the same four.
    utc = infos(timetable, pendulum.datetime(2024, 9, 1), pendulum.datetime(2025, 8, 31))
    assert [i.data_interval for i in utc] == [i.data_interval for i in found]


def test_start_inside_a_quarter_begins_with_the_next_one():
    timetable = FiscalQuarterTimetable(timezone=CHICAGO)
    (first, *_) = infos(timetable, pendulum.datetime(2024, 10, 15, tz=CHICAGO), limit=1)
    assert timetable.period_of(first.data_interval) == FiscalPeriod(2025, 2)


def test_without_catchup_only_the_latest_due_quarter_runs(monkeypatch):
    timetable = FiscalQuarterTimetable(delay_days=5, timezone=CHICAGO)
    monkeypatch.setattr(fiscal_timetable, "_utcnow", lambda: pendulum.datetime(2025, 6, 3, tz=CHICAGO))
    # Q3 ended May 31 but is due Jun 5: the latest due quarter is Q2.
    (first, *_) = infos(timetable, pendulum.datetime(2023, 9, 1, tz=CHICAGO), catchup=False, limit=1)
    assert timetable.period_of(first.data_interval) == FiscalPeriod(2025, 2)
    # A backfilled later quarter counts as the last run: no catch-up from there either.
    backfilled = timetable._info(FiscalPeriod(2024, 3)).data_interval
    (after,) = infos(timetable, pendulum.datetime(2023, 9, 1, tz=CHICAGO), catchup=False, last=backfilled, limit=1)
    assert timetable.period_of(after.data_interval) == FiscalPeriod(2025, 2)
    monkeypatch.setattr(fiscal_timetable, "_utcnow", lambda: pendulum.datetime(2025, 6, 6, tz=CHICAGO))
    (now_due,) = infos(timetable, pendulum.datetime(2023, 9, 1, tz=CHICAGO), catchup=False, limit=1)
    assert timetable.period_of(now_due.data_interval) == FiscalPeriod(2025, 3)


def test_manual_runs_take_the_last_quarter_that_ended():
    timetable = FiscalQuarterTimetable(timezone=CHICAGO)
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2024, 1, 15, 12, tz=CHICAGO))
    assert interval == DataInterval(
        pendulum.datetime(2023, 9, 1, tz=CHICAGO), pendulum.datetime(2023, 12, 1, tz=CHICAGO)
    )
    assert timetable.period_of(interval).label == "FY2024_Q1"


def test_timetable_serializes_and_is_registered_by_the_plugin():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    timetable = FiscalQuarterTimetable(delay_days=3, timezone=CHICAGO)
    assert FiscalQuarterTimetable.deserialize(timetable.serialize()) == timetable
    encoded = encode_timetable(timetable)
    assert encoded["__type"] == "etl_bundle.common.fiscal_timetable.FiscalQuarterTimetable"
    # Decoding looks the class up among the plugins' timetables: it fails for an unregistered one.
    assert decode_timetable(encoded) == timetable

    from plugin import EtlBundlePlugin

    assert FiscalQuarterTimetable in EtlBundlePlugin.timetables
