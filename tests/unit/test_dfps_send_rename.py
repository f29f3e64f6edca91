"""The verified SFTP upload's rename into place (dfps_dps_send's upload to DPS): atomic where the server offers it."""

from __future__ import annotations

import pytest

from etl_bundle.operators.sftp import _rename_into_place


class Server:
    """What an SFTP server answers to the renames (paramiko's errors: no errno for a status)."""

    def __init__(self, *, posix_rename: bool, files: set[str]):
        self.offers_posix_rename = posix_rename
        self.files = set(files)
        self.calls: list[str] = []

    def posix_rename(self, old, new):
        self.calls.append("posix_rename")
        if not self.offers_posix_rename:
            raise OSError("Operation unsupported")
        self.files = (self.files - {old}) | {new}

    def stat(self, path):
        if path not in self.files:
            raise FileNotFoundError(path)

    def remove(self, path):
        self.calls.append("remove")
        self.files.remove(path)

    def rename(self, old, new):
        self.calls.append("rename")
        if new in self.files:
            raise OSError("Failure")  # SFTP's plain rename refuses an existing target
        self.files = (self.files - {old}) | {new}


def test_posix_rename_replaces_the_earlier_file_in_one_step():
    server = Server(posix_rename=True, files={"f.part", "f"})
    assert _rename_into_place(server, "f.part", "f") == "posix-rename"
    assert server.calls == ["posix_rename"] and server.files == {"f"}


@pytest.mark.parametrize("earlier", [True, False])
def test_without_posix_rename_a_plain_rename_after_removing_the_earlier_file(earlier, caplog):
    server = Server(posix_rename=False, files={"f.part"} | ({"f"} if earlier else set()))
    assert _rename_into_place(server, "f.part", "f") == "rename"
    assert server.files == {"f"}
    assert server.calls == ["posix_rename", *(["remove"] if earlier else []), "rename"]
    assert "does not offer posix-rename" in caplog.text


def test_another_failure_of_posix_rename_is_raised_not_worked_around():
    server = Server(posix_rename=True, files=set())  # no .part: the server says no such file
    server.posix_rename = lambda old, new: (_ for _ in ()).throw(FileNotFoundError(2, "No such file"))
    with pytest.raises(FileNotFoundError):
        _rename_into_place(server, "f.part", "f")
