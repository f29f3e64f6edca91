"""A tiny HTTP proxy in front of moto that throttles the first K Scan requests, as DynamoDB does.

Real DynamoDB refuses a request beyond the table's capacity with HTTP 400 and
``{"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
"message": ...}`` (Content-Type ``application/x-amz-json-1.0``, with ``x-amz-crc32`` of
the body, which botocore checks); moto never does. Everything else, and every Scan
after the first K, is forwarded to moto unchanged. A test double of the protocol,
used by tests through a connection whose ``endpoint_url`` points here:

    python -m devstack.dynamodb_throttle --upstream http://127.0.0.1:5000 --throttle-scans 5 [--port P]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devstack import net

THROTTLED_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    }
).encode()
SCAN_TARGET = "DynamoDB_20120810.Scan"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class ThrottleProxy(ThreadingHTTPServer):
    """The proxy; ``throttled`` and ``forwarded_scans`` count what it answered."""

    daemon_threads = True

    def __init__(self, port: int, upstream: str, throttle_scans: int):
        super().__init__((net.HOST, port), _Handler)
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.remaining = throttle_scans
        self.throttled = 0
        self.forwarded_scans = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{net.HOST}:{self.server_address[1]}"

    def take_throttle(self) -> bool:
        with self.lock:
            if self.remaining > 0:
                self.remaining -= 1
                self.throttled += 1
                return True
            self.forwarded_scans += 1
            return False

    def start(self) -> ThrottleProxy:
        threading.Thread(target=self.serve_forever, name="dynamodb-throttle", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThrottleProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("X-Amz-Target") == SCAN_TARGET and self.server.take_throttle():
            self._answer(
                400,
                THROTTLED_BODY,
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "x-amzn-RequestId": uuid.uuid4().hex.upper(),
                    "x-amz-crc32": str(zlib.crc32(THROTTLED_BODY)),
                },
            )
            return
        self._forward(body)

    def do_GET(self) -> None:  # noqa: N802
        self._forward(b"")

    def _forward(self, body: bytes) -> None:
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            self._answer(response.status, data, headers)
        finally:
            upstream.close()

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass  # quiet: a test's output is searched for secrets, and request lines say nothing useful


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="moto's URL")
    parser.add_argument("--throttle-scans", type=int, required=True, help="Scan requests to refuse first")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    proxy = ThrottleProxy(args.port or net.free_port(), args.upstream, args.throttle_scans)
    print(proxy.url, flush=True)
    proxy.serve_forever()


if __name__ == "__main__":
    main()
