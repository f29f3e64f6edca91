"""Starting and stopping the stand-ins' processes, tracked by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def spawn(cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start ``cmd`` detached in its own session (so its group can be stopped as one)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    return process.pid


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_group(pid: int, first_signal: int = signal.SIGTERM, grace: float = 10.0) -> None:
    """Stop the process ``pid`` with its group and every descendant; SIGKILL what is left after ``grace``.

    Descendants are collected before signalling, since a child that started its own
    session (as Airflow's components do) is not in the leader's group.
    """
    tree = _tree(pid)
    try:
        os.killpg(pid, first_signal)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(is_alive(p) for p in tree):
            return
        time.sleep(0.2)
    for leftover in tree:
        if is_alive(leftover):
            try:
                os.kill(leftover, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _tree(root: int) -> set[int]:
    """``root``, the members of its process group, and all their descendants."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the name: state, ppid, pgrp, ...
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        groups[pid] = int(fields[2])
    tree = {root} | {pid for pid, group in groups.items() if group == root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return tree
