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
`period` Param (`FY2025_Q2`, `FY2025`). The differences from the original: README,
`## dfps_dps_receive`.

#### In detail

Tasks: `resolve_quarter` → `wait_for_dps_answer` → `collect_answer` → `reconcile` →
`load_dps_results` → `notify_stakeholders` → `remove_from_server` → `purge_archive`
(operators in `etl_bundle.dfps.operators`, work in `etl_bundle.dfps.receive`, rules pure in
`etl_bundle.dfps.reconcile`).

- **Waiting** (`DpsAnswerSensor`, reschedule mode): DPS's `to_dfps` folder is listed for any
  name containing `dfps-missing-person-results` / `-counts`, in any case (`etl_bundle.dfps.answer_files`).
  A name that also names a period (`FY2025_Q2`, `fy2025-q2`, `FY2025`) answers only that
  period; a name without one belongs to the period whose send to DPS (`dfps.dps_exchanges`,
  `to_dps`) came last before the file was written (its modification time on the server), so the
  quarterly and the yearly run never take each other's answer (a file older than every send is
  nobody's: the log says so; rename it to name the period); a file claimed for another period
  (below) is passed by. The file named for the period beats an unnamed one, then the newest;
  names still being uploaded (`.part`, `.tmp`, `.filepart`, a leading dot) are skipped; a file
  is taken only when two listings `settle_seconds` apart agree **and** it was last changed at
  least `min_age_minutes` (10) ago, and not while the counts file's total and the results
  file's rows differ by more than `counts_tolerance_rows` (**0**: DPS counts the file it sends,
  so any difference means a truncated or unfinished file; the run keeps waiting and, at the
  deadline, fails saying both numbers). Without counts after `counts_grace_minutes` it goes on
  and says so. `late_after_hours` after send, one email per run (recorded in
  `dfps.dps_late_notices`, as the stakeholders' notice below) to `dfps_dps_late_notice_email`
  (else `alert_email`); after `wait_hours` from the run's start it fails naming what is missing
  or why it was held. A poke that meets a service's blip (an SFTP drop, a Postgres restart or
  refused connection, an SMTP failure of the late notice) logs it and the wait goes on until the
  deadline; a permanent fault (credentials, host key, a missing folder, a refused permission, a
  failing query) fails the try.
