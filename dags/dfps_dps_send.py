"""
### dfps_dps_send

Sends DPS the children in DFPS care for a fiscal quarter, so DPS can match them
against its missing-person records: **one run per fiscal quarter** (fiscal year from
Sep 1), a configurable number of days after the quarter ends.

**Reads:** `caps.qtr_dps_cvs` (`dfps_oracle`), filtered in SQL by fiscal year and quarter.

**Writes:** `Children_in_care_<period>.txt` (fixed width, 41 characters a line, every
line validated) uploaded to DPS's `to_dps` folder (`dps_sftp`) under an owner-only
`.part`, verified by reading it back, and renamed into place atomically; that file
and `ReferenceData_<period>_doublebarrel.xlsx` (one row per name variant; receive
reads it later) on the network share (`network_share`, SMB or a
mounted folder; folder `dfps_dps/to_dps`) as `<stem>_<YYYYmmdd_HHMMSS><ext>`, readable
by the stakeholders; an audit row per file in `dfps.dps_exchanges`
(`warehouse_postgres`), recorded `pending` before the upload and `sent` after, so a
retry or a rerun resumes the exchange without uploading or copying a file twice.
Emits the Asset `dfps.children_in_care`. Files are owner-only on the worker; no name
or birth date is logged or put in XCom. Rows dropped by the name and date rules are
counted and each told by source row, person id and field.

**Period:** the run's data interval (its logical date is the quarter's first day), or
the `period` Param (`FY2025_Q2`, or `FY2025` for a whole year) for a manual run. A
period already sent is skipped unless `force` is set.

**Backfill:** `airflow backfill create --dag-id dfps_dps_send --from-date 2024-09-01
--to-date 2025-08-31` creates FY2025's four quarter runs. The whole previous fiscal
year is sent by `dfps_dps_send_yearly` (Sep 20), with the same tasks.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, conf

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
from etl_bundle.common.fiscal_timetable import FiscalQuarterTimetable
from etl_bundle.common.schema_task import migrate_schema
from etl_bundle.dfps.send_tasks import WAREHOUSE_CONN_ID, period_param, resolve_quarter, send_to_dps

with DAG(
    dag_id="dfps_dps_send",
    schedule=FiscalQuarterTimetable(
        delay_days=conf.getint("dfps_dps", "send_delay_days", fallback=10), timezone=TIMEZONE
    ),
    start_date=pendulum.datetime(2024, 9, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    default_args=default_args(retries=2, retry_delay=pendulum.duration(minutes=5)),
    on_failure_callback=run_failure_alert(),
    params={
        "period": period_param(),
        "force": Param(False, type="boolean", description="Send again a period already sent"),
    },
    tags=["dfps", "oracle", "sftp"],
    doc_md=__doc__,
):
    migrate_schema("dfps", WAREHOUSE_CONN_ID) >> send_to_dps(resolve_quarter())
