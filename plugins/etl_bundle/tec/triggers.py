"""CyclePublishedSensor's deferrable wait: Energy Transfer asked from the triggerer, no worker slot held.

The trigger holds nothing beyond its serialized kwargs (the deadline is absolute), so a restarted
triggerer resumes the wait where it was. Its verdict on each answer is ``check_publication``, the
poke's own rule; its faults follow the poke's too (a 5xx, 403/429, a dropped connection or a
timeout: logged, the wait goes on; another 4xx: the task fails).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def publication_request(target: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What the trigger needs of the configuration to ask for and judge ``target`` (JSON-safe)."""
    from etl_bundle.tec.transforms import request_params, request_path

    endpoint = config["endpoints"][target["endpoint"]]
    return {
        "path": request_path(endpoint),
        "params": request_params(endpoint, date.fromisoformat(target["gas_day"]), target["cycle_code"]),
        "timeout_seconds": float(config["request"].get("timeout_seconds", 30)),
        "min_body_bytes": int(config["request"]["min_body_bytes"]),
        "filename": config["filename"],
    }


def judge_answer(target: dict[str, Any], request: dict[str, Any], status: int, disposition: str | None, size: int):
    """``(fault, publication)``: ``fault`` is "transient", "throttled" or "permanent" for an answer that
    is no file (as ``fetch.download`` sorts them), else None and ``publication`` is the poke's verdict."""
    from etl_bundle.tec.fetch import THROTTLED_STATUSES
    from etl_bundle.tec.transforms import FilenameRules, Publication, check_publication

    if status >= 500:
        return "transient", Publication(False, f"transient error: Energy Transfer answered HTTP {status}")
    if status in THROTTLED_STATUSES:
        return "throttled", Publication(False, f"Energy Transfer refused with HTTP {status} (firewall or rate limit)")
    if status >= 400:
        return "permanent", Publication(False, f"Energy Transfer answered HTTP {status}")
    return None, check_publication(
        status=status,
        content_disposition=disposition,
        body_size=size,
        expected_cycle=target["cycle"],
        gas_day=date.fromisoformat(target["gas_day"]),
        rules=FilenameRules.from_config(request["filename"]),
        min_body_bytes=request["min_body_bytes"],
    )


class CyclePublishedTrigger(BaseTrigger):
    """Asks Energy Transfer every ``poke_interval`` seconds until ``target`` is published or ``deadline``
    (an ISO instant) passes; one event either way, or on a permanent error."""

    def __init__(
        self,
        *,
        target: dict[str, Any],
        request: dict[str, Any],
        http_conn_id: str,
        deadline: str,
        poke_interval: float,
    ) -> None:
        super().__init__()
        self.target = target
        self.request = request
        self.http_conn_id = http_conn_id
        self.deadline = deadline
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "target": self.target,
                "request": self.request,
                "http_conn_id": self.http_conn_id,
                "deadline": self.deadline,
                "poke_interval": self.poke_interval,
            },
        )

    async def ask(self) -> tuple[str | None, Any]:
        """One GET of the cycle's file; a dropped connection or a timeout is a transient fault."""
        import aiohttp
        from airflow.providers.http.hooks.http import HttpAsyncHook

        from etl_bundle.common.db_errors import describe
        from etl_bundle.tec.transforms import Publication

        config = await HttpAsyncHook(method="GET", http_conn_id=self.http_conn_id).config()
        url = config.base_url.rstrip("/") + "/" + self.request["path"].lstrip("/")
        try:
            async with (
                aiohttp.ClientSession(headers=config.headers, auth=config.auth) as session,
                session.get(
                    url,
                    params=self.request["params"],
                    timeout=aiohttp.ClientTimeout(total=self.request["timeout_seconds"]),
                ) as response,
            ):
                body = await response.read()
                return judge_answer(
                    self.target, self.request, response.status, response.headers.get("Content-Disposition"), len(body)
                )
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as err:
            return "transient", Publication(False, f"transient error: {describe(err)}")

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from etl_bundle.tec.config import target_label

        label = target_label(self.target)
        deadline = datetime.fromisoformat(self.deadline)
        warned_cycle = None
        while True:
            # The worker asked just before deferring: the first ask here is one interval later.
            left = (deadline - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.0, min(self.poke_interval, left)))
            fault, publication = await self.ask()
            if fault == "permanent":
                yield TriggerEvent({"status": "failed", "message": f"{label}: {publication.reason}"})
                return
            if publication.published:
                self.log.info("%s is published as %s", label, publication.filename)
                yield TriggerEvent({"status": "published", "filename": publication.filename})
                return
            if fault == "throttled":
                # As the poke: a refusal is "not yet", asked again next time, whatever the deadline.
                self.log.warning("%s: %s; trying again at the next check", label, publication.reason)
                continue
            if fault:
                self.log.warning("%s: %s; the wait goes on", label, publication.reason)
            if publication.found_cycle and publication.found_cycle != warned_cycle:
                warned_cycle = publication.found_cycle
                self.log.warning(
                    "cycle code %s answered %s, a file of cycle %r, not %r: the code in "
                    "include/tec/energy_transfer.yaml may be wrong",
                    self.target["cycle_code"],
                    publication.filename,
                    publication.found_cycle,
                    self.target["cycle"],
                )
            # Wall-clock time decides only how long to wait, never what is loaded.
            if datetime.now(UTC) >= deadline:
                yield TriggerEvent(
                    {
                        "status": "deadline",
                        "reason": publication.reason,
                        "filename": publication.filename,
                        "found_cycle": publication.found_cycle,
                    }
                )
                return
            self.log.info("%s not published yet (%s); waiting until %s", label, publication.reason, self.deadline)
