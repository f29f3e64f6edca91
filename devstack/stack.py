"""``up``, ``down``, ``status`` and the env file that points Airflow at the stand-ins."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from devstack import net, paths
from devstack.services import (
    DATABASES,
    SERVICES,
    SFTP_USER,
    SMB_SHARE,
    SMB_USER,
    StartError,
    hasura_secret_file,
    server_url,
    sftp_host_key,
    smb_password_file,
)

AIRFLOW_TIMEZONE = "America/Chicago"
ALERT_EMAIL = "data-engineering-alerts@example.org"


def load_state() -> dict[str, Any]:
    try:
        return json.loads(paths.state_file().read_text())
    except FileNotFoundError:
        return {"services": {}}


def save_state(state: dict[str, Any]) -> None:
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    tmp = paths.state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(paths.state_file())


def up(*, migrate: bool = True) -> dict[str, Any]:
    """Start every stand-in that is not already answering; idempotent."""
    state = load_state()
    services = state.setdefault("services", {})
    started: list[str] = []
    try:
        for service in SERVICES:
            record = services.get(service.name)
            if record and service.alive(record):
                # A busy stand-in may answer slowly: give it time before replacing it,
                # and never leave the old process running behind a new one.
                if net.wait_until(
                    lambda s=service, r=record: _answers(s, r), 30, alive=lambda s=service, r=record: s.alive(r)
                ):
                    continue
                service.stop(record)
            services[service.name] = service.start()
            started.append(service.name)
            save_state(state)
        paths.share_dir().mkdir(parents=True, exist_ok=True)
        state.setdefault("secrets", {}).setdefault("jwt", secrets.token_urlsafe(32))
        state.setdefault("airflow_ports", {})
        # A running cluster holds these ports: keep them (its components were started with them).
        if not state.get("cluster"):
            for key in ("api", "worker_log", "trigger_log"):
                state["airflow_ports"][key] = net.free_port(state["airflow_ports"].get(key))
        save_state(state)
        write_env(state)
        if migrate and ("postgres" in started or not state.get("airflow_migrated")):
            migrate_airflow_db()
            state["airflow_migrated"] = True
            save_state(state)
    except (StartError, subprocess.CalledProcessError) as err:
        print(err if isinstance(err, StartError) else f"devstack: airflow db migrate failed: {err}", file=sys.stderr)
        down(quiet=True)
        raise SystemExit(1) from None
    for name in started:
        print(f"devstack: started {name} on {net.HOST}:{services[name]['port']}")
    if not started:
        print("devstack: already up")
    return state


def _answers(service, record: dict[str, Any]) -> bool:
    try:
        return service.ready(record)
    except Exception:  # noqa: BLE001 - any failure to answer means "start it again"
        return False


def down(*, quiet: bool = False) -> None:
    """Stop exactly the stand-ins ``up`` started (by pid), in reverse order.

    ``cluster.down_all`` (``python -m devstack down``) stops the Airflow cluster first.
    """
    state = load_state()
    services = state.get("services", {})
    for service in reversed(SERVICES):
        record = services.pop(service.name, None)
        if record:
            service.stop(record)
            if not quiet:
                print(f"devstack: stopped {service.name}")
    state["airflow_migrated"] = False
    save_state(state)


def processes_alive() -> bool:
    """Whether every stand-in ``up`` recorded is still running (answering or busy)."""
    services = load_state().get("services", {})
    return (
        bool(services)
        and all(service.alive(services[service.name]) for service in SERVICES if service.name in services)
        and set(services) >= {service.name for service in SERVICES}
    )


def status() -> list[dict[str, Any]]:
    state = load_state()
    rows = []
    for service in SERVICES:
        record = state.get("services", {}).get(service.name)
        if record:
            rows.append(
                {
                    "name": service.name,
                    "pid": record.get("pid"),
                    "port": record["port"],
                    "alive": service.alive(record) and _answers(service, record),
                    "log": record.get("log"),
                }
            )
    cluster = state.get("cluster") or {}
    from devstack.processes import is_alive

    processes = dict(cluster.get("components") or {})
    if (cluster.get("redis") or {}).get("managed"):
        processes["redis"] = cluster["redis"]
    for name, record in processes.items():
        port = state["airflow_ports"]["api"] if name == "api-server" else "-"
        alive = is_alive(record["pid"])
        rows.append({"name": name, "pid": record["pid"], "port": port, "alive": alive, "log": record["log"]})
    return rows


def connections(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every connection id the bundle uses, pointing at the stand-ins."""
    services = state["services"]
    pg = services["postgres"]

    def postgres(database: str) -> dict[str, Any]:
        return {
            "conn_type": "postgres",
            "host": pg["host"],
            "port": pg["port"],
            "login": pg["user"],
            "password": pg.get("password", ""),
            "schema": database,
        }

    return {
        "warehouse_postgres": postgres(DATABASES["warehouse"]),
        # The Oracle sources are played by a Postgres database: the connection's
        # type makes the SQL templates render their Postgres text.
        "ecapris_oracle": postgres(DATABASES["oracle_standin"]),
        "dfps_oracle": postgres(DATABASES["oracle_standin"]),
        "invoice_aws": {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {
                "region_name": "us-east-1",
                "endpoint_url": f"http://{net.HOST}:{services['moto']['port']}",
            },
        },
        "dps_sftp": {
            "conn_type": "sftp",
            "host": net.HOST,
            "port": services["sftp"]["port"],
            "login": SFTP_USER,
            "extra": {
                "key_file": str(paths.sftp_dir() / "client_key"),
                "host_key": sftp_host_key(),
            },
        },
        "energy_transfer": {
            "conn_type": "http",
            "host": net.HOST,
            "port": services["energy_transfer"]["port"],
            "schema": "http",
        },
        "smtp_default": {
            "conn_type": "smtp",
            "host": net.HOST,
            "port": services["smtp"]["port"],
            "extra": {
                "disable_ssl": True,
                "disable_tls": True,
                "from_email": "airflow-etl-bundle@example.org",
                "timeout": 10,
                "retry_limit": 1,
            },
        },
        # The share over SMB as the originals reached it (NTLM); the share's name in schema.
        "network_share": {
            "conn_type": "samba",
            "host": net.HOST,
            "port": services["smb"]["port"],
            "login": SMB_USER,
            "password": smb_password_file().read_text().strip(),
            "schema": SMB_SHARE,
            "extra": {"auth_protocol": "ntlm", "share_type": "windows"},
        },
        # Endpoint in host/schema, admin secret in the password (sent as a header, never as auth).
        "moped_hasura": {
            "conn_type": "http",
            "host": net.HOST,
            "port": services["hasura"]["port"],
            "schema": "http",
            "password": hasura_secret_file().read_text().strip(),
        },
    }


