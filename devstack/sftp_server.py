"""A real SFTP server for the DPS stand-in: asyncssh, key auth only, chrooted.

``--upload-only`` plays a drop box as some partners run them: files can be written,
listed, stat'ed and renamed, but not read back, and their attributes not changed.

``--cut-after-bytes N`` plays a connection dropped mid-transfer: once the server has
taken N bytes of file writes, it writes what fits and aborts that client's
connection, once (the next connection is served normally), so a retry can complete.
``--stall-after-bytes N`` instead never answers that write: a transfer hanging
mid-way, for a test to kill the client there.

As OpenSSH's sftp-server (and asyncssh's defaults, kept here): a plain RENAME refuses
an existing target; the ``posix-rename@openssh.com`` extension is offered and replaces
it atomically (rename(2)); an OPEN that creates a file gives it the mode the client
sent with it (less the server's umask).

``--drop-after-read-bytes N`` plays a line that drops mid-download: each session is cut
(the connection aborted, as a dropped TCP link) once it has served N bytes of file reads.
"""

from __future__ import annotations

import argparse
import asyncio

import asyncssh


class _OnlyUser(asyncssh.SSHServer):
    def __init__(self, user: str):
        self._user = user

    def begin_auth(self, username: str) -> bool:
        if username != self._user:
            raise asyncssh.PermissionDenied(f"unknown user {username!r}")
        return True

    def password_auth_supported(self) -> bool:
        return False


class _UploadOnly(asyncssh.SFTPServer):
    def open(self, path, pflags, attrs):
        if pflags & asyncssh.FXF_READ:
            raise asyncssh.SFTPPermissionDenied("reading is not allowed on this server")
        return super().open(path, pflags, asyncssh.SFTPAttrs())

    def setstat(self, path, attrs):
        raise asyncssh.SFTPPermissionDenied("changing attributes is not allowed on this server")

    def fsetstat(self, file_obj, attrs):
        raise asyncssh.SFTPPermissionDenied("changing attributes is not allowed on this server")


def _interrupting(base: type[asyncssh.SFTPServer], limit: int, how: str) -> type[asyncssh.SFTPServer]:
    """``base`` that, once ``limit`` bytes of writes were taken (once per process), writes what
    fits and then aborts the connection (``cut``) or never answers that write (``stall``)."""
    taken = {"bytes": 0, "done": False}

    class _Interrupting(base):
        def write(self, file_obj, offset, data):
            if taken["done"] or taken["bytes"] + len(data) <= limit:
                taken["bytes"] += len(data)
                return super().write(file_obj, offset, data)
            taken["done"] = True
            fits = limit - taken["bytes"]
            if fits > 0:
                super().write(file_obj, offset, data[:fits])
            print(f"sftp stand-in: transfer interrupted ({how}) after {limit} bytes of writes", flush=True)
            if how == "stall":
                return asyncio.Event().wait()  # the client waits for an answer that never comes
            self.connection.abort()
            raise asyncssh.SFTPConnectionLost("connection cut by the stand-in")

    return _Interrupting


def _dropping_reads(base: type[asyncssh.SFTPServer], limit: int) -> type[asyncssh.SFTPServer]:
    """``base`` whose every session is cut (the connection aborted, as a dropped TCP link) once it
    has served ``limit`` bytes of file reads."""

    class _DropsAfterReading(base):
        def __init__(self, chan, chroot=None):
            super().__init__(chan, chroot=chroot)
            self._served = 0

        def read(self, file_obj, offset, size):
            data = super().read(file_obj, offset, size)
            left = limit - self._served
            if len(data) >= left:
                # The client gets the bytes up to the limit, then the link is gone.
                self.connection.abort()
                return data[: max(left, 0)]
            self._served += len(data)
            return data

    return _DropsAfterReading


async def serve(args: argparse.Namespace) -> None:
    server_class = _UploadOnly if args.upload_only else asyncssh.SFTPServer
    if args.cut_after_bytes is not None:
        server_class = _interrupting(server_class, args.cut_after_bytes, "cut")
    elif args.stall_after_bytes is not None:
        server_class = _interrupting(server_class, args.stall_after_bytes, "stall")
    if args.drop_after_read_bytes is not None:
        server_class = _dropping_reads(server_class, args.drop_after_read_bytes)

    def sftp_factory(chan):
        return server_class(chan, chroot=args.root)

    await asyncssh.listen(
        "127.0.0.1",
        args.port,
        server_factory=lambda: _OnlyUser(args.user),
        server_host_keys=[args.host_key],
        authorized_client_keys=args.authorized_keys,
        sftp_factory=sftp_factory,
        allow_scp=False,
    )
    print(f"sftp stand-in listening on 127.0.0.1:{args.port}, root {args.root}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--authorized-keys", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--upload-only", action="store_true", help="refuse reads and attribute changes")
    parser.add_argument(
        "--cut-after-bytes", type=int, help="abort the connection once this many bytes were written (once)"
    )
    parser.add_argument("--stall-after-bytes", type=int, help="stop answering once this many bytes were written (once)")
    parser.add_argument(
        "--drop-after-read-bytes", type=int, default=None, help="abort each session after serving N bytes of reads"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
