"""The cluster tier: the bundle on the devstack's Celery cluster, driven through the REST API only.

Everything a test does to Airflow goes through ``/api/v2`` with a JWT from
``/auth/token`` (as a user's script or the UI would), never the CLI or the
metadata database. The stand-ins and the warehouse are read directly, as the
integration tier does.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.api import AirflowApi
from tests.integration.conftest import devstack_state, warehouse  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.integration


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
