"""``python -m devstack seed``: load the demo data set into the stand-ins.

Each pipeline registers a seeder here; ``size`` scales the generated data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devstack import dfps_data, ecapris_data, energy_transfer_data, invoice_data, paths, reporting_data
from devstack.services import SFTP_FOLDERS

Seeder = Callable[[dict[str, Any], int], str]


def seed_folders(state: dict[str, Any], size: int) -> str:
    """The exchange folders on the SFTP server and the network share."""
    for folder in SFTP_FOLDERS:
        (paths.sftp_root() / folder).mkdir(parents=True, exist_ok=True)
    paths.share_dir().mkdir(parents=True, exist_ok=True)
    return f"sftp folders {', '.join(SFTP_FOLDERS)} and the share folder"


SEEDERS: list[Seeder] = [
    seed_folders,
    energy_transfer_data.seed,
    invoice_data.seed,
    ecapris_data.seed,
    reporting_data.seed,
    dfps_data.seed,
    dfps_data.seed_dps_answer,
]


def seed(size: int = 1000) -> list[str]:
    from devstack import stack

    state = stack.load_state()
    if not state.get("services"):
        raise SystemExit("devstack: not up; run `python -m devstack up` first")
    return [seeder(state, size) for seeder in SEEDERS]
