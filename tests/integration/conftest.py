from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def devstack_state():
    """The running devstack (brought up by tests/conftest.py when it was down)."""
    from devstack import stack

    assert os.environ.get("DEVSTACK_FOR_TESTS") == "1", "devstack is not up: run `python -m devstack up`"
    return stack.load_state()


@pytest.fixture(scope="session")
def bundle_dags():
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import DAGS

    bag = DagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder")
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture
def maildir(devstack_state):
    from devstack.services import ensure_maildir

    return ensure_maildir()


@pytest.fixture(scope="session")
def warehouse(devstack_state):
    """A psycopg connection to the warehouse database (autocommit), for assertions."""
    import psycopg

    from devstack.services import DATABASES, server_url

    with psycopg.connect(
        server_url(devstack_state["services"]["postgres"], DATABASES["warehouse"]), autocommit=True
    ) as conn:
        yield conn


def task_states(run) -> dict[str, list[str]]:
    """task_id -> states of its instances (mapped ones in map-index order)."""
    states: dict[str, list[str]] = {}
    for ti in sorted(run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index)):
        states.setdefault(ti.task_id, []).append(ti.state)
    return states
