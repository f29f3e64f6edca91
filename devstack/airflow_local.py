"""Airflow itself against the devstack (``airflow standalone``: api-server, scheduler,
dag-processor, triggerer on the LocalExecutor), for backfills, parallel mapped
tasks, deferral and the UI, which ``airflow dags test`` cannot show."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

from devstack import net, paths
from devstack.processes import is_alive, spawn, stop_group

START_TIMEOUT = 180.0


def up() -> dict[str, Any]:
    from devstack import stack

    state = stack.up()
    record = state.get("airflow")
    if record and is_alive(record["pid"]):
        print(f"devstack: airflow already up at http://{net.HOST}:{record['port']}")
        return record
    port = state["airflow_ports"]["api"]
    if not net.port_is_free(port):
        state["airflow_ports"]["api"] = port = net.free_port()
        stack.save_state(state)
        stack.write_env(state)
    log = paths.log_dir() / "airflow.log"
    pid = spawn([str(Path(sys.executable).parent / "airflow"), "standalone"], log, env=stack.devstack_env())
    record = {"pid": pid, "port": port, "log": str(log)}
    state["airflow"] = record
    stack.save_state(state)
    url = f"http://{net.HOST}:{port}"
    if not net.wait_until(
        lambda: net.http_status(f"{url}/api/v2/version") == 200, START_TIMEOUT, alive=lambda: is_alive(pid)
    ):
        down(state)
        stack.save_state(state)
        raise SystemExit(f"devstack: airflow did not start; see its log: {log}")
    print(f"devstack: airflow UI at {url} (user admin, password: {admin_password() or 'see ' + str(log)})")
    return record


def cli(*args: str, timeout: float = 180) -> str:
    """``airflow <args>`` against the devstack; its stdout, or RuntimeError with the end of its output."""
    import subprocess

    from devstack import stack

    command = [str(Path(sys.executable).parent / "airflow"), *args]
    done = subprocess.run(
        command, env=stack.devstack_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed: {(done.stdout + done.stderr)[-3000:]}")
    return done.stdout


def admin_password() -> str | None:
    generated = paths.airflow_home() / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(generated.read_text()).get("admin")
    except (FileNotFoundError, ValueError):
        return None


def down(state: dict[str, Any] | None = None, *, quiet: bool = False) -> None:
    from devstack import stack

    own_state = state is None
    state = stack.load_state() if own_state else state
    record = state.pop("airflow", None)
    if record and is_alive(record["pid"]):
        # SIGINT lets standalone stop its components; SIGTERM would orphan them.
        stop_group(record["pid"], first_signal=signal.SIGINT, grace=30)
        if not quiet:
            print("devstack: stopped airflow")
    if own_state:
        stack.save_state(state)
