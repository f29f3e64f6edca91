"""Files that hold personal data: created owner-only (0600) before a byte is written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

OWNER_ONLY = 0o600


def open_private(path: Path, mode: str = "wb", encoding: str | None = None) -> IO:
    """``open(path, mode)`` for writing ("wb" or "w"), the file created or truncated with mode 0600."""
    if mode not in ("wb", "w"):
        raise ValueError(f"open_private writes only ('wb' or 'w'), not {mode!r}")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    os.fchmod(descriptor, OWNER_ONLY)  # an existing file keeps its mode through O_CREAT
    return os.fdopen(descriptor, mode, encoding=encoding)
