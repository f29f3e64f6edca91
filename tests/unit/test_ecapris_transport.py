"""Where the Hasura admin secret may travel, and Hasura's relayed messages without row values."""

from __future__ import annotations

import json

import pytest

from etl_bundle.ecapris.moped import (
    InsecureTransportError,
    MopedClient,
    describe_errors,
    is_loopback_host,
    secret_transport_problem,
    without_values,
)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.5.6.7", "::1", "[::1]", "::ffff:127.0.0.1"]
)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [None, "", "moped.austintexas.gov", "10.0.0.5", "128.0.0.1", "localhost.example.org", "0.0.0.0", "::"],  # noqa: S104
)
def test_hosts_that_are_not_loopback(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("url", "verify", "proxy"),
    [
        ("https://moped.austintexas.gov/v1/graphql", True, None),
        ("https://moped.austintexas.gov/v1/graphql", "/etc/ssl/certs/ca.pem", None),
        ("https://moped.austintexas.gov/v1/graphql", True, "http://proxy.city:3128"),  # a CONNECT tunnel
        ("http://127.0.0.1:8080/v1/graphql", True, None),
        ("http://localhost:8080/v1/graphql", False, None),
        ("http://[::1]:8080/v1/graphql", True, None),
        ("https://127.0.0.1:8443/v1/graphql", False, None),  # loopback: nobody in between
    ],
)
def test_the_secret_may_go(url, verify, proxy):
    assert secret_transport_problem(url, verify=verify, proxy=proxy) is None


@pytest.mark.parametrize(
    ("url", "verify", "proxy", "says"),
    [
        ("http://moped.austintexas.gov/v1/graphql", True, None, "plain HTTP"),
        ("http://10.0.0.5:8080/v1/graphql", True, None, "plain HTTP"),
        ("https://moped.austintexas.gov/v1/graphql", False, None, "verification is off"),
        ("https://moped.austintexas.gov/v1/graphql", "false", None, "verification is off"),
        ("https://moped.austintexas.gov/v1/graphql", "0", None, "verification is off"),
        ("http://127.0.0.1:8080/v1/graphql", True, "http://proxy.city:3128", "through a proxy"),
        ("ftp://moped.austintexas.gov/v1/graphql", True, None, "only https"),
    ],
)
def test_the_secret_is_refused(url, verify, proxy, says):
    problem = secret_transport_problem(url, verify=verify, proxy=proxy)
    assert problem and says in problem


def test_the_refusal_names_scheme_and_host_never_credentials_in_the_url():
    problem = secret_transport_problem(
        "http://admin:hunter2-secret@moped.example.org/v1/graphql", verify=True, proxy=None
    )
    assert "moped.example.org" in problem and "hunter2-secret" not in problem


@pytest.mark.parametrize(
    ("connection", "says"),
    [
        ({"conn_type": "http", "host": "moped.example.org", "port": 8080}, "plain HTTP"),  # no schema: http
        ({"conn_type": "http", "host": "moped.example.org", "schema": "http"}, "plain HTTP"),
        (
            {"conn_type": "http", "host": "moped.example.org", "schema": "https", "extra": {"verify": False}},
            "verification is off",
        ),
        (
            {"conn_type": "http", "host": "moped.example.org", "schema": "https", "extra": {"verify_ssl": "false"}},
            "verification is off",
        ),
        (
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "schema": "http",
                "extra": {"proxies": {"http": "http://proxy.city:3128"}},
            },
            "through a proxy",
        ),
    ],
)
def test_the_client_refuses_before_sending_naming_the_connection(monkeypatch, connection, says):
    import requests

    secret = "admin-secret-under-test-1234"
    monkeypatch.setenv("AIRFLOW_CONN_MOPED_UNDER_TEST", json.dumps({**connection, "password": secret}))
    sent = []
    monkeypatch.setattr(requests.Session, "send", lambda self, request, **kw: sent.append(request))

    with pytest.raises(InsecureTransportError) as refused:
        MopedClient("moped_under_test").subproject_ids(respect_sync_flag=True)
    text = str(refused.value)
    assert "'moped_under_test'" in text and says in text and secret not in text
    assert sent == []


def test_a_proxy_from_the_environment_counts_for_loopback_http(monkeypatch):
    import requests

    monkeypatch.setenv(
        "AIRFLOW_CONN_MOPED_UNDER_TEST",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 8080, "password": "admin-secret-under-test"}),
    )
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.city:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(requests.Session, "send", lambda *a, **kw: pytest.fail("a request was sent"))
    with pytest.raises(InsecureTransportError, match="through a proxy"):
        MopedClient("moped_under_test").subproject_ids(respect_sync_flag=True)


@pytest.mark.parametrize(
    ("message", "kept", "left_out"),
    [
        ('value "3000000000" is out of range for type integer', ["out of range for type integer"], ["3000000000"]),
        ('invalid input syntax for type integer: "Garcia, Ana"', ["type integer"], ["Garcia, Ana"]),
        (
            'null value in column "reviewed_by_name" of relation "ecapris_subproject_statuses" violates not-null',
            ['column "reviewed_by_name"', 'relation "ecapris_subproject_statuses"'],
            [],
        ),
        (
            "Variable '$objects' got invalid value 'Jane Roe' at 'objects[0].subproject_status_id'; "
            "Int cannot represent non-integer value: 'Jane Roe'",
            ["'$objects'", "'objects[0].subproject_status_id'"],
            ["Jane Roe"],
        ),
    ],
)
def test_relayed_database_messages_keep_names_and_lose_values(message, kept, left_out):
    text = without_values(message)
    assert all(part in text for part in kept), text
    assert not any(part in text for part in left_out), text
    described = describe_errors({"errors": [{"message": message, "extensions": {"code": "data-exception"}}]})
    assert not any(part in described for part in left_out)
