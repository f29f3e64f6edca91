"""The network share where pipelines deliver files for people, over SMB or a mounted folder.

The connection's type chooses how (the README's connections table):

- ``samba``: a Windows/SMB share through the samba provider's ``SambaHook`` (smbprotocol,
  NTLM by default as the originals' pysmb): host, port (445 by default), login,
  password, the share's name in ``schema``; extras ``auth_protocol``, ``share_type``.
  A worker needs nothing mounted.
- ``fs``: a folder every worker has mounted, extra ``path``; optional extra
  ``file_mode`` (octal, e.g. ``0640``) for delivered files, else the mount's default.

Paths on the share are relative, with ``/`` between folders, on both types. Every
write is atomic for readers (a temporary name, the size read back, then a rename onto
the final name) and ``private`` files are owner-only on a folder; on SMB privacy is the
share's ACL on the archive folder, which the share's owners set.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_FOLDER = 0o700
PARTIAL_SUFFIX = ".part"


def stamped_name(name: str, stamp: str) -> str:
    """``{stem}_{stamp}{ext}``, as the originals named what they put on the share."""
    path = PurePosixPath(name)
    if not stamp or path.name != name or not path.stem:
        raise ValueError(f"cannot stamp {name!r} with {stamp!r}: a plain file name and a stamp are needed")
    return f"{path.stem}_{stamp}{path.suffix}"


def share_path(*parts: str) -> str:
    """The parts joined into one relative path on the share (``a/b/c``), refusing ``..`` and roots.

    Backslashes count as separators too, so a Windows-style folder from configuration
    joins the same way.
    """
    pieces: list[str] = []
    for part in parts:
        for piece in str(part).replace("\\", "/").split("/"):
            if piece in ("", "."):
                continue
            if piece == "..":
                raise ValueError(f"{'/'.join(parts)!r}: '..' is not allowed in a path on the share")
            pieces.append(piece)
    return "/".join(pieces)


def partial_name(name: str) -> str:
    """A temporary name beside ``name``, unique per write, that no reader's pattern takes for the file."""
    return f"{name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"


@dataclass(frozen=True)
class ShareEntry:
    name: str
    path: str  # relative to the share's root
    size: int
    mtime: float
    is_dir: bool


