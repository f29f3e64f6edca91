"""The Texas DFPS fiscal calendar, pure.

Fiscal year N runs from Sep 1 of N-1 to Aug 31 of N (FY2025 = 2024-09-01..2025-08-31).
Its quarters are Sep-Nov, Dec-Feb (to Feb 29 in a leap year: the original always
stopped at Feb 28), Mar-May and Jun-Aug. Periods are labelled ``FY2025_Q2``, or
``FY2025`` for the whole year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

FIRST_MONTH = 9
QUARTER_FIRST_MONTHS = (9, 12, 3, 6)
_LABEL = re.compile(r"^FY(\d{4})(?:_Q([1-4]))?$")


@dataclass(frozen=True, order=True)
class FiscalPeriod:
    """A fiscal quarter, or the whole fiscal year when ``quarter`` is None."""

    fiscal_year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not 1901 <= self.fiscal_year <= 9999:
            raise ValueError(f"fiscal year out of range: {self.fiscal_year}")
        if self.quarter is not None and self.quarter not in (1, 2, 3, 4):
            raise ValueError(f"fiscal quarter must be 1-4 or None, got {self.quarter}")

    @classmethod
    def parse(cls, label: str) -> FiscalPeriod:
        """``FY2025_Q2`` or ``FY2025``."""
        match = _LABEL.match(label.strip()) if isinstance(label, str) else None
        if not match:
            raise ValueError(f"not a fiscal period label (FY2025_Q2 or FY2025): {label!r}")
        return cls(int(match.group(1)), int(match.group(2)) if match.group(2) else None)

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year}" if self.quarter is None else f"FY{self.fiscal_year}_Q{self.quarter}"

    @property
    def is_full_year(self) -> bool:
        return self.quarter is None

    @property
    def start(self) -> date:
        """The first day."""
        month = FIRST_MONTH if self.quarter is None else QUARTER_FIRST_MONTHS[self.quarter - 1]
        return date(self.fiscal_year - 1 if month >= FIRST_MONTH else self.fiscal_year, month, 1)

    @property
    def next_start(self) -> date:
        """The day after the last day: where the next period of the same kind starts."""
        if self.quarter is None or self.quarter == 4:
            return date(self.fiscal_year, FIRST_MONTH, 1)
        return FiscalPeriod(self.fiscal_year, self.quarter + 1).start

    @property
    def end(self) -> date:
        """The last day (inclusive)."""
        return self.next_start - timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def following(self) -> FiscalPeriod:
        if self.quarter is None:
            return FiscalPeriod(self.fiscal_year + 1)
        if self.quarter == 4:
            return FiscalPeriod(self.fiscal_year + 1, 1)
        return FiscalPeriod(self.fiscal_year, self.quarter + 1)

    def previous(self) -> FiscalPeriod:
        if self.quarter is None:
            return FiscalPeriod(self.fiscal_year - 1)
        if self.quarter == 1:
            return FiscalPeriod(self.fiscal_year - 1, 4)
        return FiscalPeriod(self.fiscal_year, self.quarter - 1)

    def __str__(self) -> str:
        return self.label


def fiscal_year_of(day: date) -> int:
    return day.year + 1 if day.month >= FIRST_MONTH else day.year


def quarter_containing(day: date) -> FiscalPeriod:
    return FiscalPeriod(fiscal_year_of(day), (day.month - FIRST_MONTH) % 12 // 3 + 1)


def year_containing(day: date) -> FiscalPeriod:
    return FiscalPeriod(fiscal_year_of(day))
