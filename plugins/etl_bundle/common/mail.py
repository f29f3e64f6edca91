"""Emails to people (stakeholders, on-call) through the bundle's SMTP connection."""

from __future__ import annotations

from collections.abc import Sequence

from etl_bundle.common.dag_defaults import ALERT_EMAIL_VARIABLE, ALERT_FROM_EMAIL, DEFAULT_ALERT_EMAIL, SMTP_CONN_ID


def recipients(variable: str, default: str) -> list[str]:
    """Comma-separated addresses from an Airflow Variable, read when the mail is sent."""
    from airflow.sdk import Variable

    value = Variable.get(variable, default=default)
    addresses = [part.strip() for part in value.split(",") if part.strip()]
    if not addresses:
        raise ValueError(f"Variable {variable!r} holds no email address")
    return addresses


def alert_recipients() -> list[str]:
    return recipients(ALERT_EMAIL_VARIABLE, DEFAULT_ALERT_EMAIL)


def send_mail(to: Sequence[str], subject: str, html: str, files: Sequence[str] = ()) -> None:
    """One SMTP exchange, no retries inside it: ``SmtpHook`` retries ``sendmail`` on any error
    (``retry_limit``, 5 by default), so a reply lost after the server took the message would send
    it again. The task's retry, or a caller's send record, decides instead."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class SingleAttemptSmtpHook(SmtpHook):
        smtp_retry_limit = 0

    with SingleAttemptSmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
        hook.send_email_smtp(
            to=list(to), subject=subject, html_content=html, from_email=ALERT_FROM_EMAIL, files=list(files)
        )
