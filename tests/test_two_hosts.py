"""Two hosts behind nginx: two serve.py processes (own instance directories, one secret key, one
PostgreSQL database) behind nginx with TLS (a throwaway self-signed certificate) and round robin.

Everything goes over HTTPS through nginx, as a browser would; ``WSGI_AUTH_TRUSTED_PROXIES=1``
makes each host trust nginx's ``X-Forwarded-For``/``-Proto``.
"""

import http.client
import json
import ssl

from support import PASSWORD
from support.two_hosts import two_hosts  # noqa: F401  (fixture)
class Browser:
    """HTTPS through nginx with one cookie jar (the self-signed certificate trusted, as a test may)."""

    def __init__(self, port):
        self.port, self.cookie = port, None
        self.context = ssl.create_default_context()
        self.context.check_hostname, self.context.verify_mode = False, ssl.CERT_NONE

    def request(self, method, path, body=None):
        connection = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=20)
        headers = {"X-Origin": "client"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.cookie:
            headers["Cookie"] = self.cookie
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("jwt_python_flask="):
                self.cookie = value.split(";", 1)[0] if "Max-Age=0" not in value else None
        connection.close()
        return response.status, json.loads(data) if data else None


def _served(logs, name):
    return logs[name].read_text().count("/api/")


def test_two_hosts_behind_nginx_act_as_one_service(two_hosts):
    from wsgi_auth.store import open_store

    browser = Browser(two_hosts["port"])
    assert browser.request("POST", "/api/user", {"uid": "alice", "name": "Alice", "password": PASSWORD})[0] == 201
    assert browser.request("POST", "/api/authenticate", {"uid": "alice", "password": PASSWORD})[0] == 200
    # a cookie from one host works on the other: round robin sends these to both
    assert [browser.request("GET", "/api/id")[0] for _ in range(6)] == [200] * 6
    assert _served(two_hosts["logs"], "a") >= 3 and _served(two_hosts["logs"], "b") >= 3

    store = open_store(two_hosts["database"])
    try:
        store.set_role("alice", "Admin")  # a role change holds on both at once
        assert {browser.request("GET", "/api/users")[0] for _ in range(4)} == {200}
        store.set_role("alice", "User")
        assert {browser.request("GET", "/api/users")[0] for _ in range(4)} == {403}

        stolen = browser.cookie
        assert browser.request("DELETE", "/api/authenticate")[0] == 200  # logout holds on both at once
        browser.cookie = stolen
        assert {browser.request("GET", "/api/id")[0] for _ in range(4)} == {401}

        browser.request("POST", "/api/authenticate", {"uid": "alice", "password": PASSWORD})
        store.delete_user("alice")  # a deletion holds on both at once
        assert {browser.request("GET", "/api/id")[0] for _ in range(4)} == {401}
    finally:
        store.close()

    attacker = Browser(two_hosts["port"])
    attacker.request("POST", "/api/user", {"uid": "bob", "name": "Bob", "password": PASSWORD})
    statuses = [attacker.request("POST", "/api/authenticate", {"uid": "bob", "password": "wrong password!"})[0]
                for _ in range(8)]  # fmt: skip
    assert statuses == [401] * 5 + [429] * 3  # the throttle counts across both hosts


def test_both_hosts_down_in_turn_within_fail_timeout_then_up_serve_at_once(two_hosts):
    """nginx's default (max_fails=1, fail_timeout=10s) marks each host dead at its first refused connection;
    both marked within 10 s leaves "no live upstreams", a 502 for every request although both are up again.
    With ``max_fails=0`` (OPERATIONS.md) a refused connection passes the request to the other host, and
    nothing is remembered."""
    browser = Browser(two_hosts["port"])
    for name in ("a", "b"):
        host = two_hosts["hosts"][name]
        host.stop()
        assert [browser.request("GET", "/api/health")[0] for _ in range(4)] == [200] * 4  # the other one answers
        host.start()
    assert [browser.request("GET", "/api/health")[0] for _ in range(10)] == [200] * 10
