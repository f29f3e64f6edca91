"""The network share where pipelines deliver files for people.

In production it is a mounted path given by an ``fs`` connection (extra
``path``); the devstack points the same connection at a local folder.
"""

from __future__ import annotations

from pathlib import Path


def share_root(conn_id: str = "network_share") -> Path:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    path = conn.extra_dejson.get("path")
    if not path:
        raise ValueError(f"connection {conn_id!r} has no 'path' in its extra")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"network share {root} (connection {conn_id!r}) is not a directory")
    return root
