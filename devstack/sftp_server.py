"""A real SFTP server for the DPS stand-in: asyncssh, key auth only, chrooted.

``--upload-only`` plays a drop box as some partners run them: files can be written,
listed, stat'ed and renamed, but not read back, and their attributes not changed.
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


class _DropsAfterReading(asyncssh.SFTPServer):
    limit = 0

    def __init__(self, chan, chroot=None):
        super().__init__(chan, chroot=chroot)
        self._served = 0

    def read(self, file_obj, offset, size):
        data = super().read(file_obj, offset, size)
        left = self.limit - self._served
        if len(data) >= left:
            # The client gets the bytes up to the limit, then the link is gone.
            self.connection.abort()
            return data[: max(left, 0)]
        self._served += len(data)
        return data


async def serve(args: argparse.Namespace) -> None:
    server_class = _UploadOnly if args.upload_only else asyncssh.SFTPServer
    if args.drop_after_read_bytes is not None:
        server_class = type("DropsAfterReading", (_DropsAfterReading,), {"limit": args.drop_after_read_bytes})

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
        "--drop-after-read-bytes", type=int, default=None, help="abort each session after serving N bytes of reads"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
