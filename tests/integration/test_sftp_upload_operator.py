"""The generic verified SFTP upload operator, in a small DAG run by ``dag.test()`` on the devstack's SFTP server."""

from __future__ import annotations

import hashlib
import stat

import pendulum
import pytest

from devstack import paths
from tests.integration.conftest import task_states, xcom_value

pytestmark = pytest.mark.integration

REMOTE_DIR = "to_dps"


def upload_dag(dag_id: str, local, **options):
    from airflow.sdk import DAG

    from etl_bundle.operators.sftp import SFTPVerifiedUploadOperator

    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        SFTPVerifiedUploadOperator(
            task_id="upload",
            sftp_conn_id="dps_sftp",
            local_path="{{ params.local }}",
            remote_dir=REMOTE_DIR,
            params={"local": str(local)},
            **options,
        )
    # dag.test() runs a DAG the metadata database knows: this one is stored as the dag-processor would.
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=str(local.parent), bundle_path=local.parent, bundle_name="dags-folder")
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag


def test_a_file_is_uploaded_verified_and_not_again_when_resuming(devstack_state, tmp_path):
    local = tmp_path / "sftp_operator_probe.txt"
    local.write_bytes(b"line one\nline two\n" * 500)
    expected = hashlib.sha256(local.read_bytes()).hexdigest()
    remote = paths.sftp_root() / REMOTE_DIR / local.name
    remote.unlink(missing_ok=True)

    dag = upload_dag("sftp_upload_probe", local, mode=0o640)
    run = dag.test()
    assert run.state == "success", task_states(run)
    result = xcom_value(run, dag.dag_id, "upload")
    assert result["uploaded"] and result["sha256"] == expected and result["remote_path"] == f"{REMOTE_DIR}/{local.name}"
    assert result["verified_by"] == "size and sha256 read back" and result["renamed_by"] == "posix-rename"
    assert hashlib.sha256(remote.read_bytes()).hexdigest() == expected
    assert stat.S_IMODE(remote.stat().st_mode) == 0o640
    assert not (remote.parent / f"{local.name}.part").exists()
    first = remote.stat()

    # Resuming (what a retry does): the verified file on the server is not uploaded again.
    dag = upload_dag("sftp_upload_probe_resume", local, resume=True)
    run = dag.test()
    result = xcom_value(run, dag.dag_id, "upload")
    assert result["uploaded"] is False and result["renamed_by"] is None
    assert (remote.stat().st_ino, remote.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)

    # Other content under that name is uploaded, even when resuming.
    local.write_bytes(b"other\n")
    run = upload_dag("sftp_upload_probe_changed", local, resume=True).test()
    assert xcom_value(run, "sftp_upload_probe_changed", "upload")["uploaded"] is True
    assert remote.read_bytes() == b"other\n"
    remote.unlink()
