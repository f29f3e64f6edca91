"""A verified SFTP upload, for any DAG that hands a file to a partner's server.

The file goes up under an owner-only ``.part`` name (mode 0600 sent in the OPEN itself),
is verified by reading it back (size and SHA-256; size alone on a server that refuses
reads), gets its mode, and is renamed into place atomically where the server offers
``posix-rename@openssh.com``. With ``resume``, a remote file already verified as this
one is not uploaded again: a retry never uploads twice.

Cheap to import (only ``airflow.sdk``): paramiko and the SFTP provider are imported
when a file is uploaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from etl_bundle.common.checksum import sha256_of, sha256_stream
from etl_bundle.operators.base import BundleOperator

log = logging.getLogger(__name__)

PARTIAL_MODE = 0o600  # the .part file on the server, from its creation


def _create_owner_only(sftp, path: str):
    """``path`` created new on the server with mode 0600 sent in the OPEN itself, so no other
    account can read it at any moment of the upload (a chmod afterwards leaves a window).

    paramiko's ``open`` sends no attributes, hence its request made here as ``open`` makes it.
    """
    from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE, SFTPError
    from paramiko.sftp_attr import SFTPAttributes
    from paramiko.sftp_file import SFTPFile

    attributes = SFTPAttributes()
    attributes.st_mode = PARTIAL_MODE
    kind, message = sftp._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL, attributes)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(sftp, message.get_binary(), "wb", -1)


def _put_owner_only(sftp, local: Path, partial: str) -> None:
    """``local`` written to ``partial``, a new owner-only file (a leftover of an earlier attempt removed first)."""
    try:
        sftp.remove(partial)
    except FileNotFoundError:
        pass
    with open(local, "rb") as source, _create_owner_only(sftp, partial) as target:
        target.set_pipelined(True)
        while chunk := source.read(32768):
            target.write(chunk)


def _server_refuses(err: OSError) -> bool:
    """An SFTP status the server answers for a request it does not offer (paramiko gives no errno)."""
    return err.errno is None and "unsupported" in str(err).lower()


def _rename_into_place(sftp, partial: str, remote: str) -> str:
    """``partial`` renamed to ``remote`` atomically (posix-rename@openssh.com replaces an earlier
    file in one step); on a server without it, a plain rename, which refuses an existing
    target (SFTP's own rule), so the earlier file is removed first, as said in the log."""
    try:
        sftp.posix_rename(partial, remote)
        return "posix-rename"
    except OSError as err:
        if not _server_refuses(err):
            raise
        log.warning("%s: the server does not offer posix-rename (%s): a plain rename", remote, err)
    try:
        sftp.stat(remote)
    except FileNotFoundError:
        pass
    else:
        log.warning("%s: removing the earlier file first: the partner sees no file for a moment", remote)
        sftp.remove(remote)
    sftp.rename(partial, remote)
    return "rename"


def _read_back(sftp, path: str, expected_sha: str) -> tuple[str, str]:
    """(sha256 read back, how it was verified); a server that refuses reads: size only."""
    try:
        with sftp.open(path, "rb") as uploaded:
            return sha256_stream(uploaded)[0], "size and sha256 read back"
    except PermissionError as err:
        log.info("%s: the server refuses reads (%s): verified by size only", path, err)
        return expected_sha, "size only (the server refuses reads)"


def _in_place(sftp, remote: str, expected_size: int, expected_sha: str) -> str | None:
    """How ``remote`` was found to be the file already (an earlier attempt's upload), or None."""
    try:
        size = sftp.stat(remote).st_size
    except FileNotFoundError:
        return None
    if size != expected_size:
        return None
    read_back_sha, verified_by = _read_back(sftp, remote, expected_sha)
    return verified_by if read_back_sha == expected_sha else None


def upload_verified(
    sftp_conn_id: str,
    local: Path,
    remote_dir: str,
    *,
    mode: int | None = None,
    resume: bool = False,
    server_name: str = "the server",
) -> dict[str, Any]:
    """Upload under a temporary owner-only name, verify it, set its mode, rename it into place.

    Verified by reading it back (size and SHA-256), or by its size alone on a server
    that refuses reads (an upload-only drop box), as the log says. ``mode`` is set just
    before the rename (a server that refuses it is logged, not fatal: the file keeps
    what the server gave it). With ``resume`` (an earlier attempt of this exchange
    may have uploaded it), a remote file already verified as this one is not uploaded again.
    ``server_name`` names the server in the log ("the DPS server").
    """
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    remote = f"{remote_dir.rstrip('/')}/{local.name}"
    partial = f"{remote}.part"
    expected_size, expected_sha = local.stat().st_size, sha256_of(local)
    result = {"remote_path": remote, "size_bytes": expected_size, "sha256": expected_sha}
    hook = SFTPHook(ssh_conn_id=sftp_conn_id)
    with hook.get_managed_conn() as sftp:
        found = _in_place(sftp, remote, expected_size, expected_sha) if resume else None
        if found:
            log.info("%s is on %s already (%s): an earlier attempt uploaded it; not again", remote, server_name, found)
            return result | {"verified_by": found, "uploaded": False, "renamed_by": None}
        _put_owner_only(sftp, local, partial)
        read_back_sha, verified_by = _read_back(sftp, partial, expected_sha)
        size = sftp.stat(partial).st_size
        if size != expected_size or read_back_sha != expected_sha:
            sftp.remove(partial)
            raise RuntimeError(
                f"{remote} read back as {size} bytes sha256 {read_back_sha}, "
                f"expected {expected_size} bytes sha256 {expected_sha}; removed, to be sent again"
            )
        if mode is not None:
            try:
                sftp.chmod(partial, mode)
            except PermissionError as err:
                log.warning(
                    "%s: the server refuses to set mode %04o (%s); it keeps the server's default", remote, mode, err
                )
        renamed_by = _rename_into_place(sftp, partial, remote)
    log.info(
        "uploaded %s to %s: %d bytes, sha256 %s (verified by %s, %s)",
        remote,
        server_name,
        expected_size,
        expected_sha,
        verified_by,
        renamed_by,
    )
    return result | {"verified_by": verified_by, "uploaded": True, "renamed_by": renamed_by}


class SFTPVerifiedUploadOperator(BundleOperator):
    """Uploads a local file to an SFTP server, verified, renamed into place atomically.

    The file goes up as an owner-only ``.part``, is read back (size and SHA-256; size only
    where the server refuses reads), gets ``mode`` and is renamed into place. A retry
    (or ``resume=True``) first checks the server: a file already there with the same size
    and checksum is not uploaded again. Returns the remote path, size, sha256 and how it
    was verified (no content). Timeout: 15 minutes unless given, so a hung transfer fails and
    its retry resumes.
    """

    template_fields: Sequence[str] = ("local_path", "remote_dir")
    ui_color: ClassVar[str] = "#e8f0fe"

    def __init__(
        self,
        *,
        sftp_conn_id: str,
        local_path: str,
        remote_dir: str,
        mode: int | None = None,
        resume: bool | None = None,
        execution_timeout: timedelta | None = timedelta(minutes=15),
        **kwargs: Any,
    ) -> None:
        super().__init__(execution_timeout=execution_timeout, **kwargs)
        self.sftp_conn_id = sftp_conn_id
        self.local_path = local_path
        self.remote_dir = remote_dir
        self.mode = mode
        self.resume = resume

    def execute(self, context: Any) -> dict[str, Any]:
        # None: resume on a retry only, so a first attempt always sends its file.
        resume = self.resume if self.resume is not None else context["ti"].try_number > 1
        return upload_verified(self.sftp_conn_id, Path(self.local_path), self.remote_dir, mode=self.mode, resume=resume)
