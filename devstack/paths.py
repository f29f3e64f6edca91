"""Where the devstack keeps its state: ``.devstack/`` in the project (or $DEVSTACK_HOME)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def put_bundle_on_path() -> None:
    """``etl_bundle`` importable as Airflow imports it (the plugins folder on ``sys.path``)."""
    import sys

    plugins = str(PROJECT_ROOT / "plugins")
    if plugins not in sys.path:
        sys.path.insert(0, plugins)


def bundle_dag_ids() -> list[str]:
    """One DAG per file in ``dags/``, named after its dag_id."""
    return sorted(p.stem for p in (PROJECT_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))


def state_dir() -> Path:
    return Path(os.environ.get("DEVSTACK_HOME", PROJECT_ROOT / ".devstack")).resolve()


def state_file() -> Path:
    return state_dir() / "state.json"


def env_file() -> Path:
    return state_dir() / "env"


def log_dir() -> Path:
    return state_dir() / "logs"


def airflow_home() -> Path:
    return state_dir() / "airflow"


def sftp_dir() -> Path:
    return state_dir() / "sftp"


def sftp_root() -> Path:
    return sftp_dir() / "root"


def energy_transfer_dir() -> Path:
    return state_dir() / "energy_transfer"


def mail_dir() -> Path:
    return state_dir() / "mail"


def share_dir() -> Path:
    return state_dir() / "share"
