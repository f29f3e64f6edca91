"""Owner-only files: created 0600, copies included, stamped copies named after their source."""

from __future__ import annotations

import stat

from etl_bundle.common.private_files import copy_stamped, open_private


def test_stamped_copies_are_owner_only_and_keep_stem_and_suffix(tmp_path):
    source = tmp_path / "IMPACT_not_in_DPS_FY2025_Q2.xlsx"
    source.write_bytes(b"payload")
    source.chmod(0o644)
    copies = copy_stamped([source], tmp_path / "share" / "to_cps", "20261129T101654")
    assert [c.name for c in copies] == ["IMPACT_not_in_DPS_FY2025_Q2_20261129T101654.xlsx"]
    assert copies[0].read_bytes() == b"payload"
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600


def test_an_existing_file_is_made_owner_only_when_rewritten(tmp_path):
    path = tmp_path / "children.txt"
    path.write_text("old")
    path.chmod(0o644)
    with open_private(path, "w", encoding="ascii") as out:
        out.write("new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