- **Collect**: each file streamed down (SHA-256), checked against what the sensor saw, put
  (private) in the share's `dfps_dps/archive/from_dps/` as
  `dfps-missing-person-results_<period>_<stamp>.txt`; one audit row per file in `dfps.dps_exchanges`.
  Before anything is reconciled the results file is **claimed** for the period in
  `dfps.dps_answer_claims` (period, run id, DPS's file name, size and time, SHA-256; one claim per
  content): a file whose content, or name, size and time, another period claimed fails the run
  without retry, saying which period and run have it, and nothing leaves the server; the same
  period's claim (a retry, a rerun after a failed run) is taken again. The quarterly and the yearly
  DAG collect under one lock, a transaction-scoped Postgres advisory lock in the warehouse under
  which the claim is committed (chosen over a one-slot pool: it also holds under `airflow dags test`,
  needs no deployment step, and a killed task's session frees it).
- **Reconcile from the archive**: the Param `reconcile_from_archive` (a manual run or
  `--dag-run-conf '{"reconcile_from_archive": true}'` on a backfill) waits for nothing and
  reconciles the period's newest archived answer again (DPS does not send twice); nothing is
  downloaded, audited or removed, and DPS's rows are not loaded again.
- **Parse** (`etl_bundle.dfps.results`): header without, rows with a trailing colon; a wrong
  field count, an unfinished row or an empty file stops the run naming file and line (no
  retry); so does a byte that is not UTF-8 (line and field named); an unreadable date or a blank
  required field rejects its row (line and field in the warnings; counted, kept in the archived
  file); a status other than DPS's four is kept unchanged and warned about; the counts file
  otherwise only warns (the wait above holds on a disagreement beyond the tolerance).
- **Lookups** (`dfps_oracle`, templates per dialect): `runaways_sa98.sql`
  (`SELECT * FROM caps.qtr_dps_cvs_pkg.get_sa_98(:start_date, :end_date)`, always the whole
  fiscal year; its columns come from the cursor); `time_load.sql` (`caps.time_dim` by
  `nbr_time_calendar_year` / `nbr_time_calendar_month` of the month before the run, January
  giving December; the run is dated the day after the period, so its snapshot is the
  period's last month); `legal_counties.sql` (`caps.SA_SUM@WARE` ⋈ `caps.CCOUNT@rpt` for that
  `ID_TIME_LOAD`); `county_regions.sql` (`caps.cnty_reg_tableau`). The stand-in has the same
  objects without links and the function in a schema named after the package.
- **Rules** (reference §2.6): DPS rows matched to the newest reference workbook send put on
  the share by name (spaces removed, upper case) and birth date; under 18 at the contact
  (Feb 29 birthdays turn 18 on Mar 1); `STS` recoded `1LOC`, `2ACTV`, `3CLRD`, `4CANC`
  (unknown codes unchanged); per child and contact the lowest code, then per child the latest
  contact, and only then the window: (A contact ≥ start, or B contact ≤ start and neither
  located nor cleared, or C contact ≤ start and located or cleared ≥ start) and D contact ≤
  end and within the care episode (open exit = 2200-01-01, shown as such); a missing date
  compares false. The window is the quarter, for **Q4 the whole fiscal year** (the original's
  rule; `[dfps_dps] q4_window = quarter` for Jun–Aug only), the year for a yearly run.
- **Outputs** (reference §2.7), to the share's `dfps_dps/to_cps/` (readable by the
  stakeholders) and the private archive as
  `<name>_<YYYYmmdd_HHMMSS>.xlsx` (the run's start, Central), sheet `Sheet1`:
  `DPS_total_runaway_events_<period>.xlsx` (`CPS_DOB, S, R, E, LAST_CONT, HR, ORI_DESC,
  COUNTY_NAME, ORI_PHONE, NIC, STS, LOCATE_DT, CLR_CAN_DT, Person_ID, Entered_Care,
  Exited_Care, CombDate`); `DPS_not_in_IMPACT_<period>.xlsx` (events whose child is on no
  `get_sa_98` row, then `Legal_County, Name, Legal_Region, Outcome`; a child with two snapshot
  rows gives two rows, as the original's join); `IMPACT_not_in_DPS_<period>.xlsx` (get_sa_98's
  rows with no `DT_RECOVERED`, `LEGAL_STATUS` empty or exactly `TMC`, `PMC/ Rts Not Term`,
  `PMC/ Rts Term (All)`, `PMC/ Rts Term (Mother)`, `PMC/Rts Term (Father)`, and no `2ACTV`
  event; every get_sa_98 column in its order except the twelve recovery columns
  `DT_RECOVERED … TXT_RUN_RSN`, then `Outcome`). `Outcome` is blank. `reconcile` emits the
  Asset `dfps.dps_reconciliation`.
- **Load into IMPACT** (the original's newer version): on `dfps_oracle`, in one transaction,
  the period's rows of `caps.dfps_msng_person_stg` are deleted, DPS's parsed rows inserted
  with `RPT_FISCAL_YR` / `RPT_QTR`, and `BEGIN caps.load_dfps_msng_person(:fiscal_year,
  :quarter); END;` run (quarter NULL for a year). A results file already loaded for the
  period (`dfps.dps_results_loads`, by SHA-256) is not loaded again. A failure fails the task.
- **Notice**: `DPS Comparison Reports - <period> (Uploaded to Network Drive)` to the
  `dfps_dps_stakeholders` Variable: the period and window, the three counts, the folder on the
  share and the three file names, the warnings; **no attachment**. **Once per period**
  (`dfps.dps_stakeholder_mails`: period, run, recipients as a hash), across retries, cleared runs,
  reruns and `reconcile_from_archive`, unless the Param `force_notice`: the record is committed as
  `pending` before the SMTP exchange and marked `sent` after it, the SMTP hook's own retries are
  off (one exchange; the task retries), and a refused exchange removes the record (a retry sends).
  A `pending` record left by a kill between the exchange and the record means "maybe sent": no
  run sends it again without `force_notice`, and the log says so.
- Only then are DPS's files removed from the server (each only if unchanged); archived copies
  older than `archive_retention_days` (365) are purged. Private means owner-only (0600 files,
  0700 folders) on a mounted folder; on SMB it is the share's ACL on `dfps_dps/archive`, which
  the share's owners restrict to the bundle's account. Logs, XCom and the email body hold
  counts, file names, line numbers and checksums, never a name or a birth date.

The devstack seed plays DPS and IMPACT: `caps.sa_98_runaways` (31 columns, the reference's
known ones and plausible others) behind `qtr_dps_cvs_pkg.get_sa_98`, `caps.cnty_reg_tableau`,
`caps.sa_sum`, `caps.ccount`, `caps.time_dim`, the load table, `caps.dfps_msng_person` and
the procedure (which records each call in `caps.dfps_msng_person_loads`), and results and
counts files answering the periods the demo sends in `to_dfps`. The SFTP stand-in's
`--drop-after-read-bytes N` aborts each session after serving N bytes of reads (a line dropped
mid-download; used by `tests/faults/test_dfps_receive.py`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, conf

from etl_bundle.common.dag_defaults import (
    OWNER_LINKS,
    SQL_FILTERS,
    TEMPLATE_SEARCHPATH,
    TIMEZONE,
    default_args,
    run_failure_alert,
)
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
    # The tasks set their own timeouts; this one is for the period's glue and the migrations.
    default_args=default_args(
        retries=3, retry_delay=pendulum.duration(minutes=2), execution_timeout=pendulum.duration(minutes=10)
    ),
    on_failure_callback=run_failure_alert(),
    params={
        "period": period_param(),
        **answer_params(),
    },
    tags=["dfps", "oracle", "sftp"],
    doc_md=__doc__,
    description="DPS's answer to the quarter's children-in-care list: collected, reconciled with IMPACT, loaded",
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
):
    receive_answer(resolve_quarter())
