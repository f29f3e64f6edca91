"""``[core] hostname_callable`` for the devstack's cluster: which worker ran a task.

Both Celery workers run on this one host, so the machine's name would not tell
them apart; each is started with ``DEVSTACK_WORKER_NAME`` and reports it as the
task instances' hostname (any other component reports the machine's name).
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("DEVSTACK_WORKER_NAME") or socket.getfqdn()
