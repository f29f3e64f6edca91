"""Moped through Hasura's GraphQL endpoint, with HttpHook.

The ``moped_hasura`` connection holds the endpoint (host, port, schema) and the admin
secret (password, no login). The secret travels only as the ``X-Hasura-Admin-Secret``
header; Airflow masks it as a connection password wherever it might be logged.

The header is sent only where nobody on the way can read it: over ``https`` with the
server's certificate verified, or over plain HTTP to a loopback address (127.0.0.0/8,
``::1``, ``localhost``) with no proxy in between. ``HttpHook`` falls back to ``http``
when the connection has no schema, so this is checked on the session the hook built,
before any request; redirects are not followed (a redirect keeps custom headers).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk.exceptions import AirflowFailException

from etl_bundle.common.http_retries import TransientHttpError, raise_for_transient, with_http_retries
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


class HasuraDatabaseError(TransientHttpError):
    """Hasura's ``database query error``: its database failed under the request (nothing committed).

    Worth another try, as a 5xx is: Moped's database restarting answers this way.
    """


# Hasura's codes for a failure of its database rather than of the request (hasura/graphql-engine#6489).
TRANSIENT_CODES = frozenset({"unexpected", "postgres-error"})


class InsecureTransportError(AirflowFailException):
    """The admin secret would travel where it could be read: refused before any request."""


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback IP literal (127.0.0.0/8, ``::1``); names are not resolved."""
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _verifies_tls(verify: Any) -> bool:
    """requests' ``verify``: True or a CA bundle path is on; False, or a false-ish text an extra left, is off."""
    if isinstance(verify, str):
        return verify.strip().lower() not in ("", "false", "0", "no", "off", "none")
    return verify is not False and verify is not None and verify != 0


def secret_transport_problem(base_url: str, *, verify: Any, proxy: str | None) -> str | None:
    """Why the admin secret must not be sent to ``base_url`` (None when it may).

    ``verify`` is the session's TLS verification setting, ``proxy`` the proxy a request
    to ``base_url`` would go through. The answer names scheme and host, never the URL
    (it may carry credentials).
    """
    parts = urlsplit(base_url)
    scheme, host = (parts.scheme or "").lower(), parts.hostname
    where = f"{scheme or 'no scheme'}://{host or '?'}"
    if scheme == "https":
        if is_loopback_host(host) or _verifies_tls(verify):
            return None
        return f"TLS certificate verification is off (extra verify/verify_ssl) for {where}"
    if scheme == "http":
        if not is_loopback_host(host):
            return f"{where} is plain HTTP to a host that is not loopback; use https"
        if proxy:
            return f"{where} is plain HTTP through a proxy; use https or no proxy for loopback"
        return None
    return f"{where}: only https (or http to a loopback address) may carry the admin secret"


def check_secret_transport(hook: Any, session: Any, conn_id: str, url: str) -> None:
    """Raise ``InsecureTransportError`` naming ``conn_id`` unless the session may carry the secret to ``url``."""
    from requests.utils import select_proxy

    settings = session.merge_environment_settings(
        url, proxies=session.proxies, stream=session.stream, verify=session.verify, cert=session.cert
    )
    if getattr(hook, "_srv_lookup_enabled", False) and urlsplit(url).scheme != "https":
        problem = "SRV lookup picks the hosts, so only https is accepted"
    else:
        problem = secret_transport_problem(
            url, verify=settings.get("verify"), proxy=select_proxy(url, settings.get("proxies") or {})
        )
    if problem:
        raise InsecureTransportError(
            f"connection {conn_id!r}: the Hasura admin secret is not sent: {problem}. "
            "Set the connection's schema to https (and keep TLS verification on)."
        )


# A quoted token is a name when a Postgres message calls it one (column "x", relation "y"); any
# other quoted token may be a row's value (value "3000000000", syntax for type integer: "abc").
_NAMED = r"(?:column|relation|constraint|table|index|schema|type|function|trigger|view|sequence|field|variable|at)"
_QUOTED_TOKEN = re.compile(rf'(?P<name>\b{_NAMED}\s+)?(?P<quote>["\'])(?P<inner>[^"\']*)(?P=quote)', re.IGNORECASE)


def without_values(message: str) -> str:
    """Hasura's relay of a database message with every quoted value replaced by ``…`` (names kept).

    Hasura passes Moped's Postgres messages on (``value "…" is out of range for type
    integer``), and its GraphQL layer quotes variables it cannot coerce: those can be a
    row's text. ``etl_bundle.common.db_errors`` does this for psycopg errors, which carry
    the names apart; a message relayed as text does not.
    """

    def replace(match: re.Match) -> str:
        if match["name"]:
            return match.group(0)
        return f"{match['quote']}…{match['quote']}"

    return _QUOTED_TOKEN.sub(replace, message)


def describe_errors(payload: dict[str, Any]) -> str:
    """Hasura's errors, one per line: message (values left out), code and path (no request data)."""
    lines = []
    for error in payload.get("errors") or []:
        extensions = error.get("extensions") or {}
        message = without_values(str(error.get("message")))
        lines.append(f"{message} (code {extensions.get('code')}, at {extensions.get('path')})")
    return "; ".join(lines) or f"an answer without data or errors (keys {sorted(payload)})"


class MopedClient:
    def __init__(self, conn_id: str, *, timeout_seconds: float = 60, attempts: int = 3):
        self.conn_id = conn_id
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts

    def execute(self, name: str, variables: dict[str, Any], *, retry: bool = True) -> dict[str, Any]:
        """Run ``include/graphql/ecapris/<name>.graphql``; its ``data`` or ``HasuraError``.

        ``retry=False`` for a mutation: an answer lost after Hasura committed would make a
        resend repeat it, so the caller reads Moped back before sending again.
        """
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        secret = hook.get_connection(self.conn_id).password
        if not secret:
            raise HasuraError(f"connection {self.conn_id!r} has no admin secret in its password field")
        extra_options = {"timeout": self.timeout_seconds, "check_response": False, "allow_redirects": False}
        # The session the hook will send with, built without the secret: checked before any request.
        check_secret_transport(
            hook, hook.get_conn(extra_options=extra_options), self.conn_id, hook.url_from_endpoint(GRAPHQL_PATH)
        )
        headers = {"Content-Type": "application/json", "X-Hasura-Admin-Secret": secret}
        body = json.dumps({"query": operation(name), "variables": variables})

        def attempt():
            response = hook.run(GRAPHQL_PATH, data=body, headers=headers, extra_options=extra_options)
            raise_for_transient(response, WHAT)
            try:
                payload = response.json()
            except ValueError:
                raise HasuraError(f"{WHAT} answered {name} with HTTP {response.status_code} and no JSON") from None
            codes = {(e.get("extensions") or {}).get("code") for e in payload.get("errors") or []}
            if codes and codes <= TRANSIENT_CODES:
                raise HasuraDatabaseError(f"{WHAT} answered {name} with {describe_errors(payload)}")
            return response, payload

        response, payload = with_http_retries(attempt, what=WHAT, attempts=self.attempts if retry else 1)
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
        data = self.execute("upsert_statuses", {"objects": objects}, retry=False)
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
        data = self.execute("repair_subproject_names", {"updates": updates}, retry=False)
        return sum(response["affected_rows"] for response in data["update_ecapris_subproject_statuses_many"])
