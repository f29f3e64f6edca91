"""The deferrable waits' triggers run against real servers: a scripted local HTTP server for TEC
(503, a dropped connection, an empty 200, then the file) and the devstack's SFTP server for DPS."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from devstack import energy_transfer_data as et
from tests.integration.test_tec_sensor import ScriptedServer

pytestmark = pytest.mark.integration

CONN_ID = "tec_trigger_test"


def first_event(trigger, timeout: float = 60):
    async def run():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(run(), timeout))


@pytest.fixture
def tec_server(monkeypatch):
    from etl_bundle.tec.transforms import GAS_DAY_TZ

    day = datetime.now(GAS_DAY_TZ).date()
    server = ScriptedServer(et.capacity_csv(day, "Evening", 5).encode(), et.file_name(day, "Evening"))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": server.port, "schema": "http"}),
    )
    yield server, day
    server.close()


def tec_trigger(day, deadline: datetime):
    from etl_bundle.tec.config import load_config
    from etl_bundle.tec.triggers import CyclePublishedTrigger, publication_request

    target = {"endpoint": "tw_operational_capacity", "cycle": "Evening", "cycle_code": 1, "gas_day": day.isoformat()}
    request = publication_request(target, load_config())
    request["timeout_seconds"] = 5
    return CyclePublishedTrigger(
        target=target, request=request, http_conn_id=CONN_ID, deadline=deadline.isoformat(), poke_interval=0.2
    )


def test_tec_trigger_waits_through_faults_and_not_yet_then_finds_the_file(tec_server, capsys):
    server, day = tec_server
    # aiohttp asks again once by itself when a connection drops: two drops reach the trigger as one fault.
    server.actions = [503, "reset", "reset", 200]  # the 200 is an HTML page: not published yet
    event = first_event(tec_trigger(day, datetime.now(UTC) + timedelta(hours=1)))
    assert event == {"status": "published", "filename": et.file_name(day, "Evening")}
    assert server.requests == 5
    waits = [line for line in capsys.readouterr().out.splitlines() if "the wait goes on" in line]
    assert len(waits) == 2, waits
    assert "HTTP 503" in waits[0] and "transient error" in waits[1] and "Connection reset" in waits[1]


def test_tec_trigger_at_the_deadline_yields_the_last_answer(tec_server):
    server, day = tec_server
    server.actions = [503] * 50
    event = first_event(tec_trigger(day, datetime.now(UTC) + timedelta(seconds=1)))
    assert event["status"] == "deadline" and "HTTP 503" in event["reason"]


def test_tec_trigger_fails_on_a_permanent_4xx(tec_server):
    server, day = tec_server
    server.actions = [404]
    event = first_event(tec_trigger(day, datetime.now(UTC) + timedelta(hours=1)))
    assert event["status"] == "failed" and "HTTP 404" in event["message"]


def test_tec_trigger_restarted_from_its_serialized_kwargs_resumes_the_wait(tec_server):
    """A triggerer restart builds the trigger again from serialize(): same deadline, the wait goes on."""
    import importlib

    server, day = tec_server
    server.actions = [503] * 3
    trigger = tec_trigger(day, datetime.now(UTC) + timedelta(hours=1))

    async def interrupted():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(trigger.run()), 0.5)

    asyncio.run(interrupted())  # the triggerer died mid-wait
    asked = server.requests
    assert asked >= 1
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    again = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert first_event(again)["status"] == "published"
    assert server.requests > asked


# --- DPS on the devstack's SFTP server -------------------------------------------------------


@pytest.fixture
def dps_folder(devstack_state):
    """An empty folder of the devstack's SFTP server, and a function that writes a file into it."""
    import uuid

    from airflow.providers.sftp.hooks.sftp import SFTPHook

    folder = f"to_dfps_trigger_{uuid.uuid4().hex[:8]}"
    hook = SFTPHook(ssh_conn_id="dps_sftp")
    with hook.get_managed_conn() as sftp:
        sftp.mkdir(folder)

    def put(name: str, body: bytes, age_seconds: float = 3600):
        import time

        with hook.get_managed_conn() as sftp:
            with sftp.open(f"{folder}/{name}", "wb") as remote:
                remote.write(body)
            stamp = time.time() - age_seconds
            sftp.utime(f"{folder}/{name}", (stamp, stamp))

    yield folder, put
    with hook.get_managed_conn() as sftp:
        for name in sftp.listdir(folder):
            sftp.remove(f"{folder}/{name}")
        sftp.rmdir(folder)


def dps_trigger(folder: str, deadline: datetime, **more):
    from etl_bundle.dfps.triggers import DpsAnswerTrigger

    kwargs = {
        "period": "FY2025_Q2",
        "sftp_conn_id": "dps_sftp",
        "remote_dir": folder,
        "sends": [["FY2025_Q2", "2026-01-05T10:00:00+00:00"]],
        "claims": [],
        "settle_seconds": 0.2,
        "min_age_seconds": 60,
        "counts_grace_seconds": 0,
        "poke_interval": 0.3,
        "deadline": deadline.isoformat(),
        "wake_at": None,
        **more,
    }
    return DpsAnswerTrigger(**kwargs)


def test_dps_trigger_waits_until_the_answer_is_there_and_old_enough(dps_folder):
    folder, put = dps_folder

    async def scenario():
        trigger = dps_trigger(folder, datetime.now(UTC) + timedelta(hours=1))
        waiting = asyncio.ensure_future(anext(trigger.run()))
        await asyncio.sleep(1.5)
        assert not waiting.done()  # nothing there: still waiting
        await asyncio.to_thread(put, "dfps-missing-person-results_FY2025_Q3.txt", b"h\n1\n")  # another period's
        await asyncio.to_thread(put, "dfps-missing-person-results_FY2025_Q2.txt", b"h\n1\n", 5)  # too young
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await asyncio.to_thread(put, "dfps-missing-person-results_FY2025_Q2.txt", b"h\n1\n")
        return (await asyncio.wait_for(waiting, 30)).payload

    event = asyncio.run(scenario())
    assert event["status"] == "candidate" and "going on without it" in event["reason"]


def test_dps_trigger_wakes_the_worker_at_the_deadline(dps_folder):
    folder, _ = dps_folder
    event = first_event(dps_trigger(folder, datetime.now(UTC) + timedelta(seconds=1)))
    assert event == {"status": "recheck"}


def test_dps_trigger_fails_on_a_missing_folder(dps_folder):
    folder, _ = dps_folder
    event = first_event(dps_trigger(folder + "_missing", datetime.now(UTC) + timedelta(hours=1)))
    assert event["status"] == "failed" and "SFTPNoSuchFile" in event["message"]
