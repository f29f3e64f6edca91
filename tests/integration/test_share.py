"""The share layer against the devstack's SMB stand-in (and a mounted folder): atomic, verified writes."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from devstack import paths
from etl_bundle.common.share import open_share, stamped_name

pytestmark = pytest.mark.integration

FOLDER = "share_test/to_cps"


@pytest.fixture
def smb_share(devstack_state):
    shutil.rmtree(paths.share_dir() / "share_test", ignore_errors=True)
    with open_share("network_share") as share:
        yield share
    shutil.rmtree(paths.share_dir() / "share_test", ignore_errors=True)


@pytest.fixture
def folder_share(tmp_path, monkeypatch):
    root = tmp_path / "mount"
    root.mkdir()
    monkeypatch.setenv(
        "AIRFLOW_CONN_MOUNTED_SHARE", json.dumps({"conn_type": "fs", "extra": {"path": str(root), "file_mode": "0640"}})
    )
    with open_share("mounted_share") as share:
        yield share, root


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_smb_put_lists_reads_and_removes_under_the_stamped_name(smb_share, tmp_path):
    local = tmp_path / "DPS_total_runaway_events_FY2025_Q2.xlsx"
    local.write_bytes(b"x" * 70_000)  # more than one SMB write
    name = stamped_name(local.name, "20250310_091500")
    written = smb_share.put(local, FOLDER, name)
    assert written == f"{FOLDER}/DPS_total_runaway_events_FY2025_Q2_20250310_091500.xlsx"
    [entry] = smb_share.list(FOLDER)
    assert (entry.name, entry.size, entry.is_dir) == (name, 70_000, False)
    assert smb_share.read_bytes(written) == local.read_bytes()
    on_disk = paths.share_dir() / written
    assert on_disk.read_bytes() == local.read_bytes()
    assert stat.S_IMODE(on_disk.stat().st_mode) & 0o044 == 0o044  # the share's default: readable
    assert smb_share.location(FOLDER).endswith("\\SHARE\\share_test\\to_cps")
    assert [e.path for e in smb_share.files_under("share_test")] == [written]
    smb_share.remove(written)
    assert smb_share.list(FOLDER) == [] and smb_share.list("share_test/missing") == []


def test_smb_a_second_put_replaces_the_first(smb_share, tmp_path):
    local = tmp_path / "a.txt"
    local.write_text("first")
    smb_share.put(local, FOLDER)
    local.write_text("second, longer")
    written = smb_share.put(local, FOLDER)
    assert smb_share.read_text(written) == "second, longer"
    assert leftovers(paths.share_dir() / FOLDER) == ["a.txt"]


def interrupt_after(nbytes: int, *, silently: bool = False):
    """A copy that sends ``nbytes`` then fails as a dropped connection would (or stops silently)."""

    def copy(source, target, *args):
        target.write(source.read(nbytes))
        if not silently:
            raise ConnectionResetError("connection dropped mid-transfer")

    return copy


@pytest.mark.parametrize("silently", [False, True], ids=["dropped", "short"])
def test_smb_an_interrupted_write_leaves_the_earlier_file_and_no_partial(smb_share, tmp_path, monkeypatch, silently):
    local = tmp_path / "a.txt"
    local.write_text("the earlier delivery")
    smb_share.put(local, FOLDER)
    local.write_bytes(b"y" * 50_000)
    monkeypatch.setattr(shutil, "copyfileobj", interrupt_after(1000, silently=silently))
    with pytest.raises(OSError, match="connection dropped" if not silently else "read back as 1000 bytes"):
        smb_share.put(local, FOLDER)
    monkeypatch.undo()
    assert leftovers(paths.share_dir() / FOLDER) == ["a.txt"]
    assert smb_share.read_text(f"{FOLDER}/a.txt") == "the earlier delivery"


def test_folder_type_configured_mode_private_archive_and_failed_write(folder_share, tmp_path, monkeypatch):
    share, root = folder_share
    local = tmp_path / "b.xlsx"
    local.write_bytes(b"z" * 5000)
    delivered = root / share.put(local, "dfps_dps/to_cps", stamped_name(local.name, "20251201_080000"))
    assert delivered.name == "b_20251201_080000.xlsx"
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o640  # the connection's file_mode
    archived = root / share.put(local, "dfps_dps/archive/to_cps", private=True)
    assert stat.S_IMODE(archived.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "dfps_dps" / "archive").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "dfps_dps" / "archive" / "to_cps").stat().st_mode) == 0o700

    monkeypatch.setattr(shutil, "copyfileobj", interrupt_after(10))
    with pytest.raises(ConnectionResetError):
        share.put(local, "dfps_dps/to_cps", "fresh.xlsx")
    monkeypatch.undo()
    assert leftovers(root / "dfps_dps" / "to_cps") == ["b_20251201_080000.xlsx"]


def test_the_delivery_operator_publishes_stamped_verified_copies_once(smb_share, tmp_path):
    import pendulum
    from airflow.sdk import DAG

    from etl_bundle.operators.share import NetworkShareDeliveryOperator

    local = tmp_path / "report.xlsx"
    local.write_bytes(b"r" * 40_000)
    source = smb_share.put(local, "share_test/archive", private=True)
    with DAG("share_delivery_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        deliver = NetworkShareDeliveryOperator(
            task_id="deliver", sources=[source], folder=FOLDER, stamp="{{ logical_date.strftime('%Y%m%d') }}"
        )

    # Airflow 3.3's dag.test() runs only DAGs of a bundle: the fields are rendered by Airflow and
    # execute runs as a task's try would (twice: a retry).
    def one_try():
        context = {"dag": dag, "params": {}, "logical_date": pendulum.datetime(2026, 3, 2, tz="UTC")}
        deliver.render_template_fields(context, dag.get_template_env())
        return deliver.execute(context)

    assert one_try() == [f"{FOLDER}/report_20260302.xlsx"]
    delivered = paths.share_dir() / FOLDER / "report_20260302.xlsx"
    assert delivered.read_bytes() == local.read_bytes()
    first_mtime = delivered.stat().st_mtime_ns
    # A retry finds the same content there: nothing is written again.
    assert one_try() == [f"{FOLDER}/report_20260302.xlsx"]
    assert delivered.stat().st_mtime_ns == first_mtime
    assert leftovers(paths.share_dir() / FOLDER) == ["report_20260302.xlsx"]
