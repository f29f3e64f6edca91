"""
### bundle_connections_check

One task per connection id the bundle uses, each doing the cheapest real round
trip on that system: `SELECT 1` on each database (`FROM dual` on Oracle), list
tables on DynamoDB, list the SFTP home, a GET on HTTP, `NOOP` on SMTP, and a
write-and-delete on the network share.

**Reads:** every connection in `etl_bundle.common.connections.BUNDLE_CONNECTIONS`.
**Writes:** nothing (a probe file on the share, removed at once).

Run it by hand after a deployment or a credential rotation; there is nothing to
backfill. A failed task names the connection that did not answer.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from etl_bundle.common.connections import BUNDLE_CONNECTIONS, check_connection
from etl_bundle.common.dag_defaults import TIMEZONE, default_args, run_failure_alert

with DAG(
    dag_id="bundle_connections_check",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1, retry_delay=pendulum.duration(seconds=5)),
    on_failure_callback=run_failure_alert(),
    tags=["ops"],
    doc_md=__doc__,
):
    check = task(check_connection)
    for conn_id in BUNDLE_CONNECTIONS:
        check.override(task_id=f"check_{conn_id}")(conn_id)
