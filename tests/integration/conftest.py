from __future__ import annotations

import os
from contextlib import contextmanager

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
    # dag.test(run_conf=...) writes the conf into the in-memory DAG's params, so a later
    # run would inherit it: keep the declared defaults to pass in full every time.
    PARAM_DEFAULTS.update({dag_id: dag.params.dump() for dag_id, dag in bag.dags.items()})
    return bag.dags


PARAM_DEFAULTS: dict[str, dict] = {}


def run_dag(dag, conf: dict | None = None, **more):
    """``dag.test()`` with the DAG's declared Param defaults overridden by ``conf`` and ``more`` only."""
    return dag.test(run_conf={**PARAM_DEFAULTS[dag.dag_id], **(conf or {}), **more})


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


def xcom_value(run, dag_id: str, task_id: str):
    """The return value a task of ``run`` pushed (unmapped tasks)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run.run_id, key="return_value", task_ids=task_id, dag_ids=dag_id)
        row = session.scalars(query).one()
        return XComModel.deserialize_value(row)


@pytest.fixture
def scratch_warehouse(devstack_state, monkeypatch):
    """A new empty database on the devstack's server, made this test's ``warehouse_postgres``.

    Yields ``connect`` (a new psycopg connection to it per call, autocommit off); the
    database is dropped afterwards. DAGs run with ``dag.test()`` in this process use it.
    """
    import json
    import uuid

    import psycopg

    from devstack.services import DATABASES, server_url

    record = devstack_state["services"]["postgres"]
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url(record, DATABASES["warehouse"]), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server_url(record, name)
    connection = json.loads(os.environ["AIRFLOW_CONN_WAREHOUSE_POSTGRES"])
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", json.dumps({**connection, "schema": name}))

    def connect():
        return psycopg.connect(url)

    connect.url = url
    yield connect
    with psycopg.connect(server_url(record, DATABASES["warehouse"]), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def migrate_warehouse(pipeline: str, **options) -> list[str]:
    """The devstack warehouse upgraded to ``pipeline``'s head (tests then empty its tables, never drop them)."""
    import psycopg

    from devstack import stack
    from devstack.services import DATABASES, server_url
    from etl_bundle.common.migrations import upgrade

    url = server_url(stack.load_state()["services"]["postgres"], DATABASES["warehouse"])
    return upgrade(pipeline, lambda: psycopg.connect(url), **options)


def central_stamp(moment) -> str:
    """A run's timestamp as the DFPS DAGs put it in file names: ``YYYYmmdd_HHMMSS``, Central time."""
    import pendulum

    return pendulum.instance(moment).in_timezone("America/Chicago").strftime("%Y%m%d_%H%M%S")


@contextmanager
def second_sftp_server(monkeypatch, conn_id: str, *options: str):
    """Another SFTP stand-in on the same folders (``options`` for its command line), as connection
    ``conn_id`` (the devstack's ``dps_sftp`` with the new port); killed afterwards."""
    import json
    import subprocess

    from devstack import net
    from devstack.services import SftpService

    port = net.free_port()
    server = subprocess.Popen(
        [*SftpService("sftp").command(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert net.wait_until(lambda: net.banner(port).startswith(b"SSH-"), timeout=20), "second SFTP server not up"
        conn = json.loads(os.environ["AIRFLOW_CONN_DPS_SFTP"]) | {"port": port}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        yield server
    finally:
        server.kill()
        server.wait()
