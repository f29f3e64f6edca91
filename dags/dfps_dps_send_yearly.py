"""
### dfps_dps_send_yearly

Sends DPS the children in DFPS care for the **whole previous fiscal year**, once a
year on **Sep 20** (the original's yearly report), with the same tasks as
`dfps_dps_send`; kept in its own DAG so that the quarterly DAG's backfills stay one
run per quarter.

**Period:** the fiscal year that ended before the run's logical date (FY2025 for
the run of 2025-09-20), or the `period` Param (`FY2025`). Files, delivery, audit,
success mail, `force`, timeouts and the Asset are those of `dfps_dps_send` (see its doc).
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
from etl_bundle.dfps.send_tasks import (
    MIGRATE_TIMEOUT,
    WAREHOUSE_CONN_ID,
    force_param,
    resolve_previous_year,
    send_to_dps,
    year_param,
)
from etl_bundle.operators.migrations import SchemaMigrationOperator

with DAG(
    dag_id="dfps_dps_send_yearly",
    description="Children in DFPS care for the previous fiscal year, to DPS and the share (Sep 20)",
    schedule=CronTriggerTimetable("0 6 20 9 *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2025, 9, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    default_args=default_args(retries=2, retry_delay=pendulum.duration(minutes=5), execution_timeout=MIGRATE_TIMEOUT),
    on_failure_callback=run_failure_alert(),
    params={"period": year_param(), "force": force_param("year")},
    tags=["dfps", "oracle", "sftp"],
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    doc_md=__doc__,
):
    SchemaMigrationOperator(pipeline="dfps", postgres_conn_id=WAREHOUSE_CONN_ID) >> send_to_dps(resolve_previous_year())
