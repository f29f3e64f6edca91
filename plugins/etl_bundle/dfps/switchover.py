"""Periods the original cron scripts already sent to DPS, so the bundle does not send them again.

The bundle's own sends are in its audit table. What the original sent before the switch
is told by either of two things: the Variable ``dfps_dps_sent_by_original`` (periods,
comma-separated, e.g. ``FY2025_Q1,FY2025_Q2``), or the original's delivery folder on
the share (``[dfps_dps] original_share_dir``, default the original's folder), where it
left ``Children_in_care_{period}_{YYYYmmdd_HHMMSS}.txt`` for each period it sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from etl_bundle.common.fiscal import FiscalPeriod

SENT_BY_ORIGINAL_VARIABLE = "dfps_dps_sent_by_original"
# The original's windows_share.remote_dir default (reference §2.4).
ORIGINAL_SHARE_DIR = "CPS/CPS_Research_Evaluation/2 CVS/Runaways/DPS DUA"


def listed_periods(value: str | None) -> set[str]:
    """The periods of the Variable's value; a label that is not a period is an error naming it."""
    labels = {part.strip() for part in (value or "").split(",") if part.strip()}
    for label in labels:
        FiscalPeriod.parse(label)
    return labels


def original_delivery(file_names: Iterable[str], period: FiscalPeriod) -> str | None:
    """The newest of the original's stamped txt copies for exactly ``period``, or None."""
    stamped = re.compile(rf"^Children_in_care_{re.escape(period.label)}_\d{{8}}_\d{{6}}\.txt$")
    matches = sorted(name for name in file_names if stamped.match(name))
    return matches[-1] if matches else None


def sent_by_original(period: FiscalPeriod, share_conn_id: str) -> str | None:
    """How we know the original already sent ``period``, or None."""
    from airflow.sdk import Variable, conf

    from etl_bundle.common.share import open_share

    if period.label in listed_periods(Variable.get(SENT_BY_ORIGINAL_VARIABLE, default=None)):
        return f"listed in the Variable {SENT_BY_ORIGINAL_VARIABLE}"
    folder = conf.get("dfps_dps", "original_share_dir", fallback=ORIGINAL_SHARE_DIR)
    with open_share(share_conn_id) as share:
        found = original_delivery((entry.name for entry in share.list(folder) if not entry.is_dir), period)
    if found:
        return f"the original's copy {folder.rstrip('/').rsplit('/', 1)[-1]}/{found} is on the share"
    return None
