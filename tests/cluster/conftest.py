"""The cluster tier: the bundle on the devstack's Celery cluster, driven through the REST API only.

Everything a test does to Airflow goes through ``/api/v2`` with a JWT from
``/auth/token`` (as a user's script or the UI would), never the CLI or the
metadata database. The stand-ins and the warehouse are read directly, as the
integration tier does.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest import devstack_state, warehouse  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.integration

FINISHED = {"success", "failed"}


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in FINISHED:
                return state
            time.sleep(2)
        raise AssertionError(f"{dag_id} {run_id} not finished after {timeout:.0f} s")

    def backfill(self, dag_id: str, from_date: str, to_date: str, timeout: float = 600, **options) -> list[dict]:
        """``POST /backfills`` (every run reprocessed), wait until its runs finish; its runs by logical date.

        ``from_date``/``to_date`` are ISO datetimes with their offset; ``options`` are
        the body's other fields (``dag_run_conf``, ``max_active_runs``).
        """
        body = {"dag_id": dag_id, "from_date": from_date, "to_date": to_date, "reprocess_behavior": "completed"}
        backfill = self.request("POST", "/backfills", json={**body, **options})
        deadline = time.monotonic() + timeout
        while True:
            runs = self.get(
                f"/dags/{dag_id}/dagRuns",
                run_type="backfill",
                logical_date_gte=from_date,
                logical_date_lte=to_date,
                order_by="logical_date",
                limit=100,
            )["dag_runs"]
            done = self.get(f"/backfills/{backfill['id']}")["completed_at"]
            if runs and done and all(run["state"] in FINISHED for run in runs):
                return runs
            assert time.monotonic() < deadline, f"backfill {backfill['id']} not done: {runs}"
            time.sleep(3)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]


@pytest.fixture(scope="session")
def airflow_api(devstack_state):
    """The devstack's cluster (started here if it is not up; stopped again then), as a REST client."""
    from devstack import cluster, paths, stack

    already_up = "cluster" in stack.load_state()
    state = cluster.up()
    api = AirflowApi(cluster.api_url(state), "admin", cluster.admin_password())
    deadline = time.monotonic() + 180
    # The dag-processor parses the bundle after it starts: wait until every DAG file is known.
    while api.get("/dags", limit=100)["total_entries"] < len(paths.bundle_dag_ids()):
        assert time.monotonic() < deadline, "the dag-processor has not parsed the bundle"
        time.sleep(2)
    yield api
    if not already_up:
        cluster.down()
