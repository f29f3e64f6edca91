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
