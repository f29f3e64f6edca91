"""The ``wait_mode`` Param of the DAGs whose sensors can defer (TEC, dfps_dps_receive)."""

from __future__ import annotations


def wants_deferral(deferrable: bool | None, params) -> bool:
    """``deferrable`` when set, else the ``wait_mode`` Param (a DAG without it keeps reschedule)."""
    if deferrable is not None:
        return bool(deferrable)
    return params.get("wait_mode", "reschedule") == "deferrable"


def wait_mode_param():
    """The ``wait_mode`` Param as both DAGs offer it: deferrable by default, reschedule to fall back."""
    from airflow.sdk import Param

    return Param(
        "deferrable",
        enum=["deferrable", "reschedule"],
        values_display={
            "deferrable": "Deferrable (the triggerer waits)",
            "reschedule": "Reschedule (a worker pokes)",
        },
        title="Wait mode",
        description="deferrable: the triggerer waits, no worker slot held; reschedule: a worker pokes",
        section="Waiting",
    )
