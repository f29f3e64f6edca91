"""
### dfps_dps_receive

Collects DPS's answer to the children-in-care list that `dfps_dps_send` sent for a
fiscal quarter and reconciles it with IMPACT as the original `receivedps` did: **one run
per fiscal quarter**, on send's timetable, so backfills line up period by period.

1. **Waits** (reschedule mode) for files whose names contain `dfps-missing-person-results`
   and `-counts` (any case; never one naming another period; an unsuffixed one only when this
   period's send came last before it) in DPS's `to_dfps` (`dps_sftp`), settled, at least
   `min_age_minutes` old, and agreeing with the counts file within `counts_tolerance_rows`.
2. **Collects** them into the share's archive (`dfps_dps/archive/from_dps`), claimed for the
   period (`dfps.dps_answer_claims`) and audited in `dfps.dps_exchanges`. With the Param
   `reconcile_from_archive` it waits for nothing and uses the period's archived answer again.
3. **Reconciles** against the reference send delivered and `dfps_oracle`'s
   `caps.qtr_dps_cvs_pkg.get_sa_98` (whole fiscal year), `caps.time_dim`, `caps.SA_SUM@WARE`,
   `caps.CCOUNT@rpt`, `caps.cnty_reg_tableau`; the window is the quarter (Q4: the whole fiscal
   year unless `[dfps_dps] q4_window = quarter`). Writes `DPS_total_runaway_events_<period>`,
   `DPS_not_in_IMPACT_<period>` and `IMPACT_not_in_DPS_<period>` (`.xlsx`, run-stamped) to
   the share's `dfps_dps/to_cps` (readable) and the private archive; emits the Asset `dfps.dps_reconciliation`.
4. **Loads** DPS's rows into IMPACT and runs `caps.load_dfps_msng_person(fy, quarter)`, one
   transaction, once per results file.
5. **Tells** the `dfps_dps_stakeholders` Variable: `DPS Comparison Reports - <period>
   (Uploaded to Network Drive)`, counts and where the workbooks are, no attachment, once per
   period (`force_notice` sends again).
6. Removes DPS's files from the server, purges archives older than `archive_retention_days`.

**Period:** the run's data interval (logical date = the quarter's first day), or the
`period` Param (`FY2025_Q2`, `FY2025`). Rules, columns and the differences from the
original: README, `## dfps_dps_receive`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, conf

from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert
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
    # One period at a time (an unsuffixed answer's period comes from the send before it).
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(days=5),
    default_args=default_args(retries=3, retry_delay=pendulum.duration(minutes=2)),
    on_failure_callback=run_failure_alert(),
    params={
        "period": period_param(),
        **answer_params(),
    },
    tags=["dfps", "oracle", "sftp"],
    doc_md=__doc__,
):
    receive_answer(resolve_quarter())
