"""
### dfps_dps_send

Sends DPS the children in DFPS care for a fiscal quarter, so DPS can match them
against its missing-person records: **one run per fiscal quarter** (fiscal year from
Sep 1), `[dfps_dps] send_delay_days` (10) after the quarter ends.

**Tasks:** `migrate_schema` (`SchemaMigrationOperator`: the `dfps` migrations) and `resolve_quarter` (TaskFlow glue:
which period) → `send_to_dps` (`ChildrenInCareToDpsOperator`: the whole exchange) →
`mail_send_summary` (`DpsSendSummaryMailOperator`: the success mail, once per run).

**Reads:** `caps.qtr_dps_cvs` (`dfps_oracle`) with `dfps/children_in_care.sql`, rendered by
Airflow in the connection's dialect (Rendered Template shows it), filtered by fiscal year and
quarter as bind parameters.

**Names** (`etl_bundle.dfps.children`, the original's rules, reference §2.3): rows without
birth or entry date, or with a blank first or last name, dropped and counted; names
transliterated (Unidecode); one record per person and care entry (earliest exit); last
names keep the whole name and add their hyphen and space parts (particles excepted), first
names add hyphen, apostrophe and space parts; first names of two characters or fewer and
`NAN` dropped. Beyond the original: a last name with nothing left after the rules, a birth
date after the care entry or before 1900, are dropped and counted; control characters are
removed from names. **No child is lost silently**: each drop or repair is a warning naming
the source row, person id and field, never the value; the summary (XCom) counts them.

**Writes:** `Children_in_care_<period>.txt` (fixed width, 41 characters a line, every line
checked before anything is sent) and `ReferenceData_<period>_doublebarrel.xlsx` (one row per
name variant and care entry; receive reads it later), owner-only on the worker, in one
task's temporary folder (they carry names and birth dates: never between tasks).
The exchange is recorded `pending` in `dfps.dps_exchanges` (`warehouse_postgres`) first.
The txt goes to DPS's `to_dps` folder (`dps_sftp`, host key checked) through the verified
upload of `etl_bundle.operators.sftp`: an owner-only `.part` (mode 0600 in the OPEN), read
back (size and SHA-256; size only on a server that refuses reads), given
`[dfps_dps] upload_mode` (octal, default 0644) and renamed into place atomically
(posix-rename; elsewhere a plain rename, the earlier file removed first). Both files go to
the share (`network_share`, SMB or a mounted folder) in `dfps_dps/to_dps/` as
`<stem>_<YYYYmmdd_HHMMSS><ext>` (the run's start, Central time), written atomically; then
the rows are marked `sent`. **A retry or rerun resumes a pending exchange** with the same
checksums: a file already verified on the server or the share is not sent again.
Emits the Asset `dfps.children_in_care`, its event's extra holding the period, the txt's
sha256 and the counts. Logs, XCom and mail carry counts, file names and checksums; never a
name or a birth date.

**Mail:** on success, `DPS Data Upload - <period> (Uploaded to Network Drive)` to the
Variable `dfps_dps_stakeholders`: the period, counts, checksums and the share folder (no
child's data), recorded in `dfps.dps_send_summary_mails` so a retry or a cleared task does
not mail again. Failures alert as every bundle DAG does.

**Schedule:** `FiscalQuarterTimetable` (`etl_bundle.common.fiscal_timetable`): one run per
quarter, its data interval the quarter between Central midnights (fiscal year N = Sep 1 of
N-1 .. Aug 31 of N; Q2 ends Feb 29 in leap years); `catchup` is honoured on every call (after
a backfill, unpausing runs at most the latest due quarter); `max_active_runs=1`.

**Period:** the run's data interval (its logical date is the quarter's first day), or
the `period` Param (`FY2025_Q2`, or `FY2025` for a whole year) for a manual run; a manual
run without it takes the last quarter that ended. A period already sent (audit `sent`, or
by the original scripts: the Variable `dfps_dps_sent_by_original`, or its stamped copy in
`[dfps_dps] original_share_dir`) is skipped unless `force` is set.

**Timeouts:** `resolve_quarter` 1 min, `migrate_schema` 10 min, `send_to_dps` 30 min (a hung
transfer fails and the retry resumes), `mail_send_summary` 5 min.

**Backfill:** `airflow backfill create --dag-id dfps_dps_send --from-date 2024-09-01
--to-date 2025-08-31` creates FY2025's four quarter runs. The whole previous fiscal
year is sent by `dfps_dps_send_yearly` (Sep 20), with the same tasks.
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
from etl_bundle.dfps.send_tasks import (
    MIGRATE_TIMEOUT,
    WAREHOUSE_CONN_ID,
    force_param,
    period_param,
    resolve_quarter,
    send_to_dps,
)
from etl_bundle.operators.migrations import SchemaMigrationOperator

with DAG(
    dag_id="dfps_dps_send",
    description="Children in DFPS care for a fiscal quarter, to DPS over SFTP and to the share",
    schedule=FiscalQuarterTimetable(
        delay_days=conf.getint("dfps_dps", "send_delay_days", fallback=10), timezone=TIMEZONE
    ),
    start_date=pendulum.datetime(2024, 9, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    default_args=default_args(retries=2, retry_delay=pendulum.duration(minutes=5), execution_timeout=MIGRATE_TIMEOUT),
    on_failure_callback=run_failure_alert(),
    params={"period": period_param(), "force": force_param("period")},
    tags=["dfps", "oracle", "sftp"],
    owner_links=OWNER_LINKS,
    template_searchpath=TEMPLATE_SEARCHPATH,
    user_defined_filters=SQL_FILTERS,
    doc_md=__doc__,
):
    SchemaMigrationOperator(pipeline="dfps", postgres_conn_id=WAREHOUSE_CONN_ID) >> send_to_dps(resolve_quarter())
