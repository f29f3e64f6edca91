"""The deferrable waits' pieces that need no server: the sensors defer (or not) by the ``wait_mode``
Param, the triggers serialize and round-trip, the triggers judge answers by the pokes' own rule
functions, and the events end the sensors as their pokes would (skipped / failed, same message).
The triggers' runs against real servers are in tests/integration/test_deferrable_waits.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from devstack import energy_transfer_data as et
from etl_bundle.common.wait_mode import wants_deferral
from etl_bundle.dfps.triggers import DpsAnswerTrigger, listing_readiness
from etl_bundle.tec import transforms
from etl_bundle.tec.config import load_config
from etl_bundle.tec.triggers import CyclePublishedTrigger, judge_answer, publication_request

GAS_DAY = "2026-11-02"
TARGET = {"endpoint": "tw_operational_capacity", "cycle": "Evening", "cycle_code": 1, "gas_day": GAS_DAY}


def tec_trigger(**more) -> CyclePublishedTrigger:
    return CyclePublishedTrigger(
        target=TARGET,
        request=publication_request(TARGET, load_config()),
        http_conn_id="energy_transfer",
        deadline="2026-11-03T11:00:00+00:00",
        poke_interval=60.0,
        **more,
    )


def test_wait_mode_param_decides_unless_the_sensor_was_told():
    assert wants_deferral(None, {"wait_mode": "deferrable"})
    assert not wants_deferral(None, {"wait_mode": "reschedule"})
    assert not wants_deferral(None, {})  # a DAG without the Param keeps reschedule
    assert wants_deferral(True, {"wait_mode": "reschedule"})
    assert not wants_deferral(False, {"wait_mode": "deferrable"})


@pytest.mark.parametrize(
    "trigger",
    [
        tec_trigger(),
        DpsAnswerTrigger(
            period="FY2025_Q2",
            sftp_conn_id="dps_sftp",
            remote_dir="to_dfps",
            sends=[["FY2025_Q2", "2026-01-05T10:00:00+00:00"]],
            claims=[["dfps-missing-person-results.txt", 10, 1700000000, "FY2025_Q1"]],
            settle_seconds=10.0,
            min_age_seconds=600.0,
            counts_grace_seconds=3600.0,
            poke_interval=600.0,
            deadline="2026-01-08T10:00:00+00:00",
            wake_at=None,
        ),
    ],
    ids=["tec", "dps"],
)
def test_a_trigger_serializes_to_json_and_round_trips(trigger):
    import importlib
    import json

    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    again = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert type(again) is type(trigger)
    assert again.serialize() == (classpath, kwargs)
    assert datetime.fromisoformat(kwargs["deadline"]).tzinfo is not None  # absolute: a restart resumes it


def test_tec_trigger_judges_answers_with_the_pokes_rule(monkeypatch):
    """judge_answer goes through check_publication, the rule fetch_cycle (the poke) uses."""
    calls = []
    real = transforms.check_publication

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(transforms, "check_publication", spy)
    request = publication_request(TARGET, load_config())
    name = et.file_name(date(2026, 11, 2), "Evening")
    fault, publication = judge_answer(TARGET, request, 200, f'attachment; filename="{name}"', 500)
    assert fault is None and calls and calls[-1]["expected_cycle"] == "Evening"
    assert publication == real(**calls[-1])
    assert calls[-1]["gas_day"] == date(2026, 11, 2)
    assert judge_answer(TARGET, request, 200, None, 500)[1].published is False  # a 200 alone proves nothing
    assert judge_answer(TARGET, request, 503, None, 0)[0] == "transient"
    assert judge_answer(TARGET, request, 429, None, 0)[0] == "throttled"
    assert judge_answer(TARGET, request, 404, None, 0)[0] == "permanent"


def test_tec_poke_uses_the_same_rule(monkeypatch):
    from etl_bundle.tec import fetch

    seen = []
    monkeypatch.setattr(
        transforms, "check_publication", lambda **kw: seen.append(kw) or transforms.Publication(False, "x")
    )
    answer = fetch.Download("u", 200, 'attachment; filename="a.csv"', b"x" * 300, 0.0)
    monkeypatch.setattr(fetch, "download", lambda *a, **k: answer)
    fetch.fetch_cycle("energy_transfer", TARGET, load_config())
    assert seen and seen[0]["expected_cycle"] == "Evening"


class RecordingTI:
    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value

    def get_first_reschedule_date(self, context):
        return None


def tec_context(**params):
    return {
        "params": {"publish_deadline_hours": 30, "poke_interval_seconds": 60, "replay": False, **params},
        "ti": RecordingTI(),
        "run_id": "manual__t",
    }


def tec_sensor(**more):
    from etl_bundle.tec.sensors import CyclePublishedSensor

    return CyclePublishedSensor(task_id="wait_until_published", target=dict(TARGET), **more)


def test_tec_sensor_defers_after_one_poke_when_deferrable(monkeypatch):
    from airflow.sdk.exceptions import TaskDeferred

    sensor = tec_sensor()
    monkeypatch.setattr(type(sensor), "poke", lambda self, context: False)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(tec_context(wait_mode="deferrable"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, CyclePublishedTrigger)
    assert trigger.deadline == transforms.publication_deadline(date(2026, 11, 2), 30).isoformat()
    assert trigger.poke_interval == 60 and deferred.value.method_name == "execute_complete"


def test_tec_sensor_returns_at_once_when_the_first_poke_finds_it(monkeypatch):
    from airflow.sdk import PokeReturnValue

    sensor = tec_sensor()
    monkeypatch.setattr(type(sensor), "poke", lambda self, context: PokeReturnValue(True, {"filename": "f.csv"}))
    assert sensor.execute(tec_context(wait_mode="deferrable")) == {"filename": "f.csv"}


def test_tec_lookback_target_is_asked_once_never_deferred(monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    sensor = tec_sensor()
    sensor.target["lookback"] = True

    def poke(self, context):
        self._skip(context, "checked once")

    monkeypatch.setattr(type(sensor), "poke", poke)
    with pytest.raises(AirflowSkipException, match="checked once"):
        sensor.execute(tec_context(wait_mode="deferrable"))


def test_tec_events_end_the_sensor_as_its_poke_would(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from etl_bundle.tec import sensors

    sensor = tec_sensor()
    assert sensor.execute_complete(tec_context(), {"status": "published", "filename": "f.csv"})["filename"] == "f.csv"
    ctx = tec_context()
    with pytest.raises(AirflowSkipException) as skipped:
        sensor.execute_complete(ctx, {"status": "deadline", "reason": "HTTP 200 empty"})
    deadline = transforms.publication_deadline(date(2026, 11, 2), 30).isoformat()
    expected = (
        f"tw_operational_capacity Evening of gas day {GAS_DAY} was never published by {deadline} "
        "(last answer: HTTP 200 empty)"
    )
    assert str(skipped.value) == expected and ctx["ti"].pushed["outcome"]["reason"] == expected
    alerts = []
    monkeypatch.setattr(sensors, "alert_wrong_cycle", lambda *args: alerts.append(args))
    with pytest.raises(AirflowSkipException):
        sensor.execute_complete(tec_context(), {"status": "deadline", "reason": "r", "found_cycle": "Timely"})
    assert alerts and alerts[0][2].found_cycle == "Timely"
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        sensor.execute_complete(tec_context(), {"status": "failed", "message": "x: HTTP 404"})


def test_dps_listing_is_judged_by_the_pokes_rules():
    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps.answer_files import Send

    period = FiscalPeriod.parse("FY2025_Q2")
    now = datetime(2026, 1, 6, 12, tzinfo=UTC)
    old = int((now - timedelta(hours=1)).timestamp())
    sends = [Send(period, now - timedelta(days=1))]
    entries = [("dfps-missing-person-results_FY2025_Q2.txt", 100, old), ("dfps-missing-person-counts.txt", 5, old)]
    grace, min_age = timedelta(minutes=60), timedelta(minutes=10)
    picks, first = listing_readiness(entries, period, sends, {}, None, now, grace, min_age)
    assert set(picks) == {"results", "counts"} and not first.ready  # one listing proves nothing settled
    _, second = listing_readiness(entries, period, sends, {}, picks, now, grace, min_age)
    assert second.ready and second.results.name.endswith("FY2025_Q2.txt")
    grown = [(entries[0][0], 200, old), entries[1]]
    assert not listing_readiness(grown, period, sends, {}, picks, now, grace, min_age)[1].ready
    other = [("dfps-missing-person-results_FY2025_Q3.txt", 100, old)]
    assert listing_readiness(other, period, sends, {}, None, now, grace, min_age)[0] == {}


def dps_sensor():
    from etl_bundle.dfps.sensors import DpsAnswerSensor

    return DpsAnswerSensor(
        task_id="wait", period="FY2025_Q2", sftp_conn_id="dps_sftp", warehouse_conn_id="wh", remote_dir="to_dfps"
    )


DPS_PARAMS = {
    "wait_hours": 72,
    "settle_seconds": 0,
    "counts_grace_minutes": 60,
    "min_age_minutes": 10,
    "counts_tolerance_rows": 0,
    "late_after_hours": 6,
    "poke_interval_seconds": 600,
    "wait_mode": "deferrable",
}


def test_dps_sensor_pokes_then_defers_waking_for_the_late_notice(monkeypatch):
    from airflow.sdk.exceptions import TaskDeferred

    from etl_bundle.common.fiscal import FiscalPeriod
    from etl_bundle.dfps import receive
    from etl_bundle.dfps.answer_files import Send

    sent_at = datetime.now(UTC) - timedelta(hours=1)
    monkeypatch.setattr(
        receive, "answer_records", lambda conn_id: ([Send(FiscalPeriod.parse("FY2025_Q2"), sent_at)], {})
    )
    sensor = dps_sensor()
    monkeypatch.setattr(type(sensor), "poke", lambda self, context: False)
    started = datetime.now(UTC) - timedelta(hours=2)
    ctx = {"params": DPS_PARAMS, "dag_run": SimpleNamespace(start_date=started), "run_id": "manual__x"}
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(ctx)
    trigger = deferred.value.trigger
    assert isinstance(trigger, DpsAnswerTrigger)
    assert trigger.deadline == (started + timedelta(hours=72)).isoformat()
    assert trigger.wake_at == (sent_at + timedelta(hours=6)).isoformat()
    assert trigger.sends == [["FY2025_Q2", sent_at.isoformat()]] and trigger.min_age_seconds == 600


def test_dps_events_go_back_to_the_pokes_verdict(monkeypatch):
    from airflow.sdk import PokeReturnValue
    from airflow.sdk.exceptions import AirflowFailException

    sensor = dps_sensor()
    ctx = {"params": DPS_PARAMS, "dag_run": SimpleNamespace(start_date=datetime.now(UTC)), "run_id": "manual__x"}
    monkeypatch.setattr(type(sensor), "poke", lambda self, context: PokeReturnValue(True, {"note": "ok"}))
    assert sensor.execute_complete(ctx, {"status": "candidate", "reason": "r"}) == {"note": "ok"}
    with pytest.raises(AirflowFailException, match="SFTPNoSuchFile"):
        sensor.execute_complete(ctx, {"status": "failed", "message": "FY2025_Q2: SFTPNoSuchFile"})


def test_asyncssh_faults_sorted_like_paramikos():
    import asyncssh

    from etl_bundle.dfps.sensors import is_transient

    assert is_transient(asyncssh.ConnectionLost("dropped"))
    assert is_transient(asyncssh.DisconnectError(11, "bye"))
    assert not is_transient(asyncssh.PermissionDenied("no"))
    assert not is_transient(asyncssh.SFTPNoSuchFile("to_dfps"))
