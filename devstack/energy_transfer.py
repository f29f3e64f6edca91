"""Energy Transfer's informational-postings download, served from a data directory.

The real URL shape is
``/ipost/TW/capacity/operationally-available?f=csv&...&gasDay=MM%2FDD%2FYYYY&...&cycle=N``.
A request maps to the folder ``<data-dir>/<path after /ipost/>/<YYYY-MM-DD>/cycle-<N>/``:

- one ``*.csv`` there: answered 200 with it and ``Content-Disposition: attachment;
  filename="<its name>"``, as Energy Transfer names its downloads;
- one ``*.html`` there: answered 200 as ``text/html`` (an error page that still says 200);
- a file ``status`` holding a number: answered with that HTTP status (5xx for retries);
- a file ``publish_at`` holding a Unix time: nothing is published before then (a late cycle);
- nothing: answered 200 with an empty body (the cycle is not published yet).

Files can be dropped in while the server runs; each request reads the folder anew.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROUTING_PREFIX = "/ipost/"


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
    cycle = query.get("cycle", ["all"])[0]
    endpoint = parts.path[len(ROUTING_PREFIX) :].strip("/")
    folder = data_dir / endpoint / gas_day.isoformat() / f"cycle-{cycle}"
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