def environment(state: dict[str, Any]) -> dict[str, str]:
    """What ``.devstack/env`` exports: Airflow's settings and one AIRFLOW_CONN_* per connection."""
    ports = state["airflow_ports"]
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(paths.airflow_home()),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": AIRFLOW_TIMEZONE,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{net.HOST}:{ports['api']}/execution/",
        "AIRFLOW__API__HOST": net.HOST,
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__API__BASE_URL": f"http://{net.HOST}:{ports['api']}",
        "AIRFLOW__API_AUTH__JWT_SECRET": state["secrets"]["jwt"],
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_log"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_log"]),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": server_url(state["services"]["postgres"], DATABASES["airflow"]).replace(
            "postgresql://", "postgresql+psycopg2://", 1
        ),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW_VAR_ALERT_EMAIL": ALERT_EMAIL,
    }
    for conn_id, conn in connections(state).items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn, sort_keys=True)
    return env


def write_env(state: dict[str, Any]) -> Path:
    lines = ["# Written by `python -m devstack up`; source it, then run airflow commands."]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in environment(state).items()]
    paths.env_file().write_text("\n".join(lines) + "\n")
    paths.env_file().chmod(0o600)
    return paths.env_file()


def running_state() -> dict[str, Any]:
    """The devstack's state for a script that needs it up (benchmarks); exits with a hint if it is down."""
    state = load_state()
    if not state.get("services"):
        raise SystemExit("the devstack is down: run `python -m devstack up` first")
    return state


def devstack_env() -> dict[str, str]:
    """The environment of the Airflow commands the devstack runs: the current one plus ``.devstack/env``."""
    env = dict(os.environ)
    env.update(environment(load_state()))
    return env


# The pools the bundle's DAGs name (a task in a missing pool is never scheduled).
AIRFLOW_POOLS = {"reporting_seeder": (8, "reporting_seeder: materialized views refreshed at once")}


def migrate_airflow_db() -> None:
    paths.airflow_home().mkdir(parents=True, exist_ok=True)
    log = paths.log_dir() / "airflow-db-migrate.log"
    airflow = str(Path(sys.executable).parent / "airflow")
    commands = [[airflow, "db", "migrate"]]
    commands += [[airflow, "pools", "set", name, str(slots), text] for name, (slots, text) in AIRFLOW_POOLS.items()]
    with open(log, "wb") as out:
        for command in commands:
            subprocess.run(command, env=devstack_env(), stdout=out, stderr=subprocess.STDOUT, check=True)
    print(f"devstack: airflow metadata database migrated, pools set (log: {log})")
