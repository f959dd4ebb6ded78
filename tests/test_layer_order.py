"""Each layer that refuses a request answers it itself: the stack works in any order (issue 9, Structure)."""

import itertools

import pytest
from support import CSRF_REFUSED, X_ORIGIN, assert_error, new_client

from wsgi_auth.middleware.token_required import TokenRequired
from wsgi_auth.middleware.cors import CORSMiddleware, OriginPolicy
from wsgi_auth.middleware.csrf import CSRFMiddleware
from wsgi_auth.middleware.errors import ErrorMiddleware
from wsgi_auth.middleware.static import StaticFiles
from wsgi_auth.routing import Router

LAYERS = ("auth", "static", "csrf", "errors", "cors")


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


ORDERS = [LAYERS, tuple(reversed(LAYERS)), ("errors", "csrf", "cors", "static", "auth")]


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_refusals_are_json_whatever_the_order(app, order):
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


def test_every_order_refuses_csrf_without_an_exception(app):
    for order in itertools.permutations(LAYERS):
        resp = new_client(build(app, order)).post("/api/user", "x", content_type="text/plain", status=403)
        assert resp.json["error"] == "Forbidden", order


def test_the_real_stack_refuses_csrf_as_before(client):
    resp = client.post("/api/user", "x", content_type="text/plain", status=403)
    assert_error(resp, 403, message_contains=CSRF_REFUSED)
