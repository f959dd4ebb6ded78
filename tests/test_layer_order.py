"""One error path (issue 20): the layers raise their refusals and ErrorMiddleware answers them all.

The layers that raise (token_required, static, csrf, and the router below them) work in any order under
ErrorMiddleware; CORS sits above it, so that every error answer has its CORS headers, and answers the
one refusal that is its own (a preflight from a foreign origin) itself.
"""

import itertools

import pytest
from support import ALLOWED_ORIGINS, CSRF_REFUSED, X_ORIGIN, assert_error, new_client

from wsgi_auth import hash_gate, throttle
from wsgi_auth.http import HTTPError
from wsgi_auth.features.passkeys import webauthn
from wsgi_auth.http import RENEWAL
from wsgi_auth.middleware.cors import CORSMiddleware, OriginPolicy
from wsgi_auth.middleware.csrf import CSRFMiddleware
from wsgi_auth.middleware.errors import SERVER_ERROR, STATUSES, ErrorMiddleware, as_http_error
from wsgi_auth.middleware.static import StaticFiles
from wsgi_auth.middleware.token_required import TokenRequired
from wsgi_auth.routing import Router
from wsgi_auth.store import StoreUnavailable
from wsgi_auth.throttle import Throttled

RAISING = ("auth", "static", "csrf")  # under ErrorMiddleware, in any order


def build(app, order):
    """The app's own router under the given layers, ``order`` innermost first."""
    policy = OriginPolicy(app.settings.allowed_origins)
    wrap = {
        "auth": lambda inner: TokenRequired(inner, app.store, app.services.sessions, app.settings),
        "static": lambda inner: StaticFiles(inner, app.settings.public_dir),
        "csrf": lambda inner: CSRFMiddleware(inner, policy),
        "errors": ErrorMiddleware,
        "cors": lambda inner: CORSMiddleware(inner, policy),
    }
    stack = Router(app.services)
    for name in order:
        stack = wrap[name](stack)
    return stack


ORDERS = [(*order, "errors", "cors") for order in itertools.permutations(RAISING)]


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_refusals_are_json_whatever_the_order_of_the_layers_that_raise(app, order):
    client = new_client(build(app, order))
    # CSRF: a form post from a foreign page
    resp = client.post("/api/authenticate", "uid=a&password=b", content_type="application/x-www-form-urlencoded",
                       status=403)  # fmt: skip
    assert_error(resp, 403, message_contains=CSRF_REFUSED)
    resp = client.post_json("/api/user", {}, headers={"Origin": "http://evil.test"}, status=403)
    assert_error(resp, 403, message_contains=CSRF_REFUSED)
    # CORS: a preflight from an origin that is not allowed
    resp = client.options("/api/id", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"},
                          status=403)  # fmt: skip
    assert_error(resp, 403)
    # static: a write to a page, a missing file
    assert_error(client.put("/index.html", headers=X_ORIGIN, status=405), 405)
    assert_error(client.get("/nothing-here.html", status=404), 404)
    # router and auth: unknown path, no cookie, a handler's own 400
    assert_error(client.get("/api/nothing", status=404), 404)
    assert_error(client.get("/api/id", status=401), 401)
    assert_error(client.post_json("/api/authenticate", {}, status=400), 400)
    # every error answer, whichever layer raised it, has the CORS headers of an allowed origin
    origin = {"Origin": ALLOWED_ORIGINS[0]}
    for resp in (client.post("/api/user", "x", content_type="text/plain", headers=origin, status=403),
                 client.get("/nothing-here.html", headers=origin, status=404),
                 client.get("/api/id", headers=origin, status=401)):  # fmt: skip
        assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGINS[0]


@pytest.mark.parametrize("layer", RAISING + ("router",))
def test_a_layer_raises_its_refusal_and_answers_none_itself(app, layer):
    """Without ErrorMiddleware above, the refusal escapes as an exception: no layer writes an error answer."""
    order = {"router": (), "auth": ("auth",), "static": ("static",), "csrf": ("csrf",)}[layer]
    client = new_client(build(app, order))
    request = {
        "router": lambda: client.get("/api/nothing"),
        "auth": lambda: client.get("/api/id"),
        "static": lambda: client.get("/nothing-here.html"),
        "csrf": lambda: client.post("/api/user", "x", content_type="text/plain"),
    }[layer]
    with pytest.raises(HTTPError):
        request()


def test_the_real_stack_has_every_raising_layer_under_error_middleware_and_cors_above_it(app):
    stack, layer = [], app.wsgi
    while layer is not None:
        stack.append(type(layer))
        layer = getattr(layer, "app", None)
    errors = stack.index(ErrorMiddleware)
    assert stack.index(CORSMiddleware) < errors  # above it: error answers get the CORS headers
    for raising in (CSRFMiddleware, StaticFiles, TokenRequired, Router):
        assert stack.index(raising) > errors, raising


def test_the_real_stack_refuses_csrf_as_before(client):
    resp = client.post("/api/user", "x", content_type="text/plain", status=403)
    assert_error(resp, 403, message_contains=CSRF_REFUSED)


# -- the error table: what the layers below the web raise, answered ---------------------------------------------


def raising(error, environ_extra=None):
    """A WSGI app that raises ``error`` (after putting ``environ_extra`` into the environ), under ErrorMiddleware."""

    def app(environ, start_response):
        environ.update(environ_extra or {})
        raise error

    return new_client(ErrorMiddleware(app))


@pytest.mark.parametrize(
    "error, status, message, retry_after",
    [
        (Throttled("Too many failed logins for this user id; try again in 7 seconds", 7), 429,
         "Too many failed logins for this user id; try again in 7 seconds", "7"),
        (throttle.Busy(throttle.BUSY_USER, 1), 503, throttle.BUSY_USER, "1"),
        (hash_gate.Busy(hash_gate.BUSY, 3), 503, hash_gate.BUSY, "3"),
        (StoreUnavailable(), 503, "The database cannot be read", "5"),
        (StoreUnavailable(written=True), 503, "The database cannot be written", "5"),
        (webauthn.NoSite(), 400, "The request's Host header names no site for passkeys", None),
    ],
)  # fmt: skip
def test_each_domain_exception_is_answered_by_the_table(error, status, message, retry_after):
    resp = raising(error).get("/api/anything", status=status)
    assert_error(resp, status, message)
    assert resp.headers.get("Retry-After") == retry_after
    assert as_http_error(error).status == STATUSES[type(error)] == status


def test_a_bug_is_a_generic_500_and_its_text_stays_in_the_log(caplog):
    resp = raising(KeyError("secret detail")).get("/api/anything", status=500)
    assert_error(resp, 500, SERVER_ERROR)
    assert b"secret detail" not in resp.body and "secret detail" in caplog.text


def test_an_error_answer_gets_the_renewed_cookie_unless_it_sets_that_cookie_itself():
    renewal = {RENEWAL: [("Set-Cookie", "jwt_python_flask=renewed; Max-Age=3600; Path=/")]}
    resp = raising(HTTPError(400, "Bad"), renewal).get("/api/anything", status=400)
    assert resp.headers.getall("Set-Cookie") == ["jwt_python_flask=renewed; Max-Age=3600; Path=/"]
    own = HTTPError(401, "Signed out", [("Set-Cookie", "jwt_python_flask=; Max-Age=0; Path=/")])
    resp = raising(own, renewal).get("/api/anything", status=401)
    assert resp.headers.getall("Set-Cookie") == ["jwt_python_flask=; Max-Age=0; Path=/"]
    assert raising(HTTPError(400, "Bad")).get("/api/anything", status=400).headers.getall("Set-Cookie") == []
