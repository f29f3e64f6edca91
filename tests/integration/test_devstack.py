"""The devstack: every stand-in answers; up is idempotent; down stops exactly what up started."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devstack import services, stack
from devstack.processes import is_alive
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration


def _devstack(*args: str, home=None, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    if home is not None:
        environment["DEVSTACK_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_stand_in_answers(devstack_state):
    rows = stack.status()
    assert {row["name"] for row in rows} >= {s.name for s in services.SERVICES}
    assert all(row["alive"] for row in rows), rows
    assert all(row["port"] for row in rows)


def test_up_again_starts_nothing(devstack_state):
    before = {name: record["pid"] for name, record in stack.load_state()["services"].items()}
    result = _devstack("up")
    assert result.returncode == 0, result.stderr
    assert "already up" in result.stdout
    after = {name: record["pid"] for name, record in stack.load_state()["services"].items()}
    assert after == before


def test_second_devstack_on_a_given_server_up_up_down(devstack_state, tmp_path):
    """A separate devstack home using the running Postgres by URL: up twice, then down stops only its own."""
    url = services.server_url(devstack_state["services"]["postgres"], "postgres")
    first = _devstack("up", home=tmp_path, DEVSTACK_POSTGRES_URL=url)
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        state = stack.json.loads((tmp_path / "state.json").read_text())
        pids = {name: rec["pid"] for name, rec in state["services"].items() if rec["managed"]}
        assert set(pids) == {"moto", "sftp", "energy_transfer", "smtp", "hasura", "smb"}
        assert state["services"]["postgres"]["managed"] is False
        own_ports = {rec["port"] for rec in state["services"].values() if rec["managed"]}
        main_ports = {rec["port"] for rec in devstack_state["services"].values()}
        assert not own_ports & main_ports, "a second devstack must not reuse the first one's ports"

        second = _devstack("up", home=tmp_path, DEVSTACK_POSTGRES_URL=url)
        assert "already up" in second.stdout
        state_again = stack.json.loads((tmp_path / "state.json").read_text())
        assert {name: rec["pid"] for name, rec in state_again["services"].items() if rec["managed"]} == pids
    finally:
        # A failed assertion above must not leave the second stand-ins running.
        down = _devstack("down", home=tmp_path, DEVSTACK_POSTGRES_URL=url)
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(pid) for pid in pids.values())
    # The server it was given is not its to stop; the main devstack is untouched.
    assert is_alive(devstack_state["services"]["postgres"]["pid"])
    assert all(row["alive"] for row in stack.status())


def test_a_stand_in_that_cannot_start_is_named_and_nothing_is_left(tmp_path):
    from devstack import net

    closed = net.free_port()
    result = _devstack("up", home=tmp_path, DEVSTACK_POSTGRES_URL=f"postgresql://postgres@127.0.0.1:{closed}/postgres")
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert "postgres" in message and "log" in message
    state = stack.json.loads((tmp_path / "state.json").read_text())
    assert state["services"] == {}
