"""A tiny client of Airflow's public REST API (``/api/v2``, a JWT from ``/auth/token``), and the demo
driven through it: used by the cluster tier and by ``benchmarks/cluster.py``."""

from __future__ import annotations

import time
from typing import Any

FINISHED = {"success", "failed"}


def wait_until(condition, *, timeout: float = 600, interval: float = 3, what="condition"):
    """``condition()``'s first truthy value, asked every ``interval`` seconds. After ``timeout``
    a TimeoutError names ``what`` (a callable is asked then, to say the state it was left in)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what() if callable(what) else what} not reached after {timeout:.0f} s")
        time.sleep(interval)


class AirflowApi:
    """A tiny client of Airflow's public REST API."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        token = self.session.post(
            f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:2000]}"
        return response.json() if response.content else None

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": True})

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: str | None = None) -> str:
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", json={"conf": conf or {}, "logical_date": logical_date})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        return self.wait_for_runs([(dag_id, run_id)], timeout)[(dag_id, run_id)]

    def wait_for_runs(self, runs: list[tuple[str, str]], timeout: float = 600) -> dict[tuple[str, str], str]:
        """Wait until every ``(dag_id, run_id)`` has finished; their final states."""
        states: dict[tuple[str, str], str] = {}

        def all_finished() -> bool:
            for dag_id, run_id in runs:
                if (dag_id, run_id) not in states:
                    state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
                    if state in FINISHED:
                        states[(dag_id, run_id)] = state
            return len(states) == len(runs)

        unfinished = lambda: f"every run finished ({[run for run in runs if run not in states]} not)"  # noqa: E731
        wait_until(all_finished, timeout=timeout, interval=2, what=unfinished)
        return states

    def delete_runs(self, dag_id: str) -> None:
        """Every run of ``dag_id`` deleted (a backfill would otherwise reuse a run at one of its dates)."""
        while runs := self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]:
            for run in runs:
                self.request("DELETE", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")

    def backfill(self, dag_id: str, from_date: str, to_date: str, timeout: float = 600, **options) -> list[dict]:
        """``POST /backfills`` (every run reprocessed), wait until its runs finish; its runs by logical date.

        ``from_date``/``to_date`` are ISO datetimes with their offset; ``options`` are
        the body's other fields (``dag_run_conf``, ``max_active_runs``). The scheduled runs
        unpausing the DAG created are ended: only the backfill's runs run.
        """
        body = {"dag_id": dag_id, "from_date": from_date, "to_date": to_date, "reprocess_behavior": "completed"}
        backfill = self.request("POST", "/backfills", json={**body, **options})

        def finished_runs() -> list[dict] | None:
            self.fail_scheduled_runs([dag_id])
            runs = self.get(
                f"/dags/{dag_id}/dagRuns",
                run_type="backfill",
                logical_date_gte=from_date,
                logical_date_lte=to_date,
                order_by="logical_date",
                limit=100,
            )["dag_runs"]
            done = self.get(f"/backfills/{backfill['id']}")["completed_at"]
            return runs if runs and done and all(run["state"] in FINISHED for run in runs) else None

        return wait_until(finished_runs, timeout=timeout, what=f"backfill {backfill['id']} done")

    def fail_scheduled_runs(self, dag_ids: list[str]) -> list[tuple[str, str]]:
        """Unfinished scheduled (and asset-triggered) runs of ``dag_ids`` marked failed, as a user would in
        the UI; which they were.

        Unpausing a DAG makes the scheduler create the run of its latest interval
        (``catchup=False``), and invoice's views trigger reporting_seeder: a test or a
        measurement that wants its own runs only ends those.
        """
        runs = self.get(
            "/dags/~/dagRuns", run_type=["scheduled", "asset_triggered"], state=["queued", "running"], limit=100
        )
        ended = []
        for run in runs["dag_runs"]:
            if run["dag_id"] in dag_ids:
                self._end_run(run["dag_id"], run["dag_run_id"])
                ended.append((run["dag_id"], run["dag_run_id"]))
        return ended

    def _end_run(self, dag_id: str, run_id: str, attempts: int = 5) -> None:
        """Mark one run failed. The scheduler may be writing the same dag_run row at that moment
        (a run it has just created): the API then answers 500 (a database error); ask again."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}"
        for attempt in range(attempts):
            response = self.session.request(
                "PATCH", f"{self.base_url}/api/v2{path}", json={"state": "failed"}, timeout=60
            )
            if response.ok or self.get(path)["state"] in FINISHED:
                return
            assert response.status_code >= 500 and attempt < attempts - 1, (
                f"PATCH {path}: {response.status_code} {response.text[:2000]}"
            )
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, list[str]]:
        """task_id -> states of its instances (mapped ones in map-index order), as the integration tier's."""
        states: dict[str, list[str]] = {}
        for ti in sorted(self.task_instances(dag_id, run_id), key=lambda ti: (ti["task_id"], ti["map_index"])):
            states.setdefault(ti["task_id"], []).append(ti["state"])
        return states

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """The return value a task instance pushed."""
        entry = self.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
            map_index=map_index,
            deserialize=True,
        )
        return entry["value"]

    def asset_events(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get("/assets/events", source_dag_id=dag_id, source_run_id=run_id, limit=100)["asset_events"]


def demo_phases() -> list[list[str]]:
    """The demo's DAGs (``devstack demo``'s order) as the phases they can run in together: the connections
    check first, the DAGs that consume another's output (DPS's answers meet what send delivered) last."""
    from devstack import demo

    dag_ids = demo.dag_ids()
    first = [d for d in dag_ids if d == demo.FIRST]
    last = [d for d in dag_ids if d in demo.LAST]
    return [phase for phase in (first, [d for d in dag_ids if d not in first + last], last) if phase]


def run_demo(api: AirflowApi, logical_date: str, timeout: float = 1800) -> dict[str, dict[str, Any]]:
    """Every DAG of the demo triggered through the API with the demo's conf (``devstack.demo.DEMO_ARGS``:
    none today) at ``logical_date`` (what ``airflow dags test`` without a date uses: its start), each
    phase's DAGs together; per dag_id its ``run_id``, ``state`` and ``seconds`` from trigger to end.

    Only the demo's runs run: the scheduled runs unpausing creates are ended (a scheduled
    ``dfps_dps_receive`` would wait days for its answer and, one run at a time, hold the demo's back).
    """
    from devstack import demo

    assert not any(demo.DEMO_ARGS.values()), "the demo passes arguments this runner does not translate"
    results: dict[str, dict[str, Any]] = {}
    for phase in demo_phases():
        results.update(_run_phase(api, phase, logical_date, timeout))
    return results


def _run_phase(api: AirflowApi, phase: list[str], logical_date: str, timeout: float) -> dict[str, dict[str, Any]]:
    """One phase's DAGs unpaused, triggered together and waited for; each one's run, state and seconds."""
    for dag_id in phase:
        api.unpause(dag_id)
    try:
        started = time.monotonic()
        pending = {dag_id: api.trigger(dag_id, logical_date=logical_date) for dag_id in phase}
        results: dict[str, dict[str, Any]] = {}

        def phase_finished() -> bool:
            api.fail_scheduled_runs(phase)
            for dag_id, run_id in list(pending.items()):
                state = api.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
                if state in FINISHED:
                    results[dag_id] = {"run_id": run_id, "state": state, "seconds": time.monotonic() - started}
                    del pending[dag_id]
            return not pending

        wait_until(phase_finished, timeout=timeout, interval=1, what=lambda: f"the phase finished (left: {pending})")
        return results
    finally:
        for dag_id in phase:
            api.pause(dag_id)
