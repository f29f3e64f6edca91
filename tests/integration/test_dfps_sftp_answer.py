"""DPS's answer on a real SFTP server: a file still being written is not taken, and a
transfer cut off mid-way leaves nothing behind and the server untouched (the task retries)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack import paths
from etl_bundle.common.fiscal import FiscalPeriod
from etl_bundle.dfps.answer_files import RemoteFile
from tests.integration.conftest import second_sftp_server

pytestmark = pytest.mark.integration

PERIOD = FiscalPeriod.parse("FY2026_Q3")
FOLDER = "to_dfps"
HEADER = "CPS NAME:CPS DOB:LAST CONT:STS"


@pytest.fixture
def answer_folder(devstack_state):
    folder = paths.sftp_root() / FOLDER
    for old in folder.glob(f"*{PERIOD.label}*"):
        old.unlink()
    yield folder
    for old in folder.glob(f"*{PERIOD.label}*"):
        old.unlink()


@pytest.fixture
def doomed_sftp(monkeypatch, devstack_state):
    """A second SFTP server on the same folders, as connection ``dps_sftp_doomed``, for the test to kill."""
    with second_sftp_server(monkeypatch, "dps_sftp_doomed") as server:
        yield server


def test_a_results_file_still_growing_is_not_taken_until_it_holds_still(answer_folder):
    from etl_bundle.dfps.receive import check_answer

    results = answer_folder / f"dfps-missing-person-results_{PERIOD.label}.txt"
    results.write_text(HEADER + "\n")

    def dps_still_writing():
        for n in range(30):
            with open(results, "a") as out:
                out.write(f"ROW,{n}:01/02/2012:03/04/2026:LOC:\n")
            time.sleep(0.1)

    writer = threading.Thread(target=dps_still_writing)
    writer.start()
    try:
        now = datetime.now(UTC)
        growing = check_answer(
            "dps_sftp",
            FOLDER,
            PERIOD,
            warehouse_conn_id="warehouse_postgres",
            settle_seconds=1,
            counts_grace=timedelta(0),
            now=now,
        )
    finally:
        writer.join()
    assert not growing.ready and "still being written" in growing.reason

    settled = check_answer(
        "dps_sftp",
        FOLDER,
        PERIOD,
        warehouse_conn_id="warehouse_postgres",
        settle_seconds=0.5,
        counts_grace=timedelta(0),
        now=datetime.now(UTC),
    )
    assert settled.ready and settled.results.size == results.stat().st_size and settled.counts is None


def test_a_transfer_cut_off_midway_leaves_no_copy_and_the_server_file_in_place(answer_folder, doomed_sftp, tmp_path):
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from etl_bundle.dfps.receive import download_verified

    results = answer_folder / f"dfps-missing-person-results_{PERIOD.label}.txt"
    with open(results, "wb") as out:
        out.write(os.urandom(48 << 20))  # big enough to be mid-transfer when the server dies
    expected = RemoteFile(results.name, results.stat().st_size, int(results.stat().st_mtime))
    local = tmp_path / "results.txt"
    partial = Path(str(local) + ".part")

    def kill_once_bytes_arrive():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 0):
            time.sleep(0.01)
        doomed_sftp.kill()

    killer = threading.Thread(target=kill_once_bytes_arrive)
    killer.start()
    try:
        with pytest.raises(ConnectionError, match="download interrupted.*nothing removed from the server"):
            with SFTPHook(ssh_conn_id="dps_sftp_doomed").get_managed_conn() as sftp:
                download_verified(sftp, f"{FOLDER}/{results.name}", local, expected)
    finally:
        killer.join()
    assert not local.exists() and not partial.exists()
    assert results.stat().st_size == expected.size  # untouched on the server

    # The retry (here: the devstack's own server) gets the whole file, checked.
    with SFTPHook(ssh_conn_id="dps_sftp").get_managed_conn() as sftp:
        checked = download_verified(sftp, f"{FOLDER}/{results.name}", local, expected)
    assert (
        checked["sha256"]
        == hashlib.sha256(results.read_bytes()).hexdigest()
        == hashlib.sha256(local.read_bytes()).hexdigest()
    )
