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
