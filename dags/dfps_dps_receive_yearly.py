"""
### dfps_dps_receive_yearly

Collects and reconciles DPS's answer to the **whole previous fiscal year** that
`dfps_dps_send_yearly` sends on **Sep 20**, with the same tasks as
`dfps_dps_receive`; kept in its own DAG so that the quarterly DAG's backfills stay
one run per quarter.

**Period:** the fiscal year that ended before the run's logical date (FY2025 for the
run of 2025-09-20), or the `period` Param (`FY2025`). It takes DPS's files naming
that year (`…dfps-missing-person-results…FY2025…`), or naming no period and written after the
yearly send (before any later one); the event window
is then the whole year and the load's quarter NULL. Waiting, files, load, notice, archive,
retention and `reconcile_from_archive` are those of `dfps_dps_receive` (its DAG doc).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
from etl_bundle.dfps.receive_tasks import answer_params, receive_answer
from etl_bundle.dfps.send_tasks import resolve_previous_year, year_param

with DAG(
    dag_id="dfps_dps_receive_yearly",
    schedule=CronTriggerTimetable("0 6 20 9 *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2025, 9, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(days=5),
    # The tasks set their own timeouts; this one is for the period's glue and the migrations.
    default_args=default_args(
        retries=3, retry_delay=pendulum.duration(minutes=2), execution_timeout=pendulum.duration(minutes=10)
    ),
    on_failure_callback=run_failure_alert(),
    params={"period": year_param(), **answer_params()},
    tags=["dfps", "oracle", "sftp"],
    doc_md=__doc__,
    description="DPS's answer to the whole previous fiscal year's list: collected, reconciled with IMPACT, loaded",
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
):
    receive_answer(resolve_previous_year())
