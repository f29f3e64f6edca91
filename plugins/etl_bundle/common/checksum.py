"""SHA-256 of files and streams (local files, SFTP file objects), read in blocks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO


def sha256_stream(stream: IO[bytes], out: IO[bytes] | None = None, block: int = 1 << 16) -> tuple[str, int]:
    """``(hex digest, bytes read)`` of ``stream`` to its end, each block also written to ``out`` if given."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(block), b""):
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def sha256_of(path: Path) -> str:
    with open(path, "rb") as data:
        return sha256_stream(data, block=1 << 20)[0]
