"""The devstack's Celery cluster: memory, the demo against ``airflow dags test``, and the cost of waiting.

- ``rss_idle_mb``: the cluster's processes (api-server, scheduler, dag-processor,
  triggerer, both workers, every child of theirs, Redis) summed, idle (median of
  samples); ``rss_load_mb``: the largest such sum while the demo's DAGs run on it.
  RSS counts pages shared between forks once per process, as ``ps`` does.
- ``demo_speedup``: the demo's DAGs triggered through the REST API on the cluster,
  each phase's DAGs together (``tests.cluster.api.run_demo``), against the baseline,
  the same DAGs one after another with ``airflow dags test`` (``devstack demo``'s
  way) while the cluster's processes are frozen (SIGSTOP: no CPU taken from the
  baseline). Both start from the demo's seed; ratio = baseline wall time / cluster's.
- ``wait_cpu_s_per_hour``: one TEC cycle that is never published, waited for with a
  60 s poke interval, ``wait_mode`` reschedule and deferrable: CPU seconds of the
  workers' process trees (each worker and its children, exited ones included; the
  triggerer's too for deferrable) over a window, minus the same trees' CPU over an
  idle window of the same length (the baseline: what the idle cluster costs anyway),
  scaled to an hour.

Usage: python benchmarks/cluster.py [--quick] [--window SECONDS]
(the devstack and the cluster are started if down, and stopped again then).
Last line: ``cluster: rss_idle_mb N, rss_load_mb N, demo_speedup R x, wait_cpu_s_per_hour reschedule N deferrable N``.
Goals: demo_speedup at least 1.0, deferrable under 1 CPU second per hour.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from devstack import cluster, paths, stack  # noqa: E402
from tests.cluster.api import AirflowApi, run_demo  # noqa: E402

TEC = "tec_operational_capacity"
SEED_SIZE = 1000  # the demo's


def cluster_pids(state: dict) -> dict[str, int]:
    parts = state["cluster"]
    pids = {name: record["pid"] for name, record in parts["components"].items()}
    if parts["redis"].get("managed"):
        pids["redis"] = parts["redis"]["pid"]
    return pids


def tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pids: list[int]) -> float:
    import psutil

    total = 0
    for pid in pids:
        for process in tree(pid):
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    return total / 2**20


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of each process of the trees, with what their reaped children used."""
    import psutil

    total = 0.0
    for pid in pids:
        for process in tree(pid):
            try:
                t = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


@contextmanager
def sampling_rss(pids: list[int], every: float = 0.5):
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pids))
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


@contextmanager
def frozen(pids: list[int]):
    """The trees stopped (SIGSTOP) for the block, continued after it."""
    processes = [p for pid in pids for p in tree(pid)]
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            try:
                os.kill(process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def fresh_demo_data() -> None:
    """The demo's seed, and the DPS exchange's records emptied (a period is sent and announced once)."""
    import psycopg
    from psycopg import sql

    from devstack import seed
    from devstack.services import DATABASES, server_url

    state = stack.load_state()
    with psycopg.connect(server_url(state["services"]["postgres"], DATABASES["warehouse"]), autocommit=True) as db:
        for table in ("dps_exchanges", "dps_late_notices", "dps_results_loads", "dps_stakeholder_mails"):
            if db.execute("SELECT to_regclass(%s)", (f"dfps.{table}",)).fetchone()[0]:
                db.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("dfps", table)))
        if db.execute("SELECT to_regclass('dfps.dps_answer_claims')").fetchone()[0]:
            db.execute("TRUNCATE dfps.dps_answer_claims")
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            seed.seed(SEED_SIZE)
        finally:
            sys.stdout = stdout


def dags_test_baseline(pids: list[int]) -> tuple[float, list[str]]:
    """``airflow dags test`` of every demo DAG one after another, the cluster frozen; wall time, failures."""
    from devstack import demo

    env = stack.devstack_env()
    failed = []
    with frozen(pids):
        started = time.monotonic()
        for dag_id in demo.dag_ids():
            rc, _, log = demo.run_dag(dag_id, env)
            if rc != 0:
                failed.append(f"{dag_id} (log {log})")
        return time.monotonic() - started, failed


def cpu_by_part(parts: dict[str, list[int]], window: float) -> dict[str, float]:
    before = {name: cpu_seconds(pids) for name, pids in parts.items()}
    time.sleep(window)
    return {name: cpu_seconds(pids) - before[name] for name, pids in parts.items()}


