"""The share layer's pure parts: stamped names, paths on the share, temporary names."""

from __future__ import annotations

import pytest

from devstack.smb_server import (
    FILE_CREATE,
    FILE_CREATED,
    FILE_OPEN,
    FILE_OPEN_IF,
    FILE_OPENED,
    FILE_OVERWRITE_IF,
    FILE_OVERWRITTEN,
    create_action,
)
from etl_bundle.common.share import PARTIAL_SUFFIX, partial_name, share_path, stamped_name


@pytest.mark.parametrize(
    ("name", "stamped"),
    [
        # The original's _add_period_and_timestamp_to_filename: the period is already in the stem.
        ("ReferenceData_FY2025_doublebarrel.xlsx", "ReferenceData_FY2025_doublebarrel_20250920_101500.xlsx"),
        ("Children_in_care_FY2025.txt", "Children_in_care_FY2025_20250920_101500.txt"),
        ("noext", "noext_20250920_101500"),
        ("archive.tar.gz", "archive.tar_20250920_101500.gz"),
    ],
)
def test_stamped_name_puts_the_stamp_before_the_extension(name, stamped):
    assert stamped_name(name, "20250920_101500") == stamped


@pytest.mark.parametrize("bad", ["", "dir/file.txt"])
def test_stamped_name_refuses_what_is_not_a_plain_file_name(bad):
    with pytest.raises(ValueError):
        stamped_name(bad, "20250920_101500")


@pytest.mark.parametrize(
    ("parts", "joined"),
    [
        (("dfps_dps/to_dps", "a.txt"), "dfps_dps/to_dps/a.txt"),
        (("/dfps_dps/", "/to_cps/", "a.txt"), "dfps_dps/to_cps/a.txt"),
        (("CPS\\CPS_Research_Evaluation\\2 CVS", "x.txt"), "CPS/CPS_Research_Evaluation/2 CVS/x.txt"),
        (("./a//b", ""), "a/b"),
        (("",), ""),
    ],
)
def test_share_path_joins_relative_parts(parts, joined):
    assert share_path(*parts) == joined


def test_share_path_refuses_to_climb_out_of_the_share():
    with pytest.raises(ValueError, match=r"'\.\.'"):
        share_path("dfps_dps", "../etc/passwd")


def test_partial_names_are_unique_and_no_reader_pattern_takes_them():
    first, second = partial_name("a.xlsx"), partial_name("a.xlsx")
    assert first != second and first.startswith("a.xlsx.") and first.endswith(PARTIAL_SUFFIX)
    assert not first.endswith(".xlsx")


@pytest.mark.parametrize(
    ("disposition", "existed", "action"),
    [
        (FILE_OPEN, True, FILE_OPENED),
        (FILE_CREATE, False, FILE_CREATED),
        (FILE_OPEN_IF, True, FILE_OPENED),
        (FILE_OPEN_IF, False, FILE_CREATED),
        (FILE_OVERWRITE_IF, True, FILE_OVERWRITTEN),
        (FILE_OVERWRITE_IF, False, FILE_CREATED),
    ],
)
def test_the_stand_in_answers_what_a_create_did_as_windows_does(disposition, existed, action):
    assert create_action(disposition, existed) == action


def test_deliver_file_writes_verifies_and_never_repeats_a_delivery(tmp_path):
    from etl_bundle.common.share import FolderShare
    from etl_bundle.operators.share import deliver_file

    share = FolderShare("mounted", tmp_path / "root")
    (tmp_path / "root").mkdir()
    local = tmp_path / "a.xlsx"
    local.write_bytes(b"first")
    written = deliver_file(share, local, "out", "a_1.xlsx")
    target = tmp_path / "root" / written
    assert written == "out/a_1.xlsx" and target.read_bytes() == b"first"
    before = target.stat().st_mtime_ns
    assert deliver_file(share, local, "out", "a_1.xlsx") == written  # a retry: the same content stays
    assert target.stat().st_mtime_ns == before
    local.write_bytes(b"other")  # other content (same size) replaces it
    deliver_file(share, local, "out", "a_1.xlsx")
    assert target.read_bytes() == b"other" and sorted(p.name for p in target.parent.iterdir()) == ["a_1.xlsx"]
