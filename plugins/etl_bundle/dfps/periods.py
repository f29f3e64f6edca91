"""Which fiscal period a run of the DFPS DAGs handles."""

from __future__ import annotations

from etl_bundle.common.fiscal import FiscalPeriod, quarter_containing, year_containing


def period_for_run(param: str | None, data_interval_start, timezone: str) -> str:
    """The ``period`` Param when given, else the quarter the run's data interval starts; never "now"."""
    if param:
        return FiscalPeriod.parse(param).label
    if data_interval_start is None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("this run has no data interval: set the period Param (FY2025_Q2 or FY2025)")
    import pendulum

    return quarter_containing(pendulum.instance(data_interval_start).in_timezone(timezone).date()).label


def previous_year_for_run(param: str | None, logical_date, timezone: str) -> str:
    """The ``period`` Param when given, else the fiscal year that ended before the run's logical date."""
    if param:
        return FiscalPeriod.parse(param).label
    if logical_date is None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("this run has no logical date: set the period Param (FY2025)")
    import pendulum

    return year_containing(pendulum.instance(logical_date).in_timezone(timezone).date()).previous().label


def reference_name(period: FiscalPeriod) -> str:
    """The reference workbook sent for ``period`` (receive reads it back)."""
    return f"ReferenceData_{period.label}_doublebarrel.xlsx"


def txt_name(period: FiscalPeriod) -> str:
    """The fixed-width file uploaded to DPS for ``period``."""
    return f"Children_in_care_{period.label}.txt"


def run_stamp(context) -> str:
    """The run's timestamp in file names, ``YYYYmmdd_HHMMSS`` in Central time as the original's
    local clock: the run's start, so every retry names files alike."""
    import pendulum

    from etl_bundle.common.dag_defaults import TIMEZONE

    return pendulum.instance(context["dag_run"].start_date).in_timezone(TIMEZONE).strftime("%Y%m%d_%H%M%S")
