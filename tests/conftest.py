"""Test session set-up shared by every tier.

Reproduces Airflow's import path (the plugins folder on ``sys.path``, so the
package is ``etl_bundle``) and points Airflow at the project's DAGs. When the
devstack is up its settings and connections are loaded, so integration tests
and ``dag.test()`` use the same metadata database and stand-ins as
``airflow dags test``; otherwise Airflow gets a throwaway home (enough for the
DAG and unit tiers, which need no database).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PLUGINS = PROJECT_ROOT / "plugins"
DAGS = PROJECT_ROOT / "dags"

for path in (PLUGINS, PROJECT_ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def _devstack_environment() -> dict[str, str] | None:
    from devstack import stack

    # Running processes are enough: a stand-in busy with a benchmark is still up.
    if not stack.processes_alive():
        return None
    return stack.environment(stack.load_state())


def _wants_integration(args: list[str]) -> bool:
    selected = [a for a in args if not a.startswith("-")] or ["tests"]
    tiers = ("integration", "faults", "cluster", "ui")
    return any(any(tier in a for tier in tiers) or a.rstrip("/").endswith("tests") for a in selected)


_started_here = False


def pytest_configure(config):
    """Bring the devstack up when integration tests are selected and it is down."""
    global _started_here
    if _devstack_environment() is None and _wants_integration(config.args):
        from devstack import stack

        stack.up()
        _started_here = True
    _configure_airflow_env()


def pytest_unconfigure(config):
    if _started_here and os.environ.get("DEVSTACK_KEEP") != "1":
        from devstack import cluster

        cluster.down_all(quiet=True)


def _configure_airflow_env() -> None:
    env = _devstack_environment()
    if env is None:
        env = _throwaway_airflow_env()
    os.environ.update(env)
    os.environ["DEVSTACK_FOR_TESTS"] = "1" if "AIRFLOW_CONN_WAREHOUSE_POSTGRES" in env else "0"


def _throwaway_airflow_env() -> dict[str, str]:
    return {
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="etl-bundle-airflow-"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "America/Chicago",
    }
