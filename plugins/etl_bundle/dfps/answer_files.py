"""Which files in DPS's TO_DFPS folder answer a period, and when they are ready. Pure.

As the original did, any file whose name contains ``dfps-missing-person-results`` (or
``-counts``), in any case, answers; a name that also names a period (``FY2025_Q2``,
``fy2025-q2``, ``FY2025``) answers that period only, so a file named for another period is
never taken. A name without a period belongs to the period whose send to DPS came last
before the file was written (its modification time), and a file already claimed for another
period is never taken again. Files still being uploaded (``.part``, ``.tmp``, ``.filepart``,
or a leading dot) are not answers yet. A file is ready when two listings a few seconds apart
show the same size and modification time and it is older than a minimum age; the counts
file is awaited for a grace period after the results file, then the run goes on without it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
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


@dataclass(frozen=True)
class Send:
    """One delivery of a period's list to DPS (an audit row ``to_dps``)."""

    period: FiscalPeriod
    sent_at: datetime


def owner_by_send(mtime: int, sends: list[Send]) -> FiscalPeriod | None:
    """The period whose send came last before a file written at ``mtime``; None when none did."""
    written = datetime.fromtimestamp(mtime, tz=UTC)
    before = [send for send in sends if send.sent_at <= written]
    return max(before, key=lambda send: send.sent_at).period if before else None


def answers_for(
    files: list[RemoteFile], period: FiscalPeriod, sends: list[Send], claims: dict[tuple[str, int, int], str]
) -> tuple[list[RemoteFile], list[str]]:
    """The files this period may take, and why each other answer-looking file is not its to take.

    ``claims`` maps a claimed file's ``(name, size, mtime)`` to the period it was taken for.
    """
    kept, notes = [], []
    for file in files:
        found = answer_kind(file.name, period)
        if found is None:
            continue
        claimed_for = claims.get((file.name, file.size, file.mtime))
        if claimed_for is not None and claimed_for != period.label:
            notes.append(f"{file.name} was taken for {claimed_for}")
            continue
        if not found[1]:
            owner = owner_by_send(file.mtime, sends)
            if owner is None:
                notes.append(f"{file.name} names no period and no send to DPS came before it")
                continue
            if owner != period:
                notes.append(f"{file.name} answers {owner.label} (the last send before it)")
                continue
        kept.append(file)
    return kept, notes


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


def too_young(file: RemoteFile, now: datetime, min_age: timedelta) -> str | None:
    """Why ``file`` is not old enough to take yet (a writer may only be pausing), or None."""
    age = now - datetime.fromtimestamp(file.mtime, tz=UTC)
    if age >= min_age:
        return None
    return f"{file.name} was last changed {max(age.total_seconds(), 0):.0f} s ago; taken once {min_age} old"


def readiness(
    seen: dict[str, RemoteFile],
    settled: dict[str, RemoteFile],
    now: datetime,
    counts_grace: timedelta,
    min_age: timedelta = timedelta(0),
) -> Readiness:
    """Whether the run can take DPS's answer now, and why not when it cannot."""
    results = settled.get("results")
    if results is None:
        if "results" in seen:
            return Readiness(False, f"{seen['results'].name} is still being written")
        return Readiness(False, "no results file yet")
    counts = settled.get("counts")
    for file in (results, counts):
        if file is not None and (young := too_young(file, now, min_age)):
            return Readiness(False, young)
    if counts is not None:
        return Readiness(True, "results and counts files arrived", results, counts)
    if "counts" in seen:
        return Readiness(False, f"{seen['counts'].name} is still being written")
    arrived = datetime.fromtimestamp(results.mtime, tz=now.tzinfo)
    if now - arrived >= counts_grace:
        return Readiness(True, f"no counts file {counts_grace} after {results.name}: going on without it", results)
    return Readiness(False, f"{results.name} arrived; waiting up to {counts_grace} for the counts file")
