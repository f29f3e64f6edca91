"""
### bundle_connections_check

One task per connection id the bundle uses, each doing the cheapest real round
trip on that system: the provider hook's `test_connection()` where it proves what
the bundle needs (`select 1` on each database, `from dual` on Oracle; the SFTP home
resolved; `NOOP` on SMTP), else our own: list tables on DynamoDB (the AWS hook's
test asks STS, not DynamoDB), a GET with a timeout on HTTP (the HTTP hook's test has
none and fails on a 404), a write-and-delete on the network share (proves it writable).

**Reads:** every connection in `etl_bundle.common.connections.BUNDLE_CONNECTIONS`.
**Writes:** nothing (a probe file on the share, removed at once).

Run it by hand after a deployment or a credential rotation; there is nothing to
backfill. A failed task names the connection that did not answer. Each check is a
TaskFlow task (a probe, it moves no data) and times out after 2 minutes, so a silent
host fails (and is retried once) instead of holding the run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from etl_bundle.common.connections import BUNDLE_CONNECTIONS, check_connection
from etl_bundle.common.dag_defaults import OWNER_LINKS, TIMEZONE, default_args, run_failure_alert

with DAG(
    dag_id="bundle_connections_check",
    description="One cheap round trip on every connection the bundle uses; run after each deployment",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(
        retries=1, retry_delay=pendulum.duration(seconds=5), execution_timeout=pendulum.duration(minutes=2)
    ),
    on_failure_callback=run_failure_alert(),
    tags=["ops"],
    owner_links=OWNER_LINKS,
    doc_md=__doc__,
):
    check = task(check_connection)
    for conn_id in BUNDLE_CONNECTIONS:
        check.override(task_id=f"check_{conn_id}")(conn_id)
