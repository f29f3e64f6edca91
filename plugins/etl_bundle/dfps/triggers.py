"""DpsAnswerSensor's deferrable wait: DPS's folder listed from the triggerer, no worker slot held.

Each check is the poke's own listing rules (``answers_for``, ``pick_answers``, ``stable``,
``readiness`` of etl_bundle.dfps.answer_files) over two listings ``settle_seconds`` apart, on
asyncssh. When they say ready, at the deadline, or when the late notice falls due, the trigger
hands back to the worker, whose poke decides (it also reads the files to check the counts, and
records the notice): a single verdict for both modes. The trigger holds nothing beyond its
serialized kwargs (absolute times), so a restarted triggerer resumes the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def listing_readiness(entries, period, sends, claims, first_seen: dict | None, now, counts_grace, min_age):
    """``(picks, readiness)`` of one listing's ``(name, size, mtime)`` entries, as the poke judges them;
    ``first_seen`` is the previous listing's picks (None on the first: nothing has settled yet)."""
    from etl_bundle.dfps.answer_files import Readiness, RemoteFile, answers_for, pick_answers, readiness, stable

    files = [RemoteFile(name=name, size=int(size), mtime=int(mtime)) for name, size, mtime in entries]
    ours, _notes = answers_for(files, period, sends, claims)
    picks = pick_answers(ours, period)
    if first_seen is None:
        return picks, Readiness(False, "first listing" if picks else f"no DPS answer for {period.label} yet")
    return picks, readiness(picks, stable(first_seen, picks), now, counts_grace, min_age)


class DpsAnswerTrigger(BaseTrigger):
    """Lists ``remote_dir`` every ``poke_interval`` seconds; one event when the answer looks ready
    ("candidate"), at ``deadline`` or ``wake_at`` ("recheck"), or on a permanent error ("failed")."""

    def __init__(
        self,
        *,
        period: str,
        sftp_conn_id: str,
        remote_dir: str,
        sends: list[list[str]],
        claims: list[list[Any]],
        settle_seconds: float,
        min_age_seconds: float,
        counts_grace_seconds: float,
        poke_interval: float,
        deadline: str,
        wake_at: str | None = None,
    ) -> None:
        super().__init__()
        self.period = period
        self.sftp_conn_id = sftp_conn_id
        self.remote_dir = remote_dir
        self.sends = sends
        self.claims = claims
        self.settle_seconds = settle_seconds
        self.min_age_seconds = min_age_seconds
        self.counts_grace_seconds = counts_grace_seconds
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.wake_at = wake_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = (
            "period",
            "sftp_conn_id",
            "remote_dir",
            "sends",
            "claims",
            "settle_seconds",
            "min_age_seconds",
            "counts_grace_seconds",
            "poke_interval",
            "deadline",
            "wake_at",
        )
        return f"{type(self).__module__}.{type(self).__qualname__}", {name: getattr(self, name) for name in names}

    async def check(self):
        """Two listings ``settle_seconds`` apart, judged by the poke's rules."""
        from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

        from etl_bundle.common.fiscal import FiscalPeriod
        from etl_bundle.dfps.answer_files import Send

        period = FiscalPeriod.parse(self.period)
        sends = [Send(FiscalPeriod.parse(label), datetime.fromisoformat(at)) for label, at in self.sends]
        claims = {(name, int(size), int(mtime)): label for name, size, mtime, label in self.claims}
        grace, min_age = timedelta(seconds=self.counts_grace_seconds), timedelta(seconds=self.min_age_seconds)
        picks, found = None, None
        async with SFTPHookAsync(sftp_conn_id=self.sftp_conn_id).get_managed_conn() as sftp:
            for listing in range(2):
                if listing:
                    await asyncio.sleep(self.settle_seconds)
                entries = [
                    (entry.filename, entry.attrs.size or 0, entry.attrs.mtime or 0)
                    for entry in await sftp.readdir(self.remote_dir)
                ]
                now = datetime.now(UTC)
                picks, found = listing_readiness(entries, period, sends, claims, picks, now, grace, min_age)
                if not picks:
                    break  # nothing of this period yet: no need to wait for it to settle
        return found

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from etl_bundle.common.db_errors import describe
        from etl_bundle.dfps.sensors import is_transient

        deadline = datetime.fromisoformat(self.deadline)
        wake_at = datetime.fromisoformat(self.wake_at) if self.wake_at else None
        until = min(deadline, wake_at) if wake_at else deadline
        while True:
            # The worker's poke checked just before deferring: the first check here is one interval later.
            left = (until - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.0, min(self.poke_interval, left)))
            if datetime.now(UTC) >= until:
                yield TriggerEvent({"status": "recheck"})  # the worker's poke fails it, or sends the notice
                return
            try:
                found = await self.check()
            except Exception as err:
                if not is_transient(err):
                    yield TriggerEvent({"status": "failed", "message": f"{self.period}: {describe(err)}"})
                    return
                self.log.warning("%s: the last check met %s (transient); the wait goes on", self.period, describe(err))
                continue
            if found.ready:
                yield TriggerEvent({"status": "candidate", "reason": found.reason})
                return
            self.log.info("%s: %s; waiting until %s", self.period, found.reason, self.deadline)
