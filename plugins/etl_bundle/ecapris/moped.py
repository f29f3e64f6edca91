"""Moped through Hasura's GraphQL endpoint, with HttpHook.

The ``moped_hasura`` connection holds the endpoint (host, port, schema) and the admin
secret (password, no login). The secret travels only as the ``X-Hasura-Admin-Secret``
header; Airflow masks it as a connection password wherever it might be logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from etl_bundle.common.http_retries import raise_for_transient, with_http_retries
from etl_bundle.common.paths import GRAPHQL_DIR

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/v1/graphql"
WHAT = "Moped's Hasura"


@lru_cache
def operation(name: str) -> str:
    """The GraphQL document ``include/graphql/ecapris/<name>.graphql``."""
    return (GRAPHQL_DIR / "ecapris" / f"{name}.graphql").read_text()


class HasuraError(AirflowFailException):
    """Hasura answered with GraphQL errors: the task fails without retrying."""


def describe_errors(payload: dict[str, Any]) -> str:
    """Hasura's errors, one per line: message, code and path (no request data)."""
    lines = []
    for error in payload.get("errors") or []:
        extensions = error.get("extensions") or {}
        lines.append(f"{error.get('message')} (code {extensions.get('code')}, at {extensions.get('path')})")
    return "; ".join(lines) or json.dumps(payload)[:500]


class MopedClient:
    def __init__(self, conn_id: str, *, timeout_seconds: float = 60, attempts: int = 3):
        self.conn_id = conn_id
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts

    def execute(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run ``include/graphql/ecapris/<name>.graphql``; its ``data`` or ``HasuraError``."""
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        secret = hook.get_connection(self.conn_id).password
        if not secret:
            raise HasuraError(f"connection {self.conn_id!r} has no admin secret in its password field")
        headers = {"Content-Type": "application/json", "X-Hasura-Admin-Secret": secret}
        body = json.dumps({"query": operation(name), "variables": variables})

        def attempt():
            response = hook.run(
                GRAPHQL_PATH,
                data=body,
                headers=headers,
                extra_options={"timeout": self.timeout_seconds, "check_response": False},
            )
            raise_for_transient(response, WHAT)
            return response

        response = with_http_retries(attempt, what=WHAT, attempts=self.attempts)
        try:
            payload = response.json()
        except ValueError:
            raise HasuraError(
                f"{WHAT} answered {name} with HTTP {response.status_code} and no JSON: {response.text[:200]!r}"
            ) from None
        if payload.get("errors") or response.status_code >= 400 or "data" not in payload:
            hint = ""
            if any((e.get("extensions") or {}).get("code") == "access-denied" for e in payload.get("errors") or []):
                hint = f" Check the admin secret in the password of connection {self.conn_id!r}."
            raise HasuraError(f"{WHAT} refused {name} (HTTP {response.status_code}): {describe_errors(payload)}.{hint}")
        return payload["data"]

    def subproject_ids(self, *, respect_sync_flag: bool) -> list[str]:
        """Distinct eCapris ids of non-deleted projects (only those with sync on, unless told not to)."""
        where: dict[str, Any] = {"ecapris_subproject_id": {"_is_null": False}, "is_deleted": {"_eq": False}}
        if respect_sync_flag:
            where["should_sync_ecapris_statuses"] = {"_eq": True}
        data = self.execute("subprojects", {"where": where})
        return sorted({row["ecapris_subproject_id"] for row in data["moped_project"]})

    def existing_statuses(self, status_ids: Iterable[int], batch_size: int) -> dict[int, dict[str, Any]]:
        ids = sorted(set(status_ids))
        existing: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), batch_size):
            data = self.execute("existing_statuses", {"status_ids": ids[start : start + batch_size]})
            existing.update({row["subproject_status_id"]: row for row in data["ecapris_subproject_statuses"]})
        return existing

    def upsert_statuses(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = self.execute("upsert_statuses", {"objects": objects})
        return data["insert_ecapris_subproject_statuses"]["returning"]

    def repair_names(self, repairs: list[dict[str, Any]]) -> int:
        """Set each status's ``subproject_name`` alone; the number of rows changed."""
        updates = [
            {
                "where": {"subproject_status_id": {"_eq": repair["subproject_status_id"]}},
                "_set": {"subproject_name": repair["subproject_name"]},
            }
            for repair in repairs
        ]
        data = self.execute("repair_subproject_names", {"updates": updates})
        return sum(response["affected_rows"] for response in data["update_ecapris_subproject_statuses_many"])
