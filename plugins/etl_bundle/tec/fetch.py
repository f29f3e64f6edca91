"""Downloads from Energy Transfer through HttpHook, with retries on 5xx and timeouts."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from etl_bundle.common.http_retries import raise_for_transient, with_http_retries
from etl_bundle.tec.transforms import filename_from_disposition, request_params, request_path

log = logging.getLogger(__name__)


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
    """GET one cycle's file. 5xx and timeouts are retried with exponential backoff;
    a 4xx fails at once with the URL (which carries no secret) in the message."""
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
        if response.status_code >= 400:
            raise AirflowFailException(f"Energy Transfer answered HTTP {response.status_code} for {response.url}")
        return Download(
            url=response.url,
            status=response.status_code,
            content_disposition=response.headers.get("Content-Disposition"),
            body=response.content,
            downloaded_at=time.time(),
        )

    return with_http_retries(attempt, what="Energy Transfer", attempts=int(request.get("retry_attempts", 3)))


def fetch_cycle(http_conn_id: str, target: dict[str, Any], config: dict[str, Any]):
    """Download ``target``'s (endpoint, cycle, gas day) and say whether it is the published file.

    Returns ``(download, publication)``; the sensor and the load both ask this way.
    """
    from etl_bundle.tec.transforms import FilenameRules, check_publication

    gas_day = date.fromisoformat(target["gas_day"])
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


def decode_csv(body: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM); Windows-1252 as the fallback Energy Transfer's exports may use."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8; reading it as Windows-1252", filename)
        return body.decode("cp1252")
