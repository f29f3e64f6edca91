"""Energy Transfer's informational-postings download, served from a data directory.

The real URL shape is
``/ipost/TW/capacity/operationally-available?f=csv&...&gasDay=MM%2FDD%2FYYYY&...&cycle=N``.
The stand-in keeps files by cycle name, ``<data-dir>/<path after /ipost/>/<YYYY-MM-DD>/<Cycle>/``
(``Intraday_1``, ``Evening``, ...), and maps the numeric ``cycle=N`` to a cycle with its
own copy of Energy Transfer's codes (``CYCLE_CODES``, from the evidence of reference
original-contracts.md §3.2, never from the bundle's configuration). A code Energy
Transfer does not know (2, 6, 8, anything else, or none) is answered as the real site
answers it: with its default cycle's file (Timely, code 0). So a wrong code in the
bundle's configuration gets another cycle's file, as in production. In that folder:

- one ``*.csv`` there: answered 200 with it and ``Content-Disposition: attachment;
  filename="<its name>"``, as Energy Transfer names its downloads;
- one ``*.html`` there: answered 200 as ``text/html`` (an error page that still says 200);
- a file ``status`` holding a number: answered with that HTTP status (5xx for retries);
- a file ``publish_at`` holding a Unix time: nothing is published before then (a late cycle);
- nothing: answered 200 with an empty body (the cycle is not published yet).

A file ``throttle`` in ``<data-dir>`` holding ``STATUS COUNT [RETRY_AFTER]`` (e.g. ``429 2 1``)
answers the next COUNT requests with STATUS (403 or 429: a firewall or rate limit),
with a ``Retry-After`` header when given, then is removed.

A file ``fault`` in ``<data-dir>`` holding ``KIND COUNT [ARG]`` spoils the next COUNT requests,
then is removed, the way a flaky network or an overloaded site does (the fault suite's modes):
``status COUNT CODE`` answers CODE (e.g. 503) with an HTML body; ``reset COUNT`` drops the
connection without an answer (TCP reset); ``delay COUNT SECONDS`` waits SECONDS before answering
(slower than the client's timeout).

Files can be dropped in while the server runs; each request reads the folder anew.
"""

from __future__ import annotations

import argparse
import socket
import struct
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROUTING_PREFIX = "/ipost/"
# Energy Transfer's cycle codes (reference §3.2): the stand-in's own table.
CYCLE_CODES = {"0": "Timely", "1": "Evening", "3": "Intraday_1", "4": "Intraday_2", "7": "Intraday_3", "5": "Final"}
DEFAULT_CODE = "0"  # what the site answers for a code it does not know
THROTTLE_FILE = "throttle"
FAULT_FILE = "fault"
_throttle_lock = threading.Lock()


def cycle_folder_name(code: str | None) -> str:
    """The cycle Energy Transfer answers for ``code``: unknown codes get the default cycle."""
    return CYCLE_CODES.get(code or DEFAULT_CODE, CYCLE_CODES[DEFAULT_CODE])


def take_throttle(data_dir: Path) -> tuple[int, str | None] | None:
    """(status, Retry-After) while a ``throttle`` file asks for refusals, counting one down."""
    with _throttle_lock:
        file = data_dir / THROTTLE_FILE
        if not file.exists():
            return None
        status, count, *retry_after = file.read_text().split()
        if int(count) <= 1:
            file.unlink()
        else:
            file.write_text(" ".join([status, str(int(count) - 1), *retry_after]))
        return int(status), (retry_after[0] if retry_after else None)


def take_fault(data_dir: Path) -> tuple[str, str | None] | None:
    """(kind, argument) while a ``fault`` file asks for spoiled requests, counting one down."""
    with _throttle_lock:
        file = data_dir / FAULT_FILE
        if not file.exists():
            return None
        kind, count, *argument = file.read_text().split()
        if int(count) <= 1:
            file.unlink()
        else:
            file.write_text(" ".join([kind, str(int(count) - 1), *argument]))
        return kind, (argument[0] if argument else None)


def resolve(data_dir: Path, raw_path: str) -> tuple[int, Path | None, str]:
    """(status, file to send or None, reason) for a request path with its query."""
    parts = urlsplit(raw_path)
    if parts.path in ("", "/"):
        return 200, None, "root"
    if not parts.path.startswith(ROUTING_PREFIX):
        return 404, None, f"unknown path {parts.path}"
    query = parse_qs(parts.query)
    try:
        gas_day = datetime.strptime(query["gasDay"][0], "%m/%d/%Y").date()
    except (KeyError, ValueError):
        return 400, None, "gasDay missing or not MM/DD/YYYY"
    cycle = cycle_folder_name(query.get("cycle", [None])[0])
    endpoint = parts.path[len(ROUTING_PREFIX) :].strip("/")
    folder = data_dir / endpoint / gas_day.isoformat() / cycle
    if not folder.resolve().is_relative_to(data_dir.resolve()):
        return 404, None, "outside the data directory"
    status_file = folder / "status"
    if status_file.exists():
        return int(status_file.read_text().strip()), None, "status override"
    publish_at = folder / "publish_at"
    if publish_at.exists() and time.time() < float(publish_at.read_text().strip()):
        return 200, None, "not published"
    for pattern in ("*.csv", "*.html"):
        found = sorted(folder.glob(pattern))
        if found:
            return 200, found[0], "published"
    return 200, None, "not published"


class Handler(BaseHTTPRequestHandler):
    data_dir: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        fault = take_fault(self.data_dir) if self.path.startswith(ROUTING_PREFIX) else None
        if fault is not None:
            kind, argument = fault
            if kind == "reset":
                # SO_LINGER 0: close() sends a TCP reset, as a dropped connection does.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            if kind == "delay":
                time.sleep(float(argument))
            elif kind == "status":
                self._send_refusal(int(argument), None)
                return
        refused = take_throttle(self.data_dir) if self.path.startswith(ROUTING_PREFIX) else None
        if refused is not None:
            self._send_refusal(*refused)
            return
        status, file, reason = resolve(self.data_dir, self.path)
        body = file.read_bytes() if file else (b"Energy Transfer stand-in\n" if reason == "root" else b"")
        self.send_response(status)
        if file is not None and file.suffix == ".csv":
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Disposition", f'attachment; filename="{file.name}"')
        elif file is not None:
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_refusal(self, status: int, retry_after: str | None) -> None:
        body = b"<html><body>Access denied</body></html>" if status < 500 else b"<html><body>Unavailable</body></html>"
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description="Energy Transfer stand-in")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    Handler.data_dir = args.data_dir
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"energy transfer stand-in on 127.0.0.1:{args.port}, data {args.data_dir}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
