"""Loaded by ``schemathesis run`` (``SCHEMATHESIS_HOOKS=schemathesis_hooks``) in test_schemathesis.py.

Every generated request is sent as a signed-in Admin with a session and token minted for it
alone, the way the service itself signs one (same key, same claims, a session row). A fresh
session per request means a generated ``DELETE /api/authenticate`` ends only its own session,
and minting needs no login, so the login throttling that the fuzzer's failed logins set off
never locks the Admin out.
"""

import os
import secrets
import time

import schemathesis

from wsgi_auth import tokens
from wsgi_auth.store import open_store

DATABASE = os.environ["WSGI_AUTH_DATABASE"]
KEY = os.environ["WSGI_AUTH_SECRET_KEY"].encode("utf-8")
ADMIN_UID = os.environ["OPS_ADMIN_UID"]
COOKIE_NAME = "jwt_python_flask"


@schemathesis.auth(refresh_interval=None, retry_on=[])
class FreshAdminToken:
    def __init__(self):
        self.store = open_store(DATABASE)

    def get(self, case, context):
        user, _, token_version = self.store.credentials(ADMIN_UID)  # read each time: a role or version change shows
        now, sid = time.time(), secrets.token_urlsafe(16)
        self.store.create_session(sid, user["id"], now, now + 3600, "schemathesis", "127.0.0.1")
        token, _ = tokens.issue(user, token_version, KEY, 3600, now, sid=sid)
        return token

    def set(self, case, data, context):
        case.cookies = {**(case.cookies or {}), COOKIE_NAME: data}


@schemathesis.hook
def before_call(context, case, kwargs):
    """Never change or delete the Admin the run is signed in as. schemathesis reuses uids it saw in
    responses (GET /api/users lists the Admin), and an Admin who deleted or demoted itself would leave
    the rest of the run with nothing but 401s and 403s."""
    if case.path_parameters and str(case.path_parameters.get("uid", "")).lower() == ADMIN_UID.lower():
        case.path_parameters = {**case.path_parameters, "uid": "not-the-admin"}
