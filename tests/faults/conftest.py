"""The fault suite's ledger: what was injected, what survived, what was lost.

Every fault test takes the ``faults`` fixture and reports through it:

- ``with faults.inject("invoice: SIGKILL after 500 rows"):`` — one injected
  fault; it counts as survived when the block (the fault, the rerun and the
  test's assertions on the targets) finishes without an exception.
- ``faults.bad_input("tec: NUL byte", error_text, "file.csv", "line 3", "field x")``
  — one bad-input case; it counts as a clear error when ``error_text`` names
  every one of the given parts (and the test fails when it does not).
- ``faults.rows_lost(expected, found)`` and
  ``faults.side_effects("upload", count, expected=1)`` — losses and repeats,
  counted and asserted.

At the end of the session every test's captured output (stdout, stderr, log)
and every XCom written since the session started are searched for the
devstack's secrets, and the last line printed is::

    faults: injected N, survived N, rows_lost 0, bad_inputs N, clear_errors N, secrets_found 0, duplicate_side_effects 0

(also written to ``build/faults/summary.txt``, which ``make faults`` prints
after pytest's own summary). A secret found fails the session. Tests marked
``quick`` are the subset ``make test`` runs.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import (  # noqa: F401 - fixtures shared with the integration tier
    bundle_dags,
    devstack_state,
    maildir,
    scratch_warehouse,
)

pytestmark = pytest.mark.integration


@dataclass
class FaultLedger:
    injected: int = 0
    survived: int = 0
    lost: int = 0
    bad_inputs: int = 0
    clear_errors: int = 0
    duplicates: int = 0
    secrets_found: int = 0
    secret_hits: list[str] = field(default_factory=list)

    @contextmanager
    def inject(self, name: str):
        self.injected += 1
        yield
        self.survived += 1

    def bad_input(self, name: str, error_text: str, *must_name: str) -> None:
        self.bad_inputs += 1
        missing = [part for part in must_name if part not in error_text]
        if not missing:
            self.clear_errors += 1
        assert not missing, f"{name}: the error does not name {missing}: {error_text!r}"

    def rows_lost(self, expected: int, found: int) -> None:
        self.lost += max(0, expected - found)
        assert found >= expected, f"{expected - found} rows lost ({found} of {expected})"

    def side_effects(self, what: str, count: int, expected: int = 1) -> None:
        self.duplicates += max(0, count - expected)
        assert count == expected, f"{what}: {count} times, expected {expected}"

    def summary(self) -> str:
        return (
            f"faults: injected {self.injected}, survived {self.survived}, rows_lost {self.lost}, "
            f"bad_inputs {self.bad_inputs}, clear_errors {self.clear_errors}, "
            f"secrets_found {self.secrets_found}, duplicate_side_effects {self.duplicates}"
        )


LEDGER = FaultLedger()
_STARTED = datetime.now(UTC)


@pytest.fixture
def faults() -> FaultLedger:
    return LEDGER


@pytest.fixture
def warehouse(devstack_state):
    """A fresh autocommit connection to the warehouse per test (a Postgres restart in an
    earlier test cuts every connection, so none is shared across tests here)."""
    import psycopg

    from devstack import stack
    from devstack.services import DATABASES, server_url

    url = server_url(stack.load_state()["services"]["postgres"], DATABASES["warehouse"])
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


# --- injecting faults -------------------------------------------------------------


def airflow_dags_test(dag_id: str, conf: dict | None = None, logical_date: str | None = None):
    """``airflow dags test`` in a process (and group) of its own, so a test can SIGKILL it mid-task.

    ``dag.test()`` runs tasks in the test's own process, which a kill would take down with it.
    Returns the ``Popen``; its output goes to a log under ``build/faults/``.
    """
    import os
    import subprocess
    import uuid

    log = PROJECT_ROOT / "build" / "faults" / f"{dag_id}-{uuid.uuid4().hex[:8]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(PROJECT_ROOT / ".venv" / "bin" / "airflow"), "dags", "test", dag_id]
    if logical_date:
        cmd.append(logical_date)
    if conf:
        cmd += ["--conf", json.dumps(conf)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ), cwd=PROJECT_ROOT
        )
    process.log_path = log
    return process


def sigkill_when(process, condition, *, timeout: float = 300, poll: float = 0.05) -> bool:
    """SIGKILL ``process``'s whole group as soon as ``condition()`` is true.

    Returns True when it was killed that way; False when the process ended first
    (the test should then fail: the fault was not injected where it meant to be).
    """
    import os
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            hit = condition()
        except Exception:  # noqa: BLE001 - a probe that cannot answer yet is "not yet"
            hit = False
        if hit:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return True
        time.sleep(poll)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    raise AssertionError(f"condition not reached within {timeout} s; log: {process.log_path}")


def copy_rows_streamed(warehouse_conn, table: str | None = None) -> int:
    """Rows a running COPY into the warehouse has taken so far (0 when none runs): a kill point."""
    row = warehouse_conn.execute(
        "SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy p "
        "WHERE %(table)s::text IS NULL OR p.relid = to_regclass(%(table)s)",
        {"table": table},
    ).fetchone()
    return int(row[0])


def restart_postgres() -> None:
    """Restart the devstack's Postgres (fast shutdown: every session is cut, the metadata DB's too).

    An external server (DEVSTACK_POSTGRES_URL) is not ours to restart: there every
    other session on it is terminated instead, which is what a client sees of a restart.
    """
    import psycopg

    from devstack import stack
    from devstack.services import server_url

    state = stack.load_state()
    record = state["services"]["postgres"]
    if not record.get("managed"):
        with psycopg.connect(server_url(record, "postgres"), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        reset_airflow_connections()
        return
    from devstack.services import PostgresService

    state["services"]["postgres"] = PostgresService("postgres").restart(record)
    stack.save_state(state)
    reset_airflow_connections()


def reset_airflow_connections() -> None:
    """Drop this process's pooled metadata-DB connections (a Postgres restart cut them all), so
    ``dag.test()`` and XCom reads later in the session open new ones."""
    from airflow import settings
    from sqlalchemy.exc import DBAPIError

    if settings.Session is not None:
        try:
            settings.Session.remove()  # rolls back on its connection, which the restart cut
        except DBAPIError:
            settings.Session.registry.clear()
    if settings.engine is not None:
        settings.engine.dispose()


def devstack_secrets() -> dict[str, str]:
    """name -> value of every secret the devstack hands out (none shorter than 8 characters)."""
    from devstack import paths, stack

    state = stack.load_state()
    found: dict[str, str] = {"jwt secret": state["secrets"]["jwt"]}
    for conn_id, conn in stack.connections(state).items():
        if conn.get("password"):
            found[f"{conn_id} password"] = conn["password"]
        key_file = (conn.get("extra") or {}).get("key_file")
        if key_file:
            for line in open(key_file, encoding="ascii").read().splitlines():
                # Any line of the key's body is a leak; the armour lines are not secret.
                if line and not line.startswith("-----"):
                    found[f"{conn_id} private key"] = line
                    break
    for key in sorted(paths.sftp_dir().glob("*key")):
        if key.suffix != ".pub":
            body = [line for line in key.read_text(encoding="ascii").splitlines() if not line.startswith("-----")]
            if body:
                found.setdefault(f"{key.name} body", body[0])
    return {name: value for name, value in found.items() if len(value) >= 8}


_CAPTURED: dict[tuple[str, str], str] = {}


def pytest_runtest_logreport(report):
    # A later phase's report repeats the earlier phases' sections: keep each once.
    for section, text in report.sections:
        _CAPTURED[(report.nodeid, section)] = text


def _log_files_written() -> list[tuple[str, str]]:
    """The suite's ``airflow dags test`` logs and every task log file Airflow wrote since the start."""
    import os

    roots = [PROJECT_ROOT / "build" / "faults", Path(os.environ.get("AIRFLOW_HOME", "/nonexistent")) / "logs"]
    texts = []
    for root in roots:
        for path in root.rglob("*") if root.is_dir() else ():
            if path.is_file() and path.stat().st_mtime >= _STARTED.timestamp() and path != SUMMARY_FILE:
                texts.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    return texts


