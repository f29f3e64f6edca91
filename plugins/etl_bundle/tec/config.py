"""The endpoints and cycles of tec_operational_capacity, from include/tec/energy_transfer.yaml."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from etl_bundle.common.paths import INCLUDE_DIR
from etl_bundle.common.sql import check_identifier

CONFIG_PATH = INCLUDE_DIR / "tec" / "energy_transfer.yaml"

# The cycles and endpoints configured in CONFIG_PATH, in its order, as the trigger form's
# choices: constants, so parsing the DAG reads no file (tests/unit/test_tec_operators.py
# fails when the yaml and these differ).
CYCLE_CHOICES = ("Timely", "Evening", "Intraday 1", "Intraday 2", "Intraday 3", "Final")
ENDPOINT_CHOICES = ("tw_operational_capacity",)


def load_config(path: Path | None = None) -> dict[str, Any]:
    import yaml

    path = path or CONFIG_PATH  # read at call time, so a test can point it at another file
    config = yaml.safe_load(path.read_text())
    for key in ("source_system", "request", "filename", "cycles", "endpoints", "archive"):
        if key not in config:
            raise ValueError(f"{path}: missing top-level key {key!r}")
    for name, endpoint in config["endpoints"].items():
        for key in ("routing_path", "asset_id", "endpoint", "schema", "table"):
            if key not in endpoint:
                raise ValueError(f"{path}: endpoint {name!r} has no {key!r}")
        check_identifier(endpoint["schema"])
        check_identifier(endpoint["table"])
    for name, cycle in config["cycles"].items():
        if not isinstance(cycle.get("code"), int):
            raise ValueError(f"{path}: cycle {name!r} needs an integer 'code'")
    return config


def _choose(kind: str, requested: list[str] | None, available: dict[str, dict]) -> list[str]:
    if not requested:
        return [name for name, item in available.items() if item.get("enabled", True)]
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ValueError(f"unknown {kind} {unknown}; configured: {sorted(available)}")
    return list(dict.fromkeys(requested))


def chosen_endpoints(config: dict[str, Any], requested: list[str] | None = None) -> list[str]:
    """The endpoints a run loads: those requested, else the enabled ones."""
    return _choose("endpoint(s)", requested, config["endpoints"])


def plan_targets(
    config: dict[str, Any],
    gas_day: date,
    endpoints: list[str] | None = None,
    cycles: list[str] | None = None,
    lookback_days: int = 0,
) -> list[dict[str, Any]]:
    """One target per (endpoint, cycle) to wait for and load, for the mapped tasks: the gas
    day's first, then the same cycles of the ``lookback_days`` days before it (``lookback``:
    checked once, not waited for, so a day missed in an outage or a republished file loads)."""
    targets = []
    for back in range(lookback_days + 1):
        day = gas_day - timedelta(days=back)
        for endpoint in chosen_endpoints(config, endpoints):
            for cycle in _choose("cycle(s)", cycles, config["cycles"]):
                targets.append(
                    {
                        "endpoint": endpoint,
                        "cycle": cycle,
                        "cycle_code": config["cycles"][cycle]["code"],
                        "gas_day": day.isoformat(),
                        "lookback": back > 0,
                    }
                )
    if not targets:
        raise ValueError("no endpoint and cycle enabled: check include/tec/energy_transfer.yaml or the Params")
    return targets


def target_label(target: dict[str, Any]) -> str:
    return f"{target['endpoint']} {target['cycle']} of gas day {target['gas_day']}"


# The merge's statements, in the order a load runs them: include/sql/tec/<name>.sql. Here, not in
# tec.load, so the DAG file names them without importing the loader at parse time.
MERGE_STATEMENTS = (
    "slice_newest_observation",
    "slice_load_record",
    "slice_is_new",
    "history_open_from_target",
    "stage",
    "rejected_keys_stage",
    "history_close",
    "history_open",
    "merge",
    "delete_missing",
    "rejected_keys_kept",
    "rejects_clear",
    "rejects_insert",
)
