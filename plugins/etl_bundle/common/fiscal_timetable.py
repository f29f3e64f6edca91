"""A timetable with one run per fiscal quarter (registered by ``plugins/plugin.py``).

Each run's data interval is its quarter, from the local midnight that starts it to
the one that starts the next, so its logical date is the quarter's first day: a
backfill ``--from-date 2024-09-01 --to-date 2025-08-31`` selects exactly FY2025's
four quarters. The run is due ``delay_days`` after its quarter ends. ``catchup`` is
honoured on every call (backfilled runs count as the latest run), so unpausing a
DAG after a backfill runs at most the latest due quarter.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

from etl_bundle.common.fiscal import FiscalPeriod, quarter_containing


def _utcnow() -> pendulum.DateTime:
    return pendulum.now("UTC")


class FiscalQuarterTimetable(Timetable):
    periodic = True
    can_be_scheduled = True

    def __init__(self, *, delay_days: int = 1, timezone: str = "America/Chicago") -> None:
        self.delay_days = delay_days
        self.timezone = timezone

    @property
    def summary(self) -> str:
        return f"fiscal quarters (FY from Sep 1), {self.delay_days} d after each ends"

    @property
    def description(self) -> str:
        return f"One run per fiscal quarter, {self.delay_days} days after it ends ({self.timezone})"

    def serialize(self) -> dict[str, Any]:
        return {"delay_days": self.delay_days, "timezone": self.timezone}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> FiscalQuarterTimetable:
        return cls(delay_days=data["delay_days"], timezone=data["timezone"])

    def validate(self) -> None:
        from airflow.exceptions import AirflowTimetableInvalid

        if not isinstance(self.delay_days, int) or self.delay_days < 0:
            raise AirflowTimetableInvalid(f"delay_days must be a non-negative integer, got {self.delay_days!r}")
        pendulum.timezone(self.timezone)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FiscalQuarterTimetable) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.delay_days, self.timezone))

    # Quarters as local-midnight instants.
    def _midnight(self, day: date) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, tz=self.timezone)

    def _quarter_at(self, moment) -> FiscalPeriod:
        return quarter_containing(pendulum.instance(moment).in_timezone(self.timezone).date())

    def period_of(self, data_interval: DataInterval) -> FiscalPeriod:
        """The quarter a run handles, from its data interval."""
        return self._quarter_at(data_interval.start)

    def _info(self, quarter: FiscalPeriod) -> DagRunInfo:
        start, end = self._midnight(quarter.start), self._midnight(quarter.next_start)
        return DagRunInfo(run_after=end + timedelta(days=self.delay_days), data_interval=DataInterval(start, end))

    def _latest_due(self, now) -> FiscalPeriod:
        """The most recent quarter whose run is due at ``now``."""
        quarter = self._quarter_at(now).previous()
        if self._info(quarter).run_after > now:
            quarter = quarter.previous()
        return quarter

    def infer_manual_data_interval(self, *, run_after) -> DataInterval:
        """A manual run handles the last quarter that ended before it."""
        return self._info(self._quarter_at(run_after).previous()).data_interval

    def next_dagrun_info(self, *, last_automated_data_interval, restriction) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            quarter = self._quarter_at(last_automated_data_interval.start).following()
        elif restriction.earliest is not None:
            quarter = self._quarter_at(restriction.earliest)
            if self._midnight(quarter.start) < restriction.earliest:
                quarter = quarter.following()
        else:
            return None
        if not restriction.catchup:
            quarter = max(quarter, self._latest_due(_utcnow()))
        info = self._info(quarter)
        if restriction.latest is not None and info.data_interval.start > restriction.latest:
            return None
        return info
