"""The devstack's own logic: ports, the Energy Transfer URL mapping, the env it writes."""

from __future__ import annotations

import json
import socket
from datetime import date

import pytest

from devstack import energy_transfer, net, stack
from etl_bundle.common.connections import BUNDLE_CONNECTIONS

ET_QUERY = (
    "/ipost/TW/capacity/operationally-available?f=csv&extension=csv&asset=TW%2Fcapacity%2F"
    "&gasDay={day}&searchType=ALL&searchString=&locType=ALL&locZone=ALL&cycle={cycle}"
)


def test_free_port_skips_a_taken_port():
    with socket.socket() as taken:
        taken.bind((net.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not net.port_is_free(port)
        other = net.free_port(preferred=port)
        assert other != port
        assert net.port_is_free(other)


def test_free_port_keeps_a_free_preferred_port():
    port = net.free_port()
    assert net.free_port(preferred=port) == port


def _cycle_dir(tmp_path, day: date, cycle: str):
    folder = tmp_path / "TW/capacity/operationally-available" / day.isoformat() / cycle
    folder.mkdir(parents=True)
    return folder


def test_energy_transfer_serves_the_csv_of_the_requested_day_and_cycle(tmp_path):
    folder = _cycle_dir(tmp_path, date(2026, 3, 8), "Intraday_2")
    (folder / "TW_Intraday2_03-08-2026.csv").write_text("Loc,Loc Zn\n1,2\n")
    status, file, _ = energy_transfer.resolve(tmp_path, ET_QUERY.format(day="03%2F08%2F2026", cycle=4))
    assert status == 200
    assert file.name == "TW_Intraday2_03-08-2026.csv"


@pytest.mark.parametrize("code", ["2", "6", "8", "99", ""])
def test_energy_transfer_answers_an_unknown_code_with_the_default_timely_file(tmp_path, code):
    (_cycle_dir(tmp_path, date(2026, 3, 8), "Timely") / "TW_Timely_03-08-2026.csv").write_text("Loc\n1\n")
    (_cycle_dir(tmp_path, date(2026, 3, 8), "Intraday_1") / "TW_Intraday1_03-08-2026.csv").write_text("Loc\n1\n")
    status, file, _ = energy_transfer.resolve(tmp_path, ET_QUERY.format(day="03%2F08%2F2026", cycle=code))
    assert (status, file.name) == (200, "TW_Timely_03-08-2026.csv")


def test_energy_transfer_codes_are_the_evidenced_ones():
    assert energy_transfer.CYCLE_CODES == {
        "0": "Timely",
        "1": "Evening",
        "3": "Intraday_1",
        "4": "Intraday_2",
        "7": "Intraday_3",
        "5": "Final",
    }


def test_energy_transfer_throttle_counts_down(tmp_path):
    (tmp_path / "throttle").write_text("429 2 7")
    assert energy_transfer.take_throttle(tmp_path) == (429, "7")
    assert energy_transfer.take_throttle(tmp_path) == (429, "7")
    assert energy_transfer.take_throttle(tmp_path) is None


def test_energy_transfer_unpublished_cycle_is_an_empty_200(tmp_path):
    status, file, reason = energy_transfer.resolve(tmp_path, ET_QUERY.format(day="03%2F08%2F2026", cycle=1))
    assert (status, file, reason) == (200, None, "not published")


def test_energy_transfer_status_override_and_bad_date(tmp_path):
    folder = _cycle_dir(tmp_path, date(2026, 3, 8), "Intraday_1")
    (folder / "status").write_text("503\n")
    assert energy_transfer.resolve(tmp_path, ET_QUERY.format(day="03%2F08%2F2026", cycle=3))[0] == 503
    assert energy_transfer.resolve(tmp_path, ET_QUERY.format(day="2026-03-08", cycle=3))[0] == 400


def test_energy_transfer_refuses_paths_outside_its_data(tmp_path):
    status, file, _ = energy_transfer.resolve(tmp_path, "/ipost/../../etc?gasDay=03%2F08%2F2026&cycle=1")
    assert status == 404 and file is None


@pytest.fixture
def fake_state(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVSTACK_HOME", str(tmp_path))
    keys = tmp_path / "sftp"
    keys.mkdir()
    (keys / "host_key.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample comment\n")
    (tmp_path / "hasura").mkdir()
    (tmp_path / "hasura" / "admin_secret").write_text("not-a-real-admin-secret\n")
    (tmp_path / "smb").mkdir()
    (tmp_path / "smb" / "password").write_text("not-a-real-smb-password\n")
    record = {"pid": 1, "log": "x", "managed": True}
    return {
        "services": {
            "postgres": {**record, "port": 5999, "host": "127.0.0.1", "user": "postgres", "password": ""},
            "moto": {**record, "port": 6001},
            "sftp": {**record, "port": 6002},
            "energy_transfer": {**record, "port": 6003},
            "smtp": {**record, "port": 6004},
            "hasura": {**record, "port": 6005},
            "smb": {**record, "port": 6006},
        },
        "airflow_ports": {"api": 6100, "worker_log": 6101, "trigger_log": 6102},
        "secrets": {"jwt": "not-a-real-secret"},
    }


def test_env_defines_every_bundle_connection(fake_state):
    env = stack.environment(fake_state)
    defined = {key.removeprefix("AIRFLOW_CONN_").lower() for key in env if key.startswith("AIRFLOW_CONN_")}
    assert defined == set(BUNDLE_CONNECTIONS)


def test_env_connections_keep_host_key_checking_and_plain_smtp(fake_state):
    env = stack.environment(fake_state)
    sftp = json.loads(env["AIRFLOW_CONN_DPS_SFTP"])
    assert sftp["extra"]["host_key"] == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"
    assert "no_host_key_check" not in sftp["extra"]
    smtp = json.loads(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    # Real booleans: the provider reads these with bool(), so "false" would count as true.
    assert smtp["extra"]["disable_ssl"] is True and smtp["extra"]["disable_tls"] is True
    aws = json.loads(env["AIRFLOW_CONN_INVOICE_AWS"])
    assert aws["extra"]["endpoint_url"] == "http://127.0.0.1:6001"
    hasura = json.loads(env["AIRFLOW_CONN_MOPED_HASURA"])
    # The admin secret travels as a header built from the password; a login would add basic auth.
    assert hasura["password"] == "not-a-real-admin-secret" and "login" not in hasura
    share = json.loads(env["AIRFLOW_CONN_NETWORK_SHARE"])
    # The samba provider's fields: share name in schema, port in the port field, NTLM as the originals.
    assert (share["conn_type"], share["port"], share["schema"]) == ("samba", 6006, "SHARE")
    assert share["password"] == "not-a-real-smb-password" and share["extra"]["auth_protocol"] == "ntlm"


def test_env_sets_local_airflow(fake_state):
    env = stack.environment(fake_state)
    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "America/Chicago"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 4
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@127.0.0.1:5999/etl_airflow")


def test_env_file_is_sourceable_and_private(fake_state, tmp_path):
    import subprocess

    path = stack.write_env(fake_state)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    out = subprocess.run(
        ["bash", "-c", f'source {path} && printf %s "$AIRFLOW_CONN_DPS_SFTP"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["login"] == "dps"


def test_the_demo_runs_the_connections_check_first_and_receive_after_send():
    from devstack import demo

    order = demo.dag_ids()
    assert order[0] == demo.FIRST
    assert order.index("dfps_dps_receive") > order.index("dfps_dps_send")
    assert order.index("dfps_dps_receive_yearly") > order.index("dfps_dps_send_yearly")
    assert set(order) == {p.stem for p in (demo.paths.PROJECT_ROOT / "dags").glob("*.py")}


def test_no_impacket_example_script_shadows_a_package_for_airflow_commands():
    import sys
    from pathlib import Path

    from devstack.install import drop_impacket_scripts

    drop_impacket_scripts()  # what make does after installing
    assert not (Path(sys.executable).parent / "smbclient.py").exists()
