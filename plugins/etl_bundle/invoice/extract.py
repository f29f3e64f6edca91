"""Paginated (and parallel) DynamoDB scans through DynamoDBHook, streamed page by page.

The hook has no scan: this drives the client's Scan API itself. A parallel scan
runs one thread per segment (on a client from ``client_factory``), and hands pages
to the caller through a small bounded queue, so memory holds a few pages, not a
table. Throttling is retried with backoff; any other error ends the scan with
an exception: a partial scan is never returned as if it were complete.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

THROTTLING_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
QUEUE_PAGES = 4


def scan_request(
    table: str,
    *,
    page_size: int,
    segment: int | None = None,
    total_segments: int | None = None,
    filter_action: str | None = None,
    projection: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Scan arguments; attribute names go through placeholders (some are reserved words)."""
    request: dict[str, Any] = {"TableName": table, "Limit": page_size}
    names: dict[str, str] = {}
    if total_segments and total_segments > 1:
        request.update(Segment=segment, TotalSegments=total_segments)
    if filter_action is not None:
        names["#action"] = "actionType"
        request["FilterExpression"] = "#action = :action"
        request["ExpressionAttributeValues"] = {":action": filter_action}
    if projection:
        placeholders = []
        for i, attribute in enumerate(projection):
            names[f"#p{i}"] = attribute
            placeholders.append(f"#p{i}")
        request["ProjectionExpression"] = ", ".join(placeholders)
    if names:
        request["ExpressionAttributeNames"] = names
    return request


def _scan_once(client, request: dict[str, Any], max_retries: int) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    for attempt in range(max_retries + 1):
        try:
            return client.scan(**request)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code not in THROTTLING_CODES or attempt == max_retries:
                raise
            delay = min(2**attempt, 30) + random.random()  # noqa: S311 - jitter, not security
            log.warning("%s throttled (%s); retrying in %.1f s", request["TableName"], code, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def scan_segment(client, request: dict[str, Any], max_retries: int = 8) -> Iterator[list[dict[str, Any]]]:
    """Every page of one (segment of a) scan, following LastEvaluatedKey to the end."""
    request = dict(request)
    while True:
        response = _scan_once(client, request, max_retries)
        yield response.get("Items", [])
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        request["ExclusiveStartKey"] = last_key


_DONE = object()


def scan_pages(
    client_factory,
    table: str,
    *,
    segments: int,
    page_size: int,
    filter_action: str | None = None,
    projection: tuple[str, ...] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of a whole table: one segment in this thread, or ``segments`` worker threads."""
    if segments <= 1:
        request = scan_request(table, page_size=page_size, filter_action=filter_action, projection=projection)
        yield from scan_segment(client_factory(), request)
        return

    pages: queue.Queue = queue.Queue(maxsize=QUEUE_PAGES)
    stop = threading.Event()

    def worker(segment: int) -> None:
        try:
            client = client_factory()
            request = scan_request(
                table,
                page_size=page_size,
                segment=segment,
                total_segments=segments,
                filter_action=filter_action,
                projection=projection,
            )
            for page in scan_segment(client, request):
                while not stop.is_set():
                    try:
                        pages.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pages.put(_DONE)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which raises it
            pages.put(err)

    threads = [
        threading.Thread(target=worker, args=(s,), name=f"scan-{table}-{s}", daemon=True) for s in range(segments)
    ]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < segments:
            page = pages.get()
            if page is _DONE:
                finished += 1
            elif isinstance(page, BaseException):
                raise RuntimeError(f"scan of {table} failed; nothing from it is loaded") from page
            else:
                yield page
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):
            try:
                pages.get_nowait()
            except queue.Empty:
                time.sleep(0.05)
