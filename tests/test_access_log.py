"""The access log: one line per request (method, path without query, status, duration), no secrets."""

import io
import json

from support import PASSWORD, login, new_client, signup, token_of


def test_one_line_per_request_with_method_path_status(make_app):
    log = io.StringIO()
    client = new_client(make_app(access_log=log))
    client.get("/api/health")
    client.get("/api/nope", expect_errors=True)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "GET" in lines[0] and "/api/health" in lines[0] and "200" in lines[0]
    assert "GET" in lines[1] and "/api/nope" in lines[1] and "404" in lines[1]


def test_log_has_no_query_string_token_cookie_or_password(make_app):
    log = io.StringIO()
    client = new_client(make_app(access_log=log))
    signup(client, "toby", password="secret-pass-phrase")
    token = token_of(login(client, "toby", password="secret-pass-phrase"))
    client.get("/api/id?secret_query=hunter2")
    client.put_json("/api/user", {"password": "next-pass-phrase", "current_password": "secret-pass-phrase"})
    text = log.getvalue()
    assert len(text.splitlines()) == 4
    assert "/api/id" in text
    for secret in ("secret_query", "hunter2", "secret-pass-phrase", "next-pass-phrase", token, token.split(".")[2],
                   "eyJ", "$2b$"):
        assert secret not in text, secret


def test_json_log_format_writes_one_json_object_per_line(make_app):
    log = io.StringIO()
    client = new_client(make_app(access_log=log, log_format="json"))
    client.get("/api/health?x=1")
    signup(client, "toby")
    login(client, "toby", PASSWORD + "x", status=401)
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(records) == 3
    text = json.dumps(records)
    assert "x=1" not in text and PASSWORD not in text
    assert any("/api/health" in json.dumps(r) and "200" in json.dumps(r) for r in records)
    assert any("401" in json.dumps(r) for r in records)


def test_access_log_false_writes_nothing(app, capsys):
    new_client(app).get("/api/health")
    captured = capsys.readouterr()
    assert "/api/health" not in captured.err and "/api/health" not in captured.out


def test_a_signed_in_request_logs_its_uid_an_anonymous_one_a_dash(make_app):
    log = io.StringIO()
    client = new_client(make_app(access_log=log))
    signup(client, "toby")
    login(client, "toby")
    log.truncate(0), log.seek(0)
    client.get("/api/id")
    client.reset()
    client.get("/api/health")
    signed_in, anonymous = log.getvalue().splitlines()
    assert "GET /api/id 200" in signed_in and signed_in.split()[-1] == "toby", signed_in
    assert "GET /api/health 200" in anonymous and anonymous.split()[-1] == "-", anonymous


def test_the_json_log_names_the_signed_in_uid(make_app):
    log = io.StringIO()
    client = new_client(make_app(access_log=log, log_format="json"))
    signup(client, "toby")
    login(client, "toby")
    log.truncate(0), log.seek(0)
    client.get("/api/id")
    (record,) = [json.loads(line) for line in log.getvalue().splitlines()]
    assert record["path"] == "/api/id" and record["status"] == 200
    assert record["uid"] == "toby", record
