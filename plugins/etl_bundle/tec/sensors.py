"""Waiting for a cycle to be published, without holding a worker slot."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator

log = logging.getLogger(__name__)


class CyclePublishedSensor(BaseSensorOperator):
    """Pokes Energy Transfer for one (endpoint, cycle, gas day) in reschedule mode.

    Done when the answer is that cycle's CSV (see ``check_publication``); the XCom is
    the target plus the published file name. After the ``publish_deadline_hours``
    Param (hours after the gas day's Central midnight) it ends as skipped, naming the
    cycle that was never published. The poke interval is the
    ``poke_interval_seconds`` Param.
    """

    template_fields = ("target",)

    def __init__(self, *, target: dict[str, Any], http_conn_id: str = "energy_transfer", **kwargs: Any) -> None:
        kwargs.setdefault("timeout", timedelta(days=3).total_seconds())  # backstop; the deadline decides
        super().__init__(mode="reschedule", **kwargs)
        self.target = target
        self.http_conn_id = http_conn_id

    def execute(self, context):
        self.poke_interval = float(context["params"]["poke_interval_seconds"])
        return super().execute(context)

    def poke(self, context):
        from airflow.sdk import PokeReturnValue
        from airflow.sdk.exceptions import AirflowSkipException

        from etl_bundle.tec.config import load_config, target_label
        from etl_bundle.tec.fetch import fetch_cycle
        from etl_bundle.tec.transforms import publication_deadline

        target = self.target
        _, publication = fetch_cycle(self.http_conn_id, target, load_config())
        if publication.published:
            log.info("%s is published as %s", target_label(target), publication.filename)
            return PokeReturnValue(is_done=True, xcom_value={**target, "filename": publication.filename})
        deadline = publication_deadline(
            date.fromisoformat(target["gas_day"]), float(context["params"]["publish_deadline_hours"])
        )
        # Wall-clock time decides only how long to wait, never what is loaded.
        if datetime.now(UTC) >= deadline:
            raise AirflowSkipException(
                f"{target_label(target)} was never published by {deadline.isoformat()} "
                f"(last answer: {publication.reason})"
            )
        log.info("%s not published yet (%s); waiting until %s", target_label(target), publication.reason, deadline)
        return False
