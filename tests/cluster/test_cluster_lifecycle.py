"""``devstack cluster up`` that fails: one line naming the component and its log, nothing left running.

The cluster is stopped for these failed starts and started again afterwards when it was up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def cluster_restored():
    from devstack import cluster, stack

    was_up = "cluster" in stack.load_state()
    yield
    if was_up:
        cluster.up()


def failed_start(extra_env: dict[str, str]) -> tuple[str, str, set[int]]:
    """``cluster up`` with ``extra_env``: its one error line, its whole stderr, and every pid it
    recorded while it ran."""
    from devstack import cluster, net, stack
    from devstack.processes import is_alive

    cluster.down(quiet=True)
    recorded: set[int] = set()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "cluster", "up"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **extra_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def watch() -> None:
        while process.poll() is None:
            parts = stack.load_state().get("cluster") or {}
            recorded.update(c["pid"] for c in (parts.get("components") or {}).values())
            if (parts.get("redis") or {}).get("managed"):
                recorded.add(parts["redis"]["pid"])
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    _, stderr = process.communicate(timeout=400)
    watcher.join()
    assert process.returncode == 1, stderr
    assert "cluster" not in stack.load_state()
    assert net.wait_until(lambda: not any(is_alive(pid) for pid in recorded), 60), "left running"
    lines = [line for line in stderr.splitlines() if line.startswith("devstack: cluster:")]
    assert len(lines) == 1, stderr
    return lines[0], stderr, recorded


def test_an_unreachable_redis_is_named_and_nothing_is_left_running():
    line, stderr, _ = failed_start({"DEVSTACK_REDIS_URL": "redis://:hunter22@127.0.0.1:9/0"})
    assert re.fullmatch(
        r"devstack: cluster: redis does not answer at redis://:\*\*\*@127\.0\.0\.1:9/0; see its log: .+", line
    )
    assert "hunter22" not in stderr


def test_a_worker_that_dies_at_start_is_named_and_what_had_started_is_stopped():
    line, _, recorded = failed_start({"AIRFLOW__CELERY__POOL": "no-such-pool"})
    assert re.fullmatch(
        r"devstack: cluster: worker-[12] exited during start; see its log: \S+airflow-worker-[12]\.log", line
    )
    assert len(recorded) >= 4, "the api-server, scheduler, dag-processor, triggerer and Redis had been started"
