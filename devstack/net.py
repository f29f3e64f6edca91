"""Ports and readiness probes for the stand-ins."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable

HOST = "127.0.0.1"


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if nothing listens there, else a port the kernel picks."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (connections of a stopped server lingering in TIME_WAIT do not count,
    as the servers we start bind with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def banner(port: int, timeout: float = 2.0) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        return sock.recv(64)


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def wait_until(check: Callable[[], bool], timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll ``check`` until it holds, the deadline passes, or ``alive`` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001, S110 - any failed probe means "not ready yet"
            pass
        time.sleep(0.2)
    return False
