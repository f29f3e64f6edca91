"""The network share's stand-in: impacket's SMB2 server over a folder, NTLM with one user.

``python -m devstack.smb_server --port P --root DIR --share NAME --user U --password-file F``

impacket answers two things unlike Windows, and smbprotocol (the samba provider's
client) rejects both, so its create handler is wrapped to answer as Windows does:

- ``CreateAction`` is set to the request's ``CreateDisposition`` (5 for "overwrite or
  create"), which is no action at all: it is set to what was done (opened, created,
  overwritten).
- A missing file is ``STATUS_NO_SUCH_FILE``, and a folder made under a missing parent is
  ``STATUS_ACCESS_DENIED``: Windows says ``STATUS_OBJECT_NAME_NOT_FOUND`` (the client's
  ENOENT, which its rename and makedirs rely on) or ``STATUS_OBJECT_PATH_NOT_FOUND``.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

# MS-SMB2 2.2.13 CreateDisposition and 2.2.14 CreateAction values.
FILE_SUPERSEDE, FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF = range(6)
FILE_SUPERSEDED, FILE_OPENED, FILE_CREATED, FILE_OVERWRITTEN = range(4)


def create_action(disposition: int, existed: bool) -> int:
    """What a create with ``disposition`` did to a file that ``existed`` (or not) before."""
    if disposition == FILE_SUPERSEDE:
        return FILE_SUPERSEDED if existed else FILE_CREATED
    if disposition in (FILE_OVERWRITE, FILE_OVERWRITE_IF):
        return FILE_OVERWRITTEN if existed else FILE_CREATED
    if disposition == FILE_OPEN_IF:
        return FILE_OPENED if existed else FILE_CREATED
    return FILE_CREATED if disposition == FILE_CREATE else FILE_OPENED


class HideHashes(logging.Filter):
    """impacket logs each login's NTLMv2 response in John-the-Ripper form: keep it out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return ":::" not in record.getMessage()


def windows_create(original):
    from impacket import nt_errors
    from impacket import smb3structs as smb2

    def create(conn_id, server, packet):
        conn = server.getConnectionData(conn_id, checkStatus=False)
        share = conn["ConnectedShares"].get(packet["TreeID"], {})
        request = smb2.SMB2Create(packet["Data"])
        name = request["Buffer"][: request["NameLength"]].decode("utf-16le").replace("\\", "/").lstrip("/")
        target = Path(share.get("path") or "/nonexistent") / name
        existed = target.exists()
        commands, packets, status = original(conn_id, server, packet)
        if status == nt_errors.STATUS_SUCCESS:
            commands[0]["CreateAction"] = create_action(request["CreateDisposition"], existed)
        elif status in (nt_errors.STATUS_NO_SUCH_FILE, nt_errors.STATUS_ACCESS_DENIED) and not existed:
            status = (
                nt_errors.STATUS_OBJECT_NAME_NOT_FOUND
                if target.parent.is_dir()
                else nt_errors.STATUS_OBJECT_PATH_NOT_FOUND
            )
        return commands, packets, status

    return create


def serve(port: int, root: Path, share: str, user: str, password: str) -> None:
    from impacket import smb3structs as smb2
    from impacket import smbserver
    from impacket.ntlm import compute_lmhash, compute_nthash

    server = smbserver.SimpleSMBServer(listenAddress="127.0.0.1", listenPort=port)
    server.addShare(share, str(root), "devstack network share")
    server.setSMB2Support(True)
    server.addCredential(user, os.getuid(), compute_lmhash(password), compute_nthash(password))
    smb = server.getServer()
    smb.hookSmb2Command(smb2.SMB2_CREATE, windows_create(smb.hookSmb2Command(smb2.SMB2_CREATE, None)))
    logging.getLogger().info("serving %s as \\\\127.0.0.1\\%s on port %d", root, share, port)
    server.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--share", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    args = parser.parse_args()
    handler = logging.StreamHandler()
    handler.addFilter(HideHashes())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    serve(args.port, args.root, args.share, args.user, args.password_file.read_text().strip())


if __name__ == "__main__":
    main()
