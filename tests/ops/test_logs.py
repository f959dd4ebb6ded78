"""Logs: one access-log line per request, a request id that ties the line to the answer, JSON lines on
request, and unexpected errors logged once with their traceback, on the server only.

A text line is ``time client method path status duration request-id``, e.g.
``2025-01-31T12:00:00Z 192.0.2.10 GET /api/health 200 0.412ms 3f2a...``; the path never
has its query string, and never a token.
"""

import json
import logging
import re
import sqlite3

import pytest

from support import PASSWORD, X_ORIGIN

from .ops_support import ops_client

TEXT_LINE = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (?P<client>\S+) (?P<method>[A-Z]+) (?P<path>\S+) "
    r"(?P<status>\d{3}) (?P<duration>\d+(?:\.\d+)?)ms (?P<request_id>[A-Za-z0-9._:-]{1,128}) (?P<uid>[A-Za-z0-9-]{1,39})"
)
JSON_KEYS = {"time", "client", "method", "path", "status", "duration_ms", "request_id", "uid"}


def lines(log):
    return log.getvalue().splitlines()


def parsed(log):
    records = []
    for line in lines(log):
        match = TEXT_LINE.fullmatch(line)
        assert match, f"not an access-log line: {line!r}"
        records.append(match.groupdict())
    return records


# -- in process ----------------------------------------------------------------------------------------------


def test_one_line_per_request_whatever_the_answer(make_app, access_log):
    client = ops_client(make_app())
    client.get("/api/health?probe=1")
    client.get("/")
    client.get("/api/nope", status=404)
    client.post("/api/id", headers=X_ORIGIN, status=405)
    client.options("/api/id", headers={"Origin": "http://localhost:4100", "Access-Control-Request-Method": "GET"})
    client.post("/api/authenticate", "uid=a", status=403)  # CSRF
    client.post_json("/api/authenticate", {"uid": "nobody", "password": "wrong password"}, status=401)
    records = parsed(access_log)
    expected = [("GET", "/api/health", "200"), ("GET", "/", "200"), ("GET", "/api/nope", "404"),
                ("POST", "/api/id", "405"), ("OPTIONS", "/api/id", "204"), ("POST", "/api/authenticate", "403"),
                ("POST", "/api/authenticate", "401")]  # fmt: skip
    assert [(r["method"], r["path"], r["status"]) for r in records] == expected
    assert {r["client"] for r in records} == {"192.0.2.10"}
    assert all(float(r["duration"]) >= 0 for r in records)
    assert "probe" not in access_log.getvalue()


def test_the_uid_a_request_acted_for_is_logged_never_a_guess_for_a_missing_account(make_app, access_log):
    client = ops_client(make_app())
    client.post_json("/api/user", {"uid": "Alice", "name": "Alice", "password": PASSWORD}, status=201)
    client.post_json("/api/authenticate", {"uid": "alice", "password": "not the password"}, status=401)
    client.post_json("/api/authenticate", {"uid": "hunter22secret", "password": PASSWORD}, status=401)
    client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD}, status=200)
    client.get("/api/id", status=200)
    ops_client(make_app()).get("/api/health", status=200)  # no cookie: anonymous
    records = parsed(access_log)
    # The stored spelling of the account, for signup, failed and good logins and signed-in requests;
    # "-" for a uid with no account (it may be a password typed into the wrong field) and for anonymous requests.
    assert [(r["path"], r["status"], r["uid"]) for r in records] == [
        ("/api/user", "201", "Alice"), ("/api/authenticate", "401", "Alice"), ("/api/authenticate", "401", "-"),
        ("/api/authenticate", "200", "Alice"), ("/api/id", "200", "Alice"), ("/api/health", "200", "-"),
    ]  # fmt: skip
    assert "hunter22secret" not in access_log.getvalue() and PASSWORD not in access_log.getvalue()


def test_request_id_is_echoed_and_logged(make_app, access_log):
    client = ops_client(make_app())
    for path, status in (("/api/health", 200), ("/api/id", 401), ("/index.html", 200), ("/nope.txt", 404)):
        response = client.get(path, headers={"X-Request-ID": f"lb-{status}:1.a_b"}, status=status)
        assert response.headers["X-Request-ID"] == f"lb-{status}:1.a_b"
    assert [r["request_id"] for r in parsed(access_log)] == ["lb-200:1.a_b", "lb-401:1.a_b", "lb-200:1.a_b", "lb-404:1.a_b"]


@pytest.mark.parametrize("sent", ["", "x" * 129, "two words", "a\tb", "<script>", "ünï", "id;drop"])
def test_malformed_request_id_is_replaced_by_a_fresh_one(make_app, access_log, sent):
    client = ops_client(make_app())
    response = client.get("/api/health", headers={"X-Request-ID": sent})
    replaced = response.headers["X-Request-ID"]
    assert replaced != sent and re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", replaced)
    assert parsed(access_log)[0]["request_id"] == replaced


