"""What every DAG of the bundle shares: owner, allowed tags, retries, failure alerts.

Kept to plain values and one notifier object so a DAG file can use it at parse
time without any I/O or provider import.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseNotifier

from etl_bundle.common.paths import SQL_DIR
from etl_bundle.common.sql import quote_identifier

OWNER = "data-engineering"
OWNER_LINKS = {OWNER: "mailto:data-engineering@example.org"}
TIMEZONE = "America/Chicago"
# Every DAG passes both to ``DAG(...)``: Airflow then renders the ``.sql`` files its
# operators name, and identifiers enter SQL text only through ``ident`` (checked, quoted).
TEMPLATE_SEARCHPATH = [str(SQL_DIR)]
SQL_FILTERS = {"ident": quote_identifier}

# One short list that the DAG-policy test enforces; add a tag here first.
ALLOWED_TAGS = frozenset(
    {
        "ops",
        "oracle",
        "dynamodb",
        "sftp",
        "http",
        "postgres",
        "hasura",
        "moped",
        "invoice",
        "dfps",
        "tec",
        "reporting",
    }
)

ALERT_EMAIL_VARIABLE = "alert_email"
DEFAULT_ALERT_EMAIL = "data-engineering-alerts@example.org"
ALERT_FROM_EMAIL = "airflow-etl-bundle@example.org"
SMTP_CONN_ID = "smtp_default"


def default_args(**overrides: Any) -> dict[str, Any]:
    """Task defaults for a bundle DAG, failure alert included.

    The alert is a task-level callback: it runs in the task's own process with the
    real DAG, so it also works under ``airflow dags test`` (a DAG-level callback
    there gets the serialized DAG and cannot render its templates).
    """
    args: dict[str, Any] = {
        "owner": OWNER,
        "on_failure_callback": failure_notifier(),
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    }
    args.update(overrides)
    return args


class EmailAlert(BaseNotifier):
    """An email through the SMTP provider, imported only when an alert is sent.

    The provider's ``SmtpNotifier`` pulls the SMTP hook and aiosmtplib into every
    DAG file's parse (about 9 ms each); this notifier renders the same fields and
    builds it at send time.
    """

    template_fields = ("to", "subject", "html_content")

    def __init__(self, *, to: str, subject: str, html_content: str, from_email: str, smtp_conn_id: str) -> None:
        super().__init__()
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.from_email = from_email
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=self.to,
            from_email=self.from_email,
            smtp_conn_id=self.smtp_conn_id,
            subject=self.subject,
            html_content=self.html_content,
        ).notify(context)


def failure_notifier() -> EmailAlert:
    """An email to the address in the ``alert_email`` Variable when a task fails for good.

    The address is a template, so the Variable is read when the alert fires, not
    when the DAG file is parsed.
    """
    return EmailAlert(
        to="{{ var.value.get('" + ALERT_EMAIL_VARIABLE + "', '" + DEFAULT_ALERT_EMAIL + "') }}",
        from_email=ALERT_FROM_EMAIL,
        smtp_conn_id=SMTP_CONN_ID,
        subject="[airflow] {{ dag.dag_id }}.{{ ti.task_id }} failed ({{ run_id }})",
        html_content=(
            "<p>Task <b>{{ ti.task_id }}</b> of DAG <b>{{ dag.dag_id }}</b>, run <code>{{ run_id }}</code>, "
            "failed after {{ ti.try_number }} tries.</p>"
            "<p>Open the run in the Airflow UI for the task's log.</p>"
        ),
    )
