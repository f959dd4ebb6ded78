"""Fuzzing: endpoints x methods x header sets x body shapes, chosen by Hypothesis.

Whatever arrives, the answer is never a 5xx, every 4xx is the contract's JSON error body,
``*`` is never sent as an allowed origin, and nothing secret comes back.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import (
    ALLOWED_ORIGINS,
    COOKIE_NAME,
    OWN_ORIGIN,
    PASSWORD,
    SECRET_KEY,
    assert_error,
    assert_no_leaks,
    forge,
    token_for,
    new_client,
    signup,
    unverified_claims,
)

PATHS = ["/api/authenticate", "/api/id", "/api/data", "/api/user", "/api/users", "/api/users/alice",
         "/api/users/root", "/api/users/nobody", "/api/health", "/api/openapi.json", "/api", "/api/",
         "/", "/index.html", "/config.js", "/nowhere"]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]
FIELDS = ["uid", "password", "name", "email", "role", "current_password", "token", "id"]
CONTENT_TYPES = [None, "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
                 "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/json;;", "application/json; charset", "\u00e9/json"]  # fmt: skip
ORIGINS = [None, *ALLOWED_ORIGINS, OWN_ORIGIN, "null", "http://localhost:4100.evil.test", "https://evil.test", ""]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)  # fmt: skip
field_values = json_values | st.sampled_from(["alice", "root", PASSWORD, "\ud800", "a" * 300, "Admin", "User",
                                              "' OR '1'='1", "a@b.io", ""])  # fmt: skip
bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=5).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"{", b"[" * 5000, b'{"uid": NaN}', b'{"a": 1e999}', b"\xff\xfe", b"null", b"{}" * 3]),
)
paths = st.sampled_from(PATHS) | st.builds(
    lambda prefix, tail: prefix + quote(tail, safe="/", errors="surrogatepass"),
    st.sampled_from(["/api/", "/api/users/", "/"]),
    st.text(max_size=40),
)


def header_sets(tokens):
    return st.fixed_dictionaries(
        {},
        optional={
            "Origin": st.sampled_from([o for o in ORIGINS if o is not None]),
            "X-Origin": st.sampled_from(["client", ""]),
            "Content-Type": st.sampled_from([c for c in CONTENT_TYPES if c is not None]),
            "Cookie": st.sampled_from(tokens).map(lambda t: f"{COOKIE_NAME}={t}")
            | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
            "Access-Control-Request-Method": st.sampled_from(METHODS),
            "X-Request-ID": st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
            "X-Forwarded-For": st.sampled_from(["1.2.3.4", "evil", ""]),
        },
    )


@pytest.fixture
def fuzz_target(app):
    client = new_client(app)
    signup(client, "alice")
    token = token_for(client, "alice")
    admin_token = (signup(client, "root"), app.store.set_role("root", "Admin"), token_for(client, "root"))[2]
    forged = forge({**unverified_claims(token), "_uid": "root"}, "not-our-key-" * 4)
    return client, [token, admin_token, forged, "garbage", token + "x", ""]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")  # PROPFIND and TRACE are sent on purpose
def test_no_input_makes_a_5xx_or_breaks_the_error_contract(fuzz_target):
    client, tokens = fuzz_target

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(method=st.sampled_from(METHODS), path=paths, headers=header_sets(tokens), body=bodies)
    def check(method, path, headers, body):
        if body is not None and method in ("GET", "HEAD", "OPTIONS", "TRACE") and len(body) % 2:
            body = None  # sometimes a GET with a body, sometimes not
        response = client.request(path, method=method, headers=headers, body=body or b"", expect_errors=True)
        status = response.status_int
        assert status < 500, (method, path, headers, body, response.body[:300])
        assert response.headers.get("Access-Control-Allow-Origin") != "*"
        if method != "HEAD" and status >= 400:
            assert_error(response, status)
        if status != 204 and method != "HEAD":
            assert_no_leaks(response.text, SECRET_KEY, *(t for t in tokens if len(t) > 20))
        if path.startswith("/api/") and method != "HEAD" and status != 204:
            assert response.headers["Cache-Control"] == "no-store"

    check()
