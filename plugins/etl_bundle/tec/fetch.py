"""Downloads from Energy Transfer through HttpHook, with retries on 5xx, timeouts, 403 and 429."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from etl_bundle.common.http_retries import TransientHttpError, raise_for_transient
from etl_bundle.tec.transforms import filename_from_disposition, request_params, request_path

log = logging.getLogger(__name__)

# A firewall (403) or rate limit (429) in front of Energy Transfer's site lifts by itself.
THROTTLED_STATUSES = (403, 429)
MAX_WAIT_SECONDS = 60


class ThrottledError(TransientHttpError):
    """403 or 429: tried again later (the sensor's next poke, the task's retry), never a permanent failure."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(header: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    from email.utils import parsedate_to_datetime

    if not header:
        return None
    if header.strip().isdigit():
        return float(header.strip())
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _asked_to_wait_longer_than_a_task_should_sleep(state) -> bool:
    """A Retry-After beyond the cap: give up now, so the next poke or task retry asks again
    later instead of a worker sleeping through it."""
    error = state.outcome.exception()
    return isinstance(error, ThrottledError) and error.retry_after is not None and error.retry_after > MAX_WAIT_SECONDS


def _backoff(state) -> float:
    """Exponential backoff, or the server's Retry-After when it sent one (both capped)."""
    error = state.outcome.exception()
    if isinstance(error, ThrottledError) and error.retry_after is not None:
        return min(error.retry_after, MAX_WAIT_SECONDS)
    return min(2 ** (state.attempt_number - 1), MAX_WAIT_SECONDS)


def transient_errors() -> tuple[type[BaseException], ...]:
    """Faults that pass by themselves: a 5xx or refusal that outlasted the retries, a dropped
    or refused connection, a timeout, a lost database connection (the sensor waits on)."""
    import psycopg
    import requests

    return (TransientHttpError, requests.ConnectionError, requests.Timeout, ConnectionError, psycopg.OperationalError)


@dataclass(frozen=True)
class Download:
    url: str
    status: int
    content_disposition: str | None
    body: bytes
    downloaded_at: float

    @property
    def filename(self) -> str | None:
        return filename_from_disposition(self.content_disposition)


def download(
    http_conn_id: str, endpoint: dict[str, Any], gas_day: date, cycle_code: int, request: dict[str, Any]
) -> Download:
    """GET one cycle's file. 5xx, timeouts, 403 and 429 are retried with exponential backoff
    (honouring Retry-After); another 4xx fails at once with the URL (which carries no secret)."""
    import requests
    import tenacity
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk.exceptions import AirflowFailException

    hook = HttpHook(method="GET", http_conn_id=http_conn_id)
    path = request_path(endpoint)
    params = request_params(endpoint, gas_day, cycle_code)

    def attempt() -> Download:
        response = hook.run(
            path,
            data=params,
            extra_options={"timeout": request.get("timeout_seconds", 30), "check_response": False},
        )
        raise_for_transient(response, "Energy Transfer")
        if response.status_code in THROTTLED_STATUSES:
            raise ThrottledError(
                f"Energy Transfer refused with HTTP {response.status_code} (firewall or rate limit) for {response.url}",
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            raise AirflowFailException(f"Energy Transfer answered HTTP {response.status_code} for {response.url}")
        return Download(
            url=response.url,
            status=response.status_code,
            content_disposition=response.headers.get("Content-Disposition"),
            body=response.content,
            downloaded_at=time.time(),
        )

    # Not HttpHook.run_with_advanced_retry: it retries only around hook.run, which raises on a
    # 403/429 (check_response) with the status text alone, so the Retry-After header (how long
    # to wait, or whether to give up for the next poke) would be lost; here the answer is read
    # first and the same tenacity does the retrying.
    retrying = tenacity.retry(
        retry=tenacity.retry_if_exception_type((TransientHttpError, requests.ConnectionError, requests.Timeout)),
        stop=tenacity.stop_any(
            tenacity.stop_after_attempt(int(request.get("retry_attempts", 3))),
            _asked_to_wait_longer_than_a_task_should_sleep,
        ),
        wait=_backoff,
        before_sleep=lambda state: log.warning(
            "Energy Transfer request failed (%s); retrying", state.outcome.exception()
        ),
        reraise=True,
    )
    return retrying(attempt)()


def fetch_cycle(http_conn_id: str, target: dict[str, Any], config: dict[str, Any], *, replay: bool = False):
    """Download ``target``'s (endpoint, cycle, gas day) and say whether it is the published file.
    With ``replay``, the newest archived file stands for the download (Energy Transfer not asked).

    Returns ``(download, publication)``; the sensor and the load both ask this way.
    """
    from etl_bundle.tec.transforms import FilenameRules, Publication, check_publication

    gas_day = date.fromisoformat(target["gas_day"])
    if replay:
        answer = archived_download(target, config)
        if answer is None:
            return None, Publication(False, "replay: no archived file")
    else:
        answer = download(
            http_conn_id, config["endpoints"][target["endpoint"]], gas_day, target["cycle_code"], config["request"]
        )
    publication = check_publication(
        status=answer.status,
        content_disposition=answer.content_disposition,
        body_size=len(answer.body),
        expected_cycle=target["cycle"],
        gas_day=gas_day,
        rules=FilenameRules.from_config(config["filename"]),
        min_body_bytes=int(config["request"]["min_body_bytes"]),
    )
    return answer, publication


def archived_download(target: dict[str, Any], config: dict[str, Any]) -> Download | None:
    """The newest archived file of ``target`` as if just downloaded (for a replay), or None."""
    from etl_bundle.tec.archive import latest_archived, original_name
    from etl_bundle.tec.transforms import cycle_id

    found = latest_archived(
        config["archive"], target["endpoint"], date.fromisoformat(target["gas_day"]), cycle_id(target["cycle"])
    )
    if found is None:
        return None
    path, body, downloaded_at = found
    return Download(
        url=path,
        status=200,
        content_disposition=f'attachment; filename="{original_name(path)}"',
        body=body,
        downloaded_at=downloaded_at,
    )


def decode_csv(body: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; a byte neither decodes fails the file
    (``etl_bundle.tec.transforms.decode_capacity_file``, CapacityFileError naming line and field)."""
    from etl_bundle.tec.transforms import decode_capacity_file

    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8; reading it as Windows-1252", filename)
    return decode_capacity_file(body, filename)