class Share:
    """What callers do on the share; ``open_share`` picks the implementation."""

    conn_id: str

    def put(self, local: Path, folder: str, name: str | None = None, *, private: bool = False) -> str:
        """``local`` into ``folder`` (made if missing) as ``name``; the path on the share."""
        name = name or local.name
        folder = share_path(folder)
        self.make_folders(folder, private=private)
        final = share_path(folder, name)
        temporary = share_path(folder, partial_name(name))
        expected = local.stat().st_size
        try:
            self._write_new(local, temporary, private=private)
            size = self._size(temporary)
            if size != expected:
                raise OSError(f"{temporary} read back as {size} bytes, expected {expected}")
            self._replace(temporary, final)
        except BaseException:
            self._discard(temporary)
            raise
        log.info("%s: wrote %s (%d bytes, verified by size%s)", self.conn_id, final, expected, ", private" * private)
        return final

    def read_bytes(self, path: str) -> bytes:
        raise NotImplementedError

    def read_text(self, path: str, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes(path).decode(encoding, errors)

    def download(self, path: str, local: Path) -> Path:
        """A local owner-only copy of ``path`` (for readers that need a file, such as openpyxl)."""
        from etl_bundle.common.private_files import open_private

        with open_private(local) as out:
            out.write(self.read_bytes(path))
        return local

    def list(self, folder: str) -> list[ShareEntry]:
        """The folder's entries (no temporary files), or [] when the folder does not exist."""
        raise NotImplementedError

    def files_under(self, folder: str) -> Iterator[ShareEntry]:
        """Every file below ``folder``, sub-folders included."""
        for entry in self.list(folder):
            if entry.is_dir:
                yield from self.files_under(entry.path)
            else:
                yield entry

    def make_folders(self, folder: str, *, private: bool = False) -> None:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def remove_folder(self, folder: str) -> None:
        """``folder`` and everything below it."""
        for entry in self.list(folder):
            if entry.is_dir:
                self.remove_folder(entry.path)
            else:
                self.remove(entry.path)
        self._remove_empty_folder(share_path(folder))

    def _remove_empty_folder(self, folder: str) -> None:
        raise NotImplementedError

    def location(self, folder: str = "") -> str:
        """Where people find ``folder``: a UNC path on SMB, the mounted path otherwise."""
        raise NotImplementedError

    def _write_new(self, local: Path, path: str, *, private: bool) -> None:
        raise NotImplementedError

    def _size(self, path: str) -> int:
        raise NotImplementedError

    def _replace(self, source: str, target: str) -> None:
        raise NotImplementedError

    def _discard(self, path: str) -> None:
        try:
            self.remove(path)
        except FileNotFoundError:
            pass
        except Exception as err:  # noqa: BLE001 - the first error is the one to raise
            log.warning("%s: could not remove the temporary %s: %s", self.conn_id, path, err)


def _visible(name: str) -> bool:
    return not name.endswith(PARTIAL_SUFFIX)


class FolderShare(Share):
    """A mounted folder (``fs`` connection)."""

    def __init__(self, conn_id: str, root: Path, file_mode: int | None = None):
        self.conn_id, self.root, self.file_mode = conn_id, root, file_mode

    def _local(self, path: str) -> Path:
        return self.root / share_path(path) if share_path(path) else self.root

    def read_bytes(self, path: str) -> bytes:
        return self._local(path).read_bytes()

    def list(self, folder: str) -> list[ShareEntry]:
        local = self._local(folder)
        if not local.is_dir():
            return []
        entries = []
        for child in sorted(local.iterdir()):
            if _visible(child.name):
                info = child.stat()
                entries.append(
                    ShareEntry(child.name, share_path(folder, child.name), info.st_size, info.st_mtime, child.is_dir())
                )
        return entries

    def make_folders(self, folder: str, *, private: bool = False) -> None:
        current = self.root
        for piece in share_path(folder).split("/") if share_path(folder) else []:
            current = current / piece
            try:
                current.mkdir(mode=OWNER_ONLY_FOLDER if private else 0o777)
            except FileExistsError:
                continue
            if private:
                current.chmod(OWNER_ONLY_FOLDER)  # mkdir's mode passes through the umask

    def remove(self, path: str) -> None:
        self._local(path).unlink()

    def _remove_empty_folder(self, folder: str) -> None:
        self._local(folder).rmdir()

    def location(self, folder: str = "") -> str:
        return str(self._local(folder))

    def _write_new(self, local: Path, path: str, *, private: bool) -> None:
        import shutil

        mode = OWNER_ONLY_FILE if private else 0o666
        descriptor = os.open(self._local(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        if private or self.file_mode is not None:
            os.fchmod(descriptor, OWNER_ONLY_FILE if private else self.file_mode)
        with os.fdopen(descriptor, "wb") as out, open(local, "rb") as data:
            shutil.copyfileobj(data, out)
            out.flush()
            os.fsync(out.fileno())

    def _size(self, path: str) -> int:
        return self._local(path).stat().st_size

    def _replace(self, source: str, target: str) -> None:
        os.replace(self._local(source), self._local(target))


@contextmanager
def builtin_errors() -> Iterator[None]:
    """smbclient's errors as the builtin ``OSError`` subclasses of their errno (FileNotFoundError, ...).

    smbclient raises ``SMBOSError`` with errno set but not of those classes.
    """
    from smbprotocol.exceptions import SMBOSError

    try:
        yield
    except SMBOSError as err:
        if not err.errno:
            raise
        raise OSError(err.errno, err.strerror, err.filename) from err


class SmbShare(Share):
    """An SMB share through ``SambaHook`` (``samba`` connection), inside the hook's session."""

    def __init__(self, conn_id: str, hook, host: str, share: str):
        self.conn_id, self.hook, self.host, self.share = conn_id, hook, host, share

    def read_bytes(self, path: str) -> bytes:
        with builtin_errors(), self.hook.open_file(share_path(path), mode="rb") as remote:
            return remote.read()

    def list(self, folder: str) -> list[ShareEntry]:
        directory_attribute = 0x10  # FILE_ATTRIBUTE_DIRECTORY
        try:
            # The listing's own sizes and times: an entry's stat() would lose the connection's port.
            with builtin_errors():
                infos = [entry.smb_info for entry in self.hook.scandir(share_path(folder))]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [
            ShareEntry(
                info.file_name,
                share_path(folder, info.file_name),
                info.end_of_file,
                info.last_write_time.timestamp(),
                bool(info.file_attributes & directory_attribute),
            )
            for info in sorted(infos, key=lambda info: info.file_name)
            if _visible(info.file_name)
        ]

    def make_folders(self, folder: str, *, private: bool = False) -> None:
        # One level at a time: a server that answers a missing parent with "access denied"
        # (as some do) would stop the client's makedirs at the first level.
        current = ""
        for piece in share_path(folder).split("/") if share_path(folder) else []:
            current = share_path(current, piece)
            try:
                with builtin_errors():
                    self.hook.mkdir(current)
            except FileExistsError:
                continue

    def remove(self, path: str) -> None:
        with builtin_errors():
            self.hook.remove(share_path(path))

    def _remove_empty_folder(self, folder: str) -> None:
        with builtin_errors():
            self.hook.rmdir(folder)

    def location(self, folder: str = "") -> str:
        return "\\\\" + "\\".join(part for part in [self.host, self.share, *share_path(folder).split("/")] if part)

    def _write_new(self, local: Path, path: str, *, private: bool) -> None:
        import shutil

        # "xb": created, never an existing file overwritten; the share's ACL decides who reads it.
        with builtin_errors(), open(local, "rb") as data, self.hook.open_file(path, mode="xb") as remote:
            shutil.copyfileobj(data, remote)

    def _size(self, path: str) -> int:
        with builtin_errors():
            return self.hook.stat(path).st_size

    def _replace(self, source: str, target: str) -> None:
        with builtin_errors():
            self.hook.replace(source, target)


def file_mode(extra: dict, conn_id: str) -> int | None:
    text = str(extra.get("file_mode") or "").strip()
    if not text:
        return None
    try:
        return int(text, 8)
    except ValueError:
        raise ValueError(f"connection {conn_id!r}: file_mode must be octal such as 0640, not {text!r}") from None


@contextmanager
def open_share(conn_id: str = "network_share") -> Iterator[Share]:
    """The share of connection ``conn_id``, SMB (type ``samba``) or a mounted folder (type ``fs``)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    if conn.conn_type == "samba":
        from airflow.providers.samba.hooks.samba import SambaHook

        if not conn.host or not conn.schema:
            raise ValueError(f"connection {conn_id!r} (samba) needs a host and the share's name in schema")
        # smbprotocol logs every SMB message at INFO: the task log keeps the share layer's own lines.
        for noisy in ("smbprotocol", "smbclient"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        with SambaHook(samba_conn_id=conn_id) as hook:
            yield SmbShare(conn_id, hook, conn.host, conn.schema)
        return
    if conn.conn_type != "fs":
        raise ValueError(f"connection {conn_id!r} has type {conn.conn_type!r}; the share is 'samba' or 'fs'")
    from airflow.providers.standard.hooks.filesystem import FSHook

    extra = conn.extra_dejson
    # The provider's reading of an ``fs`` connection's folder (extra ``path``), as FileSensor reads it.
    path = FSHook(fs_conn_id=conn_id).get_path()
    if not path:
        raise ValueError(f"connection {conn_id!r} has no 'path' in its extra")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"network share {root} (connection {conn_id!r}) is not a directory")
    yield FolderShare(conn_id, root, file_mode(extra, conn_id))
