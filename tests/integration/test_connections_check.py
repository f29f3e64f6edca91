"""bundle_connections_check end to end against the devstack, and the failure alert it sends."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_connections_check_succeeds_on_every_connection(bundle_dags):
    from etl_bundle.common.connections import BUNDLE_CONNECTIONS

    dag = bundle_dags["bundle_connections_check"]
    run = dag.test()
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {f"check_{conn_id}": "success" for conn_id in BUNDLE_CONNECTIONS}


def test_a_dead_connection_fails_its_task_and_emails_the_alert(bundle_dags, monkeypatch, maildir):
    from devstack import net

    closed = net.free_port()
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENERGY_TRANSFER",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": closed, "schema": "http"}),
    )
    seen = set(maildir.keys())
    dag = bundle_dags["bundle_connections_check"].partial_subset(["check_energy_transfer"], include_upstream=False)
    run = dag.test()
    assert run.state == "failed"
    [ti] = run.get_task_instances()
    assert (ti.task_id, ti.state) == ("check_energy_transfer", "failed")
    new = [maildir[key] for key in set(maildir.keys()) - seen]
    alerts = [m for m in new if "check_energy_transfer" in m["Subject"]]
    assert len(alerts) == 1, [m["Subject"] for m in new]
    assert alerts[0]["To"] == "data-engineering-alerts@example.org"
    assert "bundle_connections_check" in alerts[0]["Subject"]


def test_the_share_check_writes_lists_and_removes_over_smb(devstack_state):
    from devstack import paths
    from etl_bundle.common.connections import check_connection

    result = check_connection("network_share")
    assert result["conn_type"] == "samba" and result["detail"].startswith("share writable")
    assert not list(paths.share_dir().glob(".connection-check*"))
