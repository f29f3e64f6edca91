"""
### dfps_dps_receive

Collects DPS's answer to the children-in-care list that `dfps_dps_send` sent for a
fiscal quarter, and reconciles it with IMPACT for DFPS staff: **one run per fiscal
quarter**, on the same timetable as send, so backfills line up period by period.

**Waits** (reschedule mode, no worker slot held) for `dfps-missing-person-results*`
and `dfps-missing-person-counts*` (any case, with or without the period suffix) in
DPS's `to_dfps` folder (`dps_sftp`), taking a file only once its size holds still.
Without a counts file after `counts_grace_minutes` it goes on and says so. After
`late_after_hours` from send, one email says DPS is late; `wait_hours` after the run
started it fails.

**Reads:** the answer (downloaded, checked against the server, archived, audited in
`dfps.dps_exchanges`); the reference workbook send put on the share; from
`dfps_oracle` IMPACT's runaway list (`caps.qtr_dps_cvs_pkg.get_sa_98`) for the fiscal
year, legal county and name (`caps.SA_SUM@WARE`, `caps.CCOUNT@rpt`), county to region
(`caps.cnty_reg_tableau`).

**Writes:** `DPS_total_runaway_events_<period>.xlsx`, `DPS_not_in_IMPACT_<period>.xlsx`
and `IMPACT_not_in_DPS_<period>.xlsx` (blank `Outcome` for review) to the share
(`dfps_dps/to_cps`) and the archive (`dfps_dps/archive`), with the run's timestamp;
an email with the counts and the files to the `dfps_dps_stakeholders` Variable. Only
then are DPS's files removed from the server; archived copies older than
`archive_retention_days` are purged. Emits the Asset `dfps.dps_reconciliation`.
The archive is private; no name or birth date is logged or put in XCom.

**Period:** the run's data interval (logical date = the quarter's first day), or the
`period` Param (`FY2025_Q2`, `FY2025`) for a manual run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, conf

from etl_bundle.common.dag_defaults import TIMEZONE, default_args
from etl_bundle.common.fiscal_timetable import FiscalQuarterTimetable
from etl_bundle.dfps.receive_tasks import answer_params, receive_answer
from etl_bundle.dfps.send_tasks import period_param, resolve_quarter

with DAG(
    dag_id="dfps_dps_receive",
    schedule=FiscalQuarterTimetable(
        delay_days=conf.getint("dfps_dps", "receive_delay_days", fallback=10), timezone=TIMEZONE
    ),
    start_date=pendulum.datetime(2024, 9, 1, tz=TIMEZONE),
    catchup=False,
    # One period at a time: an answer without a period suffix goes to the oldest waiting run.
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(days=5),
    default_args=default_args(retries=3, retry_delay=pendulum.duration(minutes=2)),
    params={
        "period": period_param(),
        **answer_params(),
    },
    tags=["dfps", "oracle", "sftp"],
    doc_md=__doc__,
):
    receive_answer(resolve_quarter())