def _xcom_texts() -> list[tuple[str, str]]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.value).where(
                XComModel.timestamp >= _STARTED
            )
        ).all()
    return [
        (f"xcom {dag_id}/{run_id}/{task_id}", json.dumps(value, default=str)) for dag_id, run_id, task_id, value in rows
    ]


SUMMARY_FILE = PROJECT_ROOT / "build" / "faults" / "summary.txt"


def pytest_sessionfinish(session, exitstatus):
    """Search for secrets, fail the session on any, write the summary line ``make faults`` prints last."""
    if LEDGER.injected == 0 and LEDGER.bad_inputs == 0:
        return
    secrets = devstack_secrets()
    captured = [(f"{nodeid} {section}", text) for (nodeid, section), text in _CAPTURED.items()]
    for where, text in [*captured, *_log_files_written(), *_xcom_texts()]:
        for name, value in secrets.items():
            if value in text:
                LEDGER.secrets_found += 1
                LEDGER.secret_hits.append(f"{name} in {where}")
    if LEDGER.secrets_found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_FILE.write_text("".join(f"SECRET FOUND: {hit}\n" for hit in LEDGER.secret_hits) + LEDGER.summary() + "\n")


def pytest_terminal_summary(terminalreporter):
    if SUMMARY_FILE.exists() and (LEDGER.injected or LEDGER.bad_inputs):
        for line in SUMMARY_FILE.read_text().splitlines():
            terminalreporter.write_line(line)
