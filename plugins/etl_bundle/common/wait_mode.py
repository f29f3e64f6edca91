"""The ``wait_mode`` Param of the DAGs whose sensors can defer (TEC, dfps_dps_receive)."""

from __future__ import annotations


def wants_deferral(deferrable: bool | None, params) -> bool:
    """``deferrable`` when set, else the ``wait_mode`` Param (a DAG without it keeps reschedule)."""
    if deferrable is not None:
        return bool(deferrable)
    return params.get("wait_mode", "reschedule") == "deferrable"
