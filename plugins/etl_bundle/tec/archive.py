"""The raw archive: every file loaded from Energy Transfer, kept on the share so a load can be
replayed without Energy Transfer (the DAG's ``replay`` Param).

Layout: ``<folder>/<endpoint>/<gas day>/<cycle_id>/<YYYYmmddTHHMMSS.ffffffZ>_<file name>`` on the
share (``etl_bundle.common.share``: SMB or a mounted folder), private copies. Gas-day folders
older than ``retention_days`` before the archived gas day are removed when a file is archived.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

# To the microsecond, as the download time the load records: a replay of the newest archived file
# is then not "older than the file already loaded" (which the load skips). Copies archived
# before carry whole seconds (OLD_STAMP_FORMAT).
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
OLD_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@contextmanager
def archive_share(settings: dict[str, Any]) -> Iterator[Any]:
    """The one place that knows where the archive lives (the share of ``share_conn_id``)."""
    from etl_bundle.common.share import open_share

    with open_share(settings["share_conn_id"]) as share:
        yield share


def endpoint_folder(settings: dict[str, Any], endpoint: str) -> str:
    from etl_bundle.common.share import share_path

    return share_path(settings["folder"], endpoint)


def _cycle_folder(settings: dict[str, Any], endpoint: str, gas_day: date, cycle_id: str) -> str:
    from etl_bundle.common.share import share_path

    return share_path(endpoint_folder(settings, endpoint), gas_day.isoformat(), cycle_id)


def archive_file(
    settings: dict[str, Any],
    *,
    endpoint: str,
    gas_day: date,
    cycle_id: str,
    filename: str,
    body: bytes,
    downloaded_at: float,
) -> str:
    """``body`` archived (private) under its download time; the path on the share."""
    from etl_bundle.common.private_files import open_private

    stamp = datetime.fromtimestamp(downloaded_at, tz=UTC).strftime(STAMP_FORMAT)
    name = f"{stamp}_{PurePosixPath(filename).name}"
    with tempfile.TemporaryDirectory(prefix="tec-archive-") as tmp, archive_share(settings) as share:
        local = Path(tmp) / name
        with open_private(local) as out:
            out.write(body)
        path = share.put(local, _cycle_folder(settings, endpoint, gas_day, cycle_id), private=True)
        prune(share, settings, endpoint, gas_day)
    return path


def prune(share, settings: dict[str, Any], endpoint: str, newest_gas_day: date) -> list[str]:
    """Remove the gas-day folders older than ``retention_days`` before ``newest_gas_day``
    (relative to the data, not the clock, so a backfill of old days keeps what it wrote)."""
    oldest_kept = newest_gas_day - timedelta(days=int(settings["retention_days"]))
    removed = []
    for entry in share.list(endpoint_folder(settings, endpoint)):
        try:
            day = date.fromisoformat(entry.name)
        except ValueError:
            continue
        if entry.is_dir and day < oldest_kept:
            share.remove_folder(entry.path)
            removed.append(entry.name)
    if removed:
        log.info("archive: removed gas days %s (retention %s days)", removed, settings["retention_days"])
    return removed


def latest_archived(
    settings: dict[str, Any], endpoint: str, gas_day: date, cycle_id: str
) -> tuple[str, bytes, float] | None:
    """The newest archived file of (endpoint, gas day, cycle): its path, content and download time."""
    with archive_share(settings) as share:
        files = [e for e in share.list(_cycle_folder(settings, endpoint, gas_day, cycle_id)) if not e.is_dir]
        if not files:
            return None
        newest = max(files, key=lambda entry: entry.name)  # names start with the download time
        body = share.read_bytes(newest.path)
    return newest.path, body, archived_at(newest.name)


def archived_at(name: str) -> float:
    """The download time an archived file's name starts with (Unix seconds)."""
    text = name.split("_", 1)[0]
    stamp_format = STAMP_FORMAT if "." in text else OLD_STAMP_FORMAT
    return datetime.strptime(text, stamp_format).replace(tzinfo=UTC).timestamp()


def original_name(path: str) -> str:
    """The file name Energy Transfer gave (the archive prefixes a time stamp)."""
    return PurePosixPath(path).name.split("_", 1)[1]
