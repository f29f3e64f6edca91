"""DpsAnswerSensor's poke: a service's blip does not burn a try, a permanent fault still fails, and the
deadline still ends the wait (check_answer replaced by fakes: the services are not the point here)."""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from etl_bundle.dfps import receive
from etl_bundle.dfps.sensors import DpsAnswerSensor, is_transient

PARAMS = {
    "wait_hours": 72,
    "settle_seconds": 0,
    "counts_grace_minutes": 0,
    "min_age_minutes": 0,
    "counts_tolerance_rows": 0,
    "late_after_hours": 6,
}


def poke_with(monkeypatch, error: BaseException, *, started_hours_ago: float = 1):
    def failing_check(*args, **kwargs):
        raise error

    monkeypatch.setattr(receive, "check_answer", failing_check)
    monkeypatch.setattr(receive, "answer_records", lambda conn_id: ([], {}))
    sensor = DpsAnswerSensor(
        task_id="wait", period="FY2025_Q2", sftp_conn_id="dps_sftp", warehouse_conn_id="wh", remote_dir="to_dfps"
    )
    started = datetime.now(UTC) - timedelta(hours=started_hours_ago)
    return sensor.poke({"params": PARAMS, "dag_run": SimpleNamespace(start_date=started), "run_id": "manual__x"})


def operational_error(message: str):
    import psycopg

    return psycopg.OperationalError(message)


@pytest.mark.parametrize(
    "error",
    [
        EOFError(),
        OSError("Socket is closed"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        TimeoutError("timed out"),
        operational_error("consuming input failed: server closed the connection unexpectedly"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_blip_in_a_poke_is_logged_and_the_wait_goes_on(monkeypatch, caplog, error):
    import paramiko

    assert is_transient(paramiko.SSHException("Server connection dropped: "))
    with caplog.at_level(logging.WARNING):
        assert poke_with(monkeypatch, error) is False
    assert "(transient); the wait goes on until" in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, "Permission denied"),
        FileNotFoundError(errno.ENOENT, "No such file"),
        operational_error('connection failed: FATAL:  password authentication failed for user "etl"'),
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_permanent_error_in_a_poke_still_fails_the_try(monkeypatch, error):
    import paramiko

    assert not is_transient(paramiko.AuthenticationException("no"))
    with pytest.raises(type(error)):
        poke_with(monkeypatch, error)


def test_a_blip_at_the_deadline_fails_with_what_the_last_poke_met(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="never arrived.*the last poke met EOFError"):
        poke_with(monkeypatch, EOFError(), started_hours_ago=73)
