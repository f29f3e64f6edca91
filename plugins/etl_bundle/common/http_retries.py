"""Retrying HTTP calls: 5xx answers, connection errors and timeouts, with exponential backoff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class TransientHttpError(RuntimeError):
    """A 5xx answer: worth another try."""


def with_http_retries(call: Callable[[], T], *, what: str, attempts: int = 3, max_wait_seconds: float = 30) -> T:
    """Run ``call``, retrying transient HTTP failures; the last failure is re-raised as is.

    ``what`` names the service in the log line of each retry (never a URL with secrets).
    """
    import requests
    import tenacity

    retrying: Callable[[Callable[[], T]], Callable[[], T]] = tenacity.retry(
        retry=tenacity.retry_if_exception_type((TransientHttpError, requests.ConnectionError, requests.Timeout)),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=1, max=max_wait_seconds),
        before_sleep=lambda state: log.warning("%s request failed (%s); retrying", what, state.outcome.exception()),
        reraise=True,
    )
    return retrying(call)()


def raise_for_transient(response: Any, what: str) -> None:
    if response.status_code >= 500:
        raise TransientHttpError(f"{what} answered HTTP {response.status_code} for {response.url}")
