"""Behind a proxy: ``WSGI_AUTH_TRUSTED_PROXIES=N`` trusts the last N hops of ``X-Forwarded-For``
(and ``-Proto``, ``-Host``), through werkzeug's ProxyFix; with the default 0 those headers are ignored.

The client address is what login throttling counts per address (50 failures in 15
minutes) and what the access log shows, so trusting the header wrongly would let
anyone pick a fresh address per request, and not trusting it behind nginx would
throttle every user of the proxy together.
"""

import pytest

from wsgi_auth import throttle

from support import PASSWORD

from .ops_support import ops_client

PROXY = "10.0.0.2"  # REMOTE_ADDR as the app sees it: the proxy's address


def fail_login(client, n, forwarded_for, status=401):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post_json("/api/authenticate", {"uid": f"user{n}", "password": "wrong password"},
                            headers=headers, status=status)  # fmt: skip


def fill_address_quota(client, forwarded_for):
    for n in range(throttle.MAX_FAILURES_PER_ADDRESS):
        fail_login(client, n, forwarded_for(n))


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make_app, access_log):
    client = ops_client(make_app(), REMOTE_ADDR=PROXY)
    # A fresh made-up address on every attempt does not escape the per-address count.
    fill_address_quota(client, lambda n: f"203.0.113.{n}")
    response = fail_login(client, 999, "198.51.100.99", status=429)
    assert "from this address" in response.json["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert {line.split()[1] for line in access_log.getvalue().splitlines()} == {PROXY}


def test_with_one_trusted_proxy_the_forwarded_client_is_counted(make_app, access_log):
    client = ops_client(make_app(trusted_proxies=1), REMOTE_ADDR=PROXY)
    fill_address_quota(client, lambda n: "203.0.113.7")
    assert "from this address" in fail_login(client, 999, "203.0.113.7", status=429).json["message"]
    fail_login(client, 999, "203.0.113.8", status=401)  # another client behind the same proxy is not throttled
    clients = [line.split()[1] for line in access_log.getvalue().splitlines()]
    assert set(clients) == {"203.0.113.7", "203.0.113.8"}


def test_only_the_hop_the_proxy_added_is_trusted(make_app):
    """nginx appends the address it saw; whatever the client wrote before it is not believed."""
    client = ops_client(make_app(trusted_proxies=1), REMOTE_ADDR=PROXY)
    fill_address_quota(client, lambda n: f"6.6.6.{n}, 203.0.113.7")
    fail_login(client, 999, "1.2.3.4, 203.0.113.7", status=429)


def test_signups_are_counted_per_forwarded_client(make_app):
    client = ops_client(make_app(trusted_proxies=1), REMOTE_ADDR=PROXY)
    for n in range(throttle.MAX_SIGNUPS_PER_ADDRESS):
        client.post_json("/api/user", {"uid": f"u{n}", "name": "N", "password": PASSWORD},
                         headers={"X-Forwarded-For": "203.0.113.7"})  # fmt: skip
    body = {"uid": "late", "name": "N", "password": PASSWORD}
    client.post_json("/api/user", body, headers={"X-Forwarded-For": "203.0.113.7"}, status=429)
    client.post_json("/api/user", body, headers={"X-Forwarded-For": "203.0.113.8"}, status=201)


@pytest.mark.parametrize("trusted, status", [(0, 403), (1, 200)])
def test_forwarded_proto_and_host_make_the_public_origin_the_own_origin(make_app, trusted, status):
    """Behind TLS termination the app is reached over http; X-Forwarded-Proto/-Host give back its public origin."""
    app = make_app(trusted_proxies=trusted)
    client = ops_client(app, REMOTE_ADDR=PROXY, **{"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8587"})
    headers = {"Origin": "https://auth.example.test", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "auth.example.test", "X-Forwarded-For": "203.0.113.7"}  # fmt: skip
    client.post_json("/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD}, headers=headers,
                     status=201 if trusted else 403)  # fmt: skip
    response = client.post_json("/api/authenticate", {"uid": "toby", "password": PASSWORD}, headers=headers,
                                status=status)  # fmt: skip
    if trusted:
        assert response.headers["Access-Control-Allow-Origin"] == "https://auth.example.test"


# -- serve.py: waitress hands the headers to the app, and the app decides ------------------------------------


def test_serve_ignores_x_forwarded_for_by_default(serve):
    service = serve()
    service.request("GET", "/api/health", headers={"X-Forwarded-For": "203.0.113.7", "X-Request-ID": "xff-0"})
    line = next(line for line in service.stderr().splitlines() if line.endswith(" xff-0 -"))
    assert line.split()[1] == "127.0.0.1"


def test_serve_uses_x_forwarded_for_with_one_trusted_proxy(serve):
    service = serve(trusted_proxies=1)
    service.request("GET", "/api/health", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Request-ID": "xff-1"})
    line = next(line for line in service.stderr().splitlines() if line.endswith(" xff-1 -"))
    assert line.split()[1] == "203.0.113.7"
