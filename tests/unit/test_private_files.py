"""Owner-only files: created 0600, an existing one made so when rewritten."""

from __future__ import annotations

import stat

from etl_bundle.common.private_files import open_private


def test_an_existing_file_is_made_owner_only_when_rewritten(tmp_path):
    path = tmp_path / "children.txt"
    path.write_text("old")
    path.chmod(0o644)
    with open_private(path, "w", encoding="ascii") as out:
        out.write("new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
