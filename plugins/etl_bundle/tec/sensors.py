"""Waiting for a cycle to be published, without holding a worker slot."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator

log = logging.getLogger(__name__)

OUTCOME_KEY = "outcome"  # XCom of a sensor that ended skipped: why, for the run's final check


class CyclePublishedSensor(BaseSensorOperator):
    """Pokes Energy Transfer for one (endpoint, cycle, gas day) in reschedule mode.

    Done when the answer is that cycle's CSV (see ``check_publication``); the XCom is
    the target plus the published file name. After the ``publish_deadline_hours``
    Param (hours after the gas day's Central midnight) it ends as skipped, naming the
    cycle that was never published. The poke interval is the
    ``poke_interval_seconds`` Param.

    A file naming another cycle means the configured code is wrong (or the site fell
    back to its default): a WARNING at once, and an alert mail if the deadline passes
    with it. A look-back target (an earlier gas day, re-checked) is asked once, not
    waited for; with the ``replay`` Param the archive answers instead of Energy Transfer.
    A 403 or 429 that outlasts the download's retries is another "not yet": the next
    poke tries again. So is any transient fault (a 5xx, a dropped connection, a timeout, a
    database or share connection lost): logged in one line, and the wait goes on until its
    deadline instead of failing the try. A permanent error (another 4xx, a bad configuration)
    still fails.

    Deferrable (``deferrable=True``, or the ``wait_mode`` Param "deferrable" when ``deferrable`` is
    None): after one poke here, ``CyclePublishedTrigger`` waits in the triggerer with the same rules
    and the same deadline, so no worker slot is held; "reschedule" pokes from a worker as before.
    A look-back or replay target, asked once, never defers.
    """

    template_fields = ("target",)

    def __init__(
        self,
        *,
        target: dict[str, Any],
        http_conn_id: str = "energy_transfer",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", timedelta(days=3).total_seconds())  # backstop; the deadline decides
        super().__init__(mode="reschedule", **kwargs)
        self.target = target
        self.http_conn_id = http_conn_id
        self.deferrable = deferrable

    def execute(self, context):
        params = context["params"]
        self.poke_interval = float(params["poke_interval_seconds"])
        from etl_bundle.common.wait_mode import wants_deferral

        if not wants_deferral(self.deferrable, params) or self.target.get("lookback") or params.get("replay"):
            return super().execute(context)
        done = self.poke(context)  # published already, or past the deadline (skipped): no trigger needed
        if done:
            return done.xcom_value
        self.defer_wait(context)

    def defer_wait(self, context) -> None:
        from etl_bundle.tec.config import load_config
        from etl_bundle.tec.transforms import publication_deadline
        from etl_bundle.tec.triggers import CyclePublishedTrigger, publication_request

        deadline = publication_deadline(
            date.fromisoformat(self.target["gas_day"]), float(context["params"]["publish_deadline_hours"])
        )
        self.defer(
            trigger=CyclePublishedTrigger(
                target=self.target,
                request=publication_request(self.target, load_config()),
                http_conn_id=self.http_conn_id,
                deadline=deadline.isoformat(),
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context, event: dict[str, Any]):
        from airflow.sdk.exceptions import AirflowFailException

        from etl_bundle.tec.config import target_label
        from etl_bundle.tec.transforms import Publication, publication_deadline

        if event["status"] == "published":
            log.info("%s is published as %s", target_label(self.target), event["filename"])
            return {**self.target, "filename": event["filename"]}
        if event["status"] == "deadline":
            deadline = publication_deadline(
                date.fromisoformat(self.target["gas_day"]), float(context["params"]["publish_deadline_hours"])
            )
            publication = Publication(False, event["reason"], event.get("filename"), event.get("found_cycle"))
            self._deadline_passed(context, deadline, publication)
        raise AirflowFailException(event.get("message") or f"unexpected trigger event {event!r}")

    def _deadline_passed(self, context, deadline: datetime, publication) -> None:
        """End skipped, naming the cycle (and mail when only another cycle's file was seen)."""
        from etl_bundle.tec.config import target_label

        label = target_label(self.target)
        message = f"{label} was never published by {deadline.isoformat()} (last answer: {publication.reason})"
        if publication.found_cycle:
            alert_wrong_cycle(context, self.target, publication, message)
        self._skip(context, message)

    def _skip(self, context, message: str):
        from airflow.sdk.exceptions import AirflowSkipException

        context["ti"].xcom_push(key=OUTCOME_KEY, value={**self.target, "reason": message})
        raise AirflowSkipException(message)

    def poke(self, context):
        from airflow.sdk import PokeReturnValue

        from etl_bundle.common.db_errors import describe
        from etl_bundle.tec.config import load_config, target_label
        from etl_bundle.tec.fetch import ThrottledError, fetch_cycle, transient_errors
        from etl_bundle.tec.transforms import Publication, publication_deadline

        target = self.target
        params = context["params"]
        label = target_label(target)
        config = load_config()  # outside the try: a bad configuration is permanent
        try:
            _, publication = fetch_cycle(self.http_conn_id, target, config, replay=bool(params.get("replay")))
        except ThrottledError as err:
            log.warning("%s: %s; trying again at the next poke", label, err)
            return False
        except transient_errors() as err:
            publication = Publication(False, f"transient error: {describe(err)}")
            log.warning("%s: %s; the wait goes on", label, publication.reason)
        if publication.published:
            log.info("%s is published as %s", label, publication.filename)
            return PokeReturnValue(is_done=True, xcom_value={**target, "filename": publication.filename})
        if publication.found_cycle:
            log.warning(
                "cycle code %s answered %s, a file of cycle %r, not %r: the code in "
                "include/tec/energy_transfer.yaml may be wrong",
                target["cycle_code"],
                publication.filename,
                publication.found_cycle,
                target["cycle"],
            )
        if target.get("lookback") or params.get("replay"):
            self._skip(context, f"{label}: {publication.reason} (checked once)")
        deadline = publication_deadline(date.fromisoformat(target["gas_day"]), float(params["publish_deadline_hours"]))
        # Wall-clock time decides only how long to wait, never what is loaded.
        if datetime.now(UTC) >= deadline:
            self._deadline_passed(context, deadline, publication)
        log.info("%s not published yet (%s); waiting until %s", label, publication.reason, deadline)
        return False


def alert_wrong_cycle(context, target: dict[str, Any], publication, message: str) -> None:
    """Mail the on-call address: a cycle's deadline passed with only another cycle's file seen."""
    from html import escape

    from etl_bundle.common.mail import alert_recipients, send_mail

    subject = (
        f"[airflow] tec_operational_capacity: cycle code {target['cycle_code']} answers "
        f"{publication.found_cycle!r}, not {target['cycle']!r} ({context['run_id']})"
    )
    send_mail(
        alert_recipients(),
        subject,
        f"<p>{escape(message)}</p><p>Check the code of {escape(target['cycle'])!s} in "
        "include/tec/energy_transfer.yaml against the file names Energy Transfer sends.</p>",
    )
    log.error("alert sent: %s", subject)
