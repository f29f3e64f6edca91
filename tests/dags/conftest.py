from __future__ import annotations

import pytest

from tests.conftest import DAGS


@pytest.fixture(scope="session")
def dagbag():
    """One DagBag over the bundle, loaded as the dag-processor loads it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), bundle_path=DAGS, bundle_name="dags-folder")
