"""A real SFTP server for the DPS stand-in: asyncssh, key auth only, chrooted."""

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


async def serve(args: argparse.Namespace) -> None:
    def sftp_factory(chan):
        return asyncssh.SFTPServer(chan, chroot=args.root)

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
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
