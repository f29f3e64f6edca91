"""CyclePublishedSensor's poke against a real local HTTP server that answers 503, drops the
connection or answers the file, in the order a test scripts (loopback only; no devstack service)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack import energy_transfer_data as et

pytestmark = pytest.mark.integration

CONN_ID = "tec_sensor_test"


class ScriptedServer:
    """Answers each request with the next scripted action: an HTTP status, ``reset`` or ``file``."""

    def __init__(self, body: bytes, filename: str):
        self.actions: list[str | int] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                import socket
                import struct

                server.requests += 1
                action = server.actions.pop(0) if server.actions else "file"
                if action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                status, payload = (200, body) if action == "file" else (int(action), b"<html>no</html>")
                self.send_response(status)
                if action == "file":
                    self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sensor_setup(monkeypatch, tmp_path):
    import yaml

    from etl_bundle.tec import config as tec_config
    from etl_bundle.tec.sensors import CyclePublishedSensor
    from etl_bundle.tec.transforms import GAS_DAY_TZ

    day = datetime.now(GAS_DAY_TZ).date()
    server = ScriptedServer(et.capacity_csv(day, "Evening", 5).encode(), et.file_name(day, "Evening"))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": server.port, "schema": "http"}),
    )
    config = yaml.safe_load(tec_config.CONFIG_PATH.read_text())
    config["request"].update(retry_attempts=1, timeout_seconds=5)  # one request per poke: no backoff sleeps
    path = tmp_path / "energy_transfer.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setattr(tec_config, "CONFIG_PATH", path)
    target = {
        "endpoint": "tw_operational_capacity",
        "cycle": "Evening",
        "cycle_code": 1,
        "gas_day": day.isoformat(),
        "lookback": False,
    }
    sensor = CyclePublishedSensor(task_id="wait_until_published", target=target, http_conn_id=CONN_ID)
    yield server, sensor
    server.close()


class RecordingTI:
    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def context(deadline_hours: float) -> dict:
    return {"params": {"publish_deadline_hours": deadline_hours, "replay": False}, "ti": RecordingTI(), "run_id": "t"}


def test_a_503_and_a_dropped_connection_in_a_poke_keep_waiting_then_the_file_is_found(sensor_setup, caplog):
    import logging

    server, sensor = sensor_setup
    server.actions = [503, "reset"]
    with caplog.at_level(logging.WARNING, logger="etl_bundle.tec.sensors"):
        assert sensor.poke(context(1000)) is False  # 503
        assert sensor.poke(context(1000)) is False  # connection reset
    done = sensor.poke(context(1000))
    assert done.is_done and done.xcom_value["filename"].endswith(".csv")
    assert server.requests == 3
    lines = [r.getMessage() for r in caplog.records if "the wait goes on" in r.getMessage()]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "HTTP 503" in lines[0] and "ConnectionError" in lines[1]


def test_a_transient_error_at_the_deadline_ends_skipped_naming_it(sensor_setup):
    from airflow.sdk.exceptions import AirflowSkipException

    server, sensor = sensor_setup
    server.actions = [503]
    ctx = context(0)
    with pytest.raises(AirflowSkipException, match="never published.*transient error.*HTTP 503"):
        sensor.poke(ctx)
    assert "transient error" in ctx["ti"].pushed["outcome"]["reason"]


def test_a_permanent_4xx_still_fails(sensor_setup):
    from airflow.sdk.exceptions import AirflowFailException

    server, sensor = sensor_setup
    server.actions = [404]
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        sensor.poke(context(1000))


def test_a_bad_configuration_still_fails(sensor_setup, monkeypatch, tmp_path):
    from etl_bundle.tec import config as tec_config

    _, sensor = sensor_setup
    broken = tmp_path / "broken.yaml"
    broken.write_text("source_system: x\n")
    monkeypatch.setattr(tec_config, "CONFIG_PATH", broken)
    with pytest.raises(ValueError, match="missing top-level key"):
        sensor.poke(context(1000))
