"""The environ keys the layers set are the ones ``http.py`` names, read back through ``Request``."""

from support import OWN_ENVIRON, login, signup
from webtest import TestRequest

from wsgi_auth import http


def run(app, path, **headers):
    environ = TestRequest.blank(path, environ=dict(OWN_ENVIRON), headers=headers).environ
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen.update(response_headers)

    b"".join(app(environ, start_response))
    return environ, seen


def test_every_key_a_layer_sets_is_a_string_and_named_in_http(app, client):
    signup(client, "alice")
    cookie = login(client, "alice").headers["Set-Cookie"].split(";")[0]
    environ, headers = run(app, "/api/id", Cookie=cookie, **{"X-Request-ID": "req-1"})
    ours = {key for key in environ if not isinstance(key, str) or key.startswith("wsgi_auth.")}
    assert ours == {http.USER, http.CLAIMS, http.SESSION, http.TOKEN_STATE, http.LOG_UID, http.REQUEST_ID}
    request = http.Request(environ)
    assert request.request_id == headers["X-Request-ID"] == "req-1"
    assert request.user["uid"] == request.log_uid == "alice"
    assert request.claims["_uid"] == "alice"


def test_a_request_without_a_cookie_says_the_token_is_missing(app):
    environ, _ = run(app, "/api/id")
    request = http.Request(environ)
    assert request.user is None and request.token_state == "missing" and request.log_uid is None
