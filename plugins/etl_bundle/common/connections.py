"""The bundle's connection ids and the cheapest real round trip on each.

The check picks the hook from the connection's type, so the same task works on
production Oracle and on the devstack's Postgres stand-in for it. Results carry
no secrets: the id, the type and what answered.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# conn_id -> what it points to; the README's connection table says the same.
BUNDLE_CONNECTIONS: dict[str, str] = {
    "warehouse_postgres": "Postgres warehouse: raw/curated/staging/reporting schemas",
    "ecapris_oracle": "FSD finance data warehouse (Oracle): eCapris status view",
    "dfps_oracle": "DFPS IMPACT warehouse (Oracle): caps.qtr_dps_cvs and lookups",
    "invoice_aws": "AWS account of the invoice transactions collector (DynamoDB)",
    "dps_sftp": "DPS SFTP server for the missing-person exchange",
    "energy_transfer": "Energy Transfer informational postings (HTTP)",
    "smtp_default": "SMTP relay for alerts and stakeholder emails",
    "network_share": "Network share for delivered files (SMB share, or a mounted folder)",
    "moped_hasura": "Moped's Hasura GraphQL endpoint (admin secret in the password)",
}

HTTP_TIMEOUT_SECONDS = 15


def check_connection(conn_id: str) -> dict[str, Any]:
    """Do one cheap round trip on ``conn_id`` and say what answered."""
    from airflow.sdk import BaseHook

    conn_type = BaseHook.get_connection(conn_id).conn_type
    checker = _CHECKS.get(conn_type)
    if checker is None:
        raise ValueError(f"connection {conn_id!r} has type {conn_type!r}, which the check does not know")
    detail = checker(conn_id)
    log.info("connection %s (%s) answered: %s", conn_id, conn_type, detail)
    return {"conn_id": conn_id, "conn_type": conn_type, "detail": detail}


def _check_sql(conn_id: str) -> str:
    from airflow.sdk import BaseHook

    # DbApiHook.test_connection: "select 1" (OracleHook: "select 1 from dual").
    ok, message = BaseHook.get_connection(conn_id).get_hook().test_connection()
    if not ok:
        raise RuntimeError(f"connection {conn_id!r}: ping query failed: {message}")
    return "select 1 ok"


def _check_dynamodb(conn_id: str) -> str:
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook

    # Not AwsBaseHook.test_connection(): its STS GetCallerIdentity proves the credentials,
    # not that DynamoDB (the service the bundle reads) answers them.
    tables = DynamoDBHook(aws_conn_id=conn_id).client.list_tables(Limit=100)["TableNames"]
    return f"{len(tables)} DynamoDB tables listed"


def _check_sftp(conn_id: str) -> str:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    ok, message = SFTPHook(ssh_conn_id=conn_id).test_connection()  # normalize(".") on a logged-in session
    if not ok:
        raise RuntimeError(f"connection {conn_id!r}: SFTP check failed: {message}")
    return "SFTP home resolved"


def _check_http(conn_id: str) -> str:
    from airflow.providers.http.hooks.http import HttpHook

    # Not HttpHook.test_connection(): it sends no timeout (a silent host holds the task)
    # and takes a 404 on "/" for a failure, though any answer proves the host speaks HTTP.
    response = HttpHook(method="GET", http_conn_id=conn_id).run(
        "/", extra_options={"timeout": HTTP_TIMEOUT_SECONDS, "check_response": False}
    )
    if response.status_code >= 500:
        raise RuntimeError(f"connection {conn_id!r}: HTTP {response.status_code} from the server")
    return f"HTTP {response.status_code}"


def _check_smtp(conn_id: str) -> str:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        ok, message = hook.test_connection()  # a NOOP on the logged-in session
    if not ok:
        raise RuntimeError(f"connection {conn_id!r}: SMTP check failed: {message}")
    return "SMTP NOOP 250"


def _check_share(conn_id: str) -> str:
    # No provider test_connection() fits: the samba hook has none, and a share must be
    # proved writable, which a login alone does not show.
    import tempfile
    from pathlib import Path

    from etl_bundle.common.share import open_share

    with tempfile.TemporaryDirectory(prefix="share-check-") as tmp, open_share(conn_id) as share:
        probe = Path(tmp) / ".connection-check"
        probe.write_text("ok")
        written = share.put(probe, "")
        listed = [entry.name for entry in share.list("")]
        share.remove(written)
    if probe.name not in listed:
        raise RuntimeError(f"connection {conn_id!r}: the probe written to the share is not in its listing")
    return f"share writable ({len(listed) - 1} entries at its root)"


_CHECKS = {
    "postgres": _check_sql,
    "oracle": _check_sql,
    "aws": _check_dynamodb,
    "sftp": _check_sftp,
    "ssh": _check_sftp,
    "http": _check_http,
    "smtp": _check_smtp,
    "fs": _check_share,
    "samba": _check_share,
}