def test_generated_request_ids_differ(make_app, access_log):
    client = ops_client(make_app())
    ids = {client.get("/api/health").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize(
    "raw_path, logged",
    [
        ("/api/a b", "/api/a%20b"),  # one field of the line
        ("/api/a\nGET /forged 200", "/api/a\\nGET%20/forged%20200"),  # no forged lines
        ("/api/eyJhbGciOiJIUzI1NiJ9.eyJfdWlkIjoiYSJ9.c2ln", "/api/[token]"),
    ],
)
def test_paths_are_logged_safely(make_app, access_log, raw_path, logged):
    client = ops_client(make_app())
    client.get("/", extra_environ={"PATH_INFO": raw_path}, status=404)
    assert len(lines(access_log)) == 1
    assert parsed(access_log)[0]["path"] == logged


def test_no_secret_reaches_the_log(make_app, access_log):
    client = ops_client(make_app())
    client.post_json("/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD})
    token = client.post_json("/api/authenticate", {"uid": "toby", "password": PASSWORD}).headers["Set-Cookie"]
    client.get("/api/data?token=" + token.split(";")[0])
    text = access_log.getvalue()
    assert PASSWORD not in text and "eyJ" not in text and "token=" not in text and "$2b$" not in text


def test_unexpected_error_is_logged_once_with_traceback_and_answered_without_details(make_app, access_log, caplog):
    app = make_app()

    def explode(*args):
        raise RuntimeError("secret internals: /srv/db password=hunter2")

    app.store.credentials = explode
    client = ops_client(app)
    with caplog.at_level(logging.ERROR, logger="wsgi_auth"):
        response = client.post_json("/api/authenticate", {"uid": "toby", "password": PASSWORD}, status=500)
    assert response.json == {"message": "Something went wrong on the server", "data": None,
                             "error": "Internal server error"}  # fmt: skip
    assert "hunter2" not in response.text and "Traceback" not in response.text
    errors = [r for r in caplog.records if r.name == "wsgi_auth" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info and errors[0].exc_info[0] is RuntimeError
    assert "POST /api/authenticate" in errors[0].getMessage()
    assert [r["status"] for r in parsed(access_log)] == ["500"]


# -- serve.py, as an operator runs it -----------------------------------------------------------------------


def test_serve_writes_text_lines_to_stderr(serve):
    service = serve()
    service.request("GET", "/api/health?x=1", headers={"X-Request-ID": "probe-1"})
    service.request("GET", "/api/nope")
    access = [TEXT_LINE.fullmatch(line) for line in service.stderr().splitlines()]
    access = [m.groupdict() for m in access if m]
    mine = [r for r in access if r["request_id"] == "probe-1"]
    assert len(mine) == 1 and mine[0]["path"] == "/api/health" and mine[0]["status"] == "200"
    assert mine[0]["client"] == "127.0.0.1"
    assert any(r["path"] == "/api/nope" and r["status"] == "404" for r in access)


def test_serve_log_format_json_writes_json_lines(serve):
    service = serve("--log-format", "json")
    service.request("GET", "/api/health?x=1", headers={"X-Request-ID": "probe-2"})
    service.request("POST", "/api/authenticate", {"uid": "nobody", "password": "wrong password"})
    records = [json.loads(line) for line in service.stderr().splitlines() if line.startswith("{")]
    assert records and all(set(r) == JSON_KEYS for r in records)
    health = [r for r in records if r["request_id"] == "probe-2"]
    assert len(health) == 1
    assert health[0]["path"] == "/api/health" and health[0]["status"] == 200 and health[0]["method"] == "GET"
    assert isinstance(health[0]["duration_ms"], (int, float))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", health[0]["time"])
    assert any(r["path"] == "/api/authenticate" and r["status"] == 401 for r in records)
    assert "x=1" not in service.stderr()


def test_serve_logs_an_unexpected_error_once_with_traceback(serve, tmp_path):
    service = serve()
    with sqlite3.connect(tmp_path / "wsgi_auth.sqlite3") as db:  # the store loses a table under the running server
        db.execute("DROP TABLE users")
    response = service.request("POST", "/api/authenticate", {"uid": "toby", "password": PASSWORD},
                               headers={"X-Request-ID": "boom-1"})  # fmt: skip
    assert response.status == 500
    assert response.json() == {"message": "Something went wrong on the server", "data": None,
                               "error": "Internal server error"}  # fmt: skip
    assert b"users" not in response.body and b"Traceback" not in response.body
    assert response.headers["X-Request-ID"] == "boom-1"
    log = service.stderr()
    assert log.count("Traceback") == 1
    assert log.count("unexpected error in POST /api/authenticate") == 1
    assert "no such table: users" in log
    assert re.search(r" POST /api/authenticate 500 \S+ms boom-1 \S+$", log, re.MULTILINE)