def wait_cpu(api: AirflowApi, mode: str, window: float, parts: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds of each of ``parts`` over ``window`` while one TEC cycle that is not published is waited for."""
    from devstack import energy_transfer_data as et

    # A month ahead: never published, and its publication deadline (30 h after the day starts) far off.
    gas_day = (datetime.now(UTC) + timedelta(days=30)).date()
    et.unpublish(gas_day, "Evening")
    conf = {
        "gas_day": gas_day.isoformat(),
        "cycles": ["Evening"],
        "lookback_days": 0,
        "poke_interval_seconds": 60,
        "wait_mode": mode,
    }
    api.unpause(TEC)
    run_id = api.trigger(TEC, conf)
    try:
        # The window opens once the sensor has poked once (it is waiting, not starting).
        deadline = time.monotonic() + 300
        while True:
            api.fail_scheduled_runs([TEC])
            waits = api.task_states(TEC, run_id).get("cycle.wait_until_published", [])
            if set(waits) & {"up_for_reschedule", "deferred"}:
                break
            assert time.monotonic() < deadline, f"the TEC sensor never waited: {api.task_states(TEC, run_id)}"
            time.sleep(1)
        spent = cpu_by_part(parts, window)
        waits = api.task_states(TEC, run_id).get("cycle.wait_until_published", [])
        assert set(waits) <= {"up_for_reschedule", "deferred", "running", "queued", "scheduled"}, waits
        return spent
    finally:
        api.request("PATCH", f"/dags/{TEC}/dagRuns/{run_id}", json={"state": "failed"})
        api.pause(TEC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-minute waiting windows, for CI")
    parser.add_argument("--window", type=float, default=None, help="seconds per waiting window (default 300)")
    args = parser.parse_args()
    window = args.window or (120.0 if args.quick else 300.0)

    stack_was_up = stack.processes_alive()
    cluster_was_up = stack_was_up and "cluster" in stack.load_state()
    state = cluster.up()
    try:
        api = AirflowApi(cluster.api_url(state), "admin", cluster.admin_password())
        while api.get("/dags", limit=100)["total_entries"] < len(paths.bundle_dag_ids()):
            time.sleep(2)
        pids = cluster_pids(state)
        workers = [pids[name] for name in cluster.WORKERS]

        time.sleep(10)  # let the start settle
        idle = []
        for _ in range(10):
            idle.append(rss_mb(list(pids.values())))
            time.sleep(1)
        rss_idle = statistics.median(idle)
        print(f"rss idle: {rss_idle:.0f} MB (median of {len(idle)} samples)", flush=True)

        fresh_demo_data()
        baseline, failed = dags_test_baseline(list(pids.values()))
        print(f"airflow dags test, one after another: {baseline:.1f} s", flush=True)
        if failed:
            raise SystemExit(f"baseline runs failed: {', '.join(failed)}")

        fresh_demo_data()
        with sampling_rss(list(pids.values())) as load:
            started = time.monotonic()
            runs = run_demo(api, datetime.now(UTC).isoformat())
            on_cluster = time.monotonic() - started
        bad = [f"{dag_id} {run['state']}" for dag_id, run in runs.items() if run["state"] != "success"]
        if bad:
            raise SystemExit(f"cluster runs not green: {', '.join(bad)}")
        rss_load = max(load)
        print(f"cluster, each phase's DAGs together: {on_cluster:.1f} s; rss max {rss_load:.0f} MB", flush=True)
        speedup = baseline / on_cluster

        # Counted: the workers' trees; for deferrable also the triggerer's (where a trigger waits).
        counted = {"reschedule": ("workers",), "deferrable": ("workers", "triggerer")}
        parts = {"workers": workers, "triggerer": [pids["triggerer"]]}
        idle_cpu = cpu_by_part(parts, window)
        print(f"idle cluster over {window:.0f} s: {idle_cpu} CPU s", flush=True)
        per_hour = {}
        for mode, names in counted.items():
            spent = wait_cpu(api, mode, window, parts)
            extra = sum(spent[name] - idle_cpu[name] for name in names)
            per_hour[mode] = max(0.0, extra) * 3600 / window
            print(f"waiting, {mode}: {spent} CPU s in {window:.0f} s -> {per_hour[mode]:.1f} CPU s/hour", flush=True)
    finally:
        if not cluster_was_up:
            cluster.down(quiet=True)
        if not stack_was_up:
            stack.down(quiet=True)

    print(
        f"cluster: rss_idle_mb {rss_idle:.0f}, rss_load_mb {rss_load:.0f}, demo_speedup {speedup:.2f} x, "
        f"wait_cpu_s_per_hour reschedule {per_hour['reschedule']:.1f} deferrable {per_hour['deferrable']:.1f}"
    )


if __name__ == "__main__":
    main()
