"""Which files in DPS's TO_DFPS folder answer a period, and when they are ready. Pure.

As the original did, any file whose name contains ``dfps-missing-person-results`` (or
``-counts``), in any case, answers; a name that also names a period (``FY2025_Q2``,
``fy2025-q2``, ``FY2025``) answers that period only, so a file named for another period is
never taken. Files still being uploaded (``.part``, ``.tmp``, ``.filepart``, or a leading
dot) are not answers yet. A file is ready
when two listings a few seconds apart show the same size and modification time; the
counts file is awaited for a grace period after the results file, then the run goes on
without it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from etl_bundle.common.fiscal import FiscalPeriod

KINDS = ("results", "counts")
_KIND = re.compile(r"dfps-missing-person-(?P<kind>results|counts)", re.IGNORECASE)
_PERIOD = re.compile(r"(?<![a-z0-9])fy(?P<year>\d{4})(?:[_ -]?q(?P<quarter>[1-4]))?(?![0-9])", re.IGNORECASE)
_IN_TRANSFER = (".part", ".tmp", ".filepart")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: int  # seconds since the epoch, as the SFTP server reports it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def answer_kind(name: str, period: FiscalPeriod) -> tuple[str, bool] | None:
    """``(kind, named_for_period)`` when ``name`` is a DPS answer this period may take, else None."""
    kinds = {found.lower() for found in _KIND.findall(name)}
    if len(kinds) != 1 or name.startswith(".") or name.lower().endswith(_IN_TRANSFER):
        return None
    named = {
        FiscalPeriod(int(found["year"]), int(found["quarter"]) if found["quarter"] else None)
        for found in _PERIOD.finditer(name)
    }
    if not named:
        return kinds.pop(), False
    if named != {period}:
        return None
    return kinds.pop(), True


def pick_answers(files: list[RemoteFile], period: FiscalPeriod) -> dict[str, RemoteFile]:
    """Per kind, the file named for the period, else the newest unsuffixed one."""
    best: dict[str, tuple[bool, int, str, RemoteFile]] = {}
    for file in files:
        found = answer_kind(file.name, period)
        if found is None:
            continue
        kind, named = found
        rank = (named, file.mtime, file.name, file)
        if kind not in best or rank[:3] > best[kind][:3]:
            best[kind] = rank
    return {kind: rank[3] for kind, rank in best.items()}


def stable(first: dict[str, RemoteFile], second: dict[str, RemoteFile]) -> dict[str, RemoteFile]:
    """The picks that did not change (same name, size and time) between two listings."""
    return {kind: file for kind, file in second.items() if first.get(kind) == file}


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    results: RemoteFile | None = None
    counts: RemoteFile | None = None


def readiness(
    seen: dict[str, RemoteFile], settled: dict[str, RemoteFile], now: datetime, counts_grace: timedelta
) -> Readiness:
    """Whether the run can take DPS's answer now, and why not when it cannot."""
    results = settled.get("results")
    if results is None:
        if "results" in seen:
            return Readiness(False, f"{seen['results'].name} is still being written")
        return Readiness(False, "no results file yet")
    counts = settled.get("counts")
    if counts is not None:
        return Readiness(True, "results and counts files arrived", results, counts)
    if "counts" in seen:
        return Readiness(False, f"{seen['counts'].name} is still being written")
    arrived = datetime.fromtimestamp(results.mtime, tz=now.tzinfo)
    if now - arrived >= counts_grace:
        return Readiness(True, f"no counts file {counts_grace} after {results.name}: going on without it", results)
    return Readiness(False, f"{results.name} arrived; waiting up to {counts_grace} for the counts file")
