"""The raw archive: every file loaded from Energy Transfer, kept on the share so a load can be
replayed without Energy Transfer (the DAG's ``replay`` Param).

Layout: ``<share>/<folder>/<endpoint>/<gas day>/<cycle_id>/<YYYYmmddTHHMMSSZ>_<file name>``,
owner-only files. Gas-day folders older than ``retention_days`` before the archived gas day
are removed when a file is archived.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_bundle.common.private_files import open_private

log = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def archive_root(settings: dict[str, Any]) -> Path:
    """The one place that knows where the archive lives (switch it here for SMB or object storage)."""
    from etl_bundle.common.share import share_root

    return share_root(settings["share_conn_id"]) / settings["folder"]


def _cycle_folder(settings: dict[str, Any], endpoint: str, gas_day: date, cycle_id: str) -> Path:
    return archive_root(settings) / endpoint / gas_day.isoformat() / cycle_id


def archive_file(
    settings: dict[str, Any],
    *,
    endpoint: str,
    gas_day: date,
    cycle_id: str,
    filename: str,
    body: bytes,
    downloaded_at: float,
) -> Path:
    folder = _cycle_folder(settings, endpoint, gas_day, cycle_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(downloaded_at, tz=UTC).strftime(STAMP_FORMAT)
    target = folder / f"{stamp}_{Path(filename).name}"
    with open_private(target) as out:
        out.write(body)
    prune(settings, endpoint, gas_day)
    return target


def prune(settings: dict[str, Any], endpoint: str, newest_gas_day: date) -> list[str]:
    """Remove the gas-day folders older than ``retention_days`` before ``newest_gas_day``
    (relative to the data, not the clock, so a backfill of old days keeps what it wrote)."""
    oldest_kept = newest_gas_day - timedelta(days=int(settings["retention_days"]))
    removed = []
    for folder in sorted((archive_root(settings) / endpoint).iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if day < oldest_kept:
            shutil.rmtree(folder)
            removed.append(folder.name)
    if removed:
        log.info("archive: removed gas days %s (retention %s days)", removed, settings["retention_days"])
    return removed


def latest_archived(settings: dict[str, Any], endpoint: str, gas_day: date, cycle_id: str) -> tuple[Path, float] | None:
    """The newest archived file of (endpoint, gas day, cycle) and its download time, if any."""
    folder = _cycle_folder(settings, endpoint, gas_day, cycle_id)
    files = sorted(folder.glob("*_*")) if folder.is_dir() else []
    if not files:
        return None
    newest = files[-1]
    stamp = datetime.strptime(newest.name.split("_", 1)[0], STAMP_FORMAT).replace(tzinfo=UTC)
    return newest, stamp.timestamp()


def original_name(path: Path) -> str:
    """The file name Energy Transfer gave (the archive prefixes a time stamp)."""
    return path.name.split("_", 1)[1]
