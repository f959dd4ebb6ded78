"""The honest minimal baseline: the least work that ``GET /api/id`` needs.

One bare WSGI function: parse the cookie (werkzeug.http.parse_cookie), verify the
JWT (``jwt.decode(..., algorithms=["HS256"])`` requiring exp, iat, jti and
_uid, as wsgi_auth does), SELECT the user by uid with sqlite3 (one connection per
thread), answer JSON. No CORS, no CSRF, no revocation, no logging, no routing:
whatever wsgi_auth costs above this is the price of its features.
"""

import json
import sqlite3
import threading
import time
import uuid

import jwt
from werkzeug.http import parse_cookie

COOKIE_NAME = "jwt_python_flask"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL DEFAULT 'User',
    created_at TEXT NOT NULL,
    password TEXT NOT NULL
)
"""


def init_db(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute(SCHEMA)
    conn.close()


def add_user(db_path, uid, password_hash, name=None, email=None):
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO users (uid, name, email, role, created_at, password) VALUES (?, ?, ?, 'User', ?, ?)",
            (uid, name or uid, email, "2025-01-01T00:00:00Z", password_hash),
        )
    conn.close()


def mint_token(uid, secret, ttl=3600):
    """PyJWT as the lesson uses it, with the claims wsgi_auth requires so both decode the same way."""
    now = int(time.time())
    payload = {"_uid": uid, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    return jwt.encode(payload, secret, algorithm="HS256")


def _json(start_response, status, obj):
    body = json.dumps(obj).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def make_app(db_path, secret, cookie_name=COOKIE_NAME):
    local = threading.local()

    def connect():
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db_path, check_same_thread=True)
        return conn

    def app(environ, start_response):
        token = parse_cookie(environ.get("HTTP_COOKIE", "")).get(cookie_name)
        if not token:
            return _json(start_response, "401 Unauthorized", {"message": "Authentication token is missing"})
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"],
                                options={"require": ["exp", "iat", "jti", "_uid"]})
        except jwt.PyJWTError:
            return _json(start_response, "401 Unauthorized", {"message": "Invalid or expired authentication token"})
        row = connect().execute(
            "SELECT id, uid, name, email, role, created_at FROM users WHERE uid = ?", (claims["_uid"],)
        ).fetchone()
        if row is None:
            return _json(start_response, "401 Unauthorized", {"message": "Invalid or expired authentication token"})
        user = dict(zip(("id", "uid", "name", "email", "role", "created_at"), row))
        return _json(start_response, "200 OK", user)

    return app
