"""Response headers: pages cannot be framed or run foreign script, nothing is sniffed, API answers
with user data are never cached, and the cookie carries every attribute the contract names.
"""

import re

import pytest

from support import (
    PASSWORD,
    REPO_DIR,
    X_ORIGIN,
    cookie,
    token_for,
    new_client,
    set_cookies,
    signup,
    token_of,
    unverified_claims,
)

PUBLIC = REPO_DIR / "public"
HTML_PAGES = ["/"] + sorted("/" + p.relative_to(PUBLIC).as_posix() for p in PUBLIC.rglob("*.html"))


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.mark.parametrize("path", HTML_PAGES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_every_html_page_has_the_browser_defences(client, path, method):
    response = client.request(path, method=method)
    assert response.status_int == 200
    assert response.headers["Content-Type"].startswith("text/html")
    directives = csp_directives(response)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src == ["'self'"], directives
    assert directives["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in word or word == "*" or word.startswith("data:") for word in script_src)
    assert directives.get("base-uri") in (["'none'"], ["'self'"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin-when-cross-origin")


@pytest.mark.parametrize("path", HTML_PAGES[1:])
def test_pages_have_no_inline_script(path):
    """CSP script-src 'self' would block inline script; the contract says pages have none."""
    html = (PUBLIC / path.lstrip("/")).read_text("utf-8")
    for tag in re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I):
        assert not tag.strip(), f"inline script in {path}: {tag[:80]}"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), f"inline event handler in {path}"
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("path", ["/config.js", "/style.css", "/favicon.svg"])
def test_static_files_are_not_sniffed(client, path):
    if not (PUBLIC / path.lstrip("/")).exists():
        pytest.skip(f"{path} is not in public/")
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_every_api_answer_with_user_data_is_no_store(app, client):
    created = client.post_json("/api/user", {"uid": "alice", "name": "Alice", "password": PASSWORD})
    signup(client, "root")
    app.store.set_role("root", "Admin")
    client.reset()
    logged_in = client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD})
    alice = cookie(token_of(logged_in))
    client.reset()
    root = cookie(token_for(client, "root"))
    answers = [
        created, logged_in,
        client.get("/api/id", headers=alice),
        client.get("/api/data", headers=alice),
        client.put_json("/api/user", {"name": "Alice B"}, headers=alice),
        client.get("/api/users", headers=root),
        client.put_json("/api/users/alice", {"name": "Alice C"}, headers=root),
        client.put_json("/api/user", {"password": "another pw 1", "current_password": PASSWORD}, headers=alice),
        client.get("/api/id", headers=alice, expect_errors=True),
        client.delete("/api/users/alice", headers={**root, **X_ORIGIN}),
        client.delete("/api/authenticate", headers={**root, **X_ORIGIN}),
    ]  # fmt: skip
    for response in answers:
        assert response.headers["Cache-Control"] == "no-store", response
        if response.status_int != 204:
            assert response.headers["Content-Type"] == "application/json"
            assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_has_every_attribute(client, clock):
    signup(client, "alice")
    response = client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD})
    (value,) = set_cookies(response, None)
    name_value, *attributes = [part.strip() for part in value.split(";")]
    attributes = {a.split("=")[0].lower(): (a.split("=", 1)[1] if "=" in a else True) for a in attributes}
    claims = unverified_claims(token_of(response))
    assert attributes["httponly"] is True
    assert attributes["secure"] is True
    assert attributes["samesite"] == "None"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    assert int(attributes["max-age"]) == claims["exp"] - claims["iat"] == 3600
    assert token_of(response) not in response.text  # only in Set-Cookie, never in the body


def test_logout_clears_the_cookie_with_the_same_attributes(client):
    signup(client, "alice")
    token = token_for(client, "alice")
    response = client.delete("/api/authenticate", headers={**cookie(token), **X_ORIGIN})
    (value,) = set_cookies(response, None)
    assert value.startswith("jwt_python_flask=;")
    for attribute in ("Max-Age=0", "Path=/", "HttpOnly", "Secure", "SameSite=None"):
        assert attribute in value


def test_without_secure_the_cookie_falls_back_to_samesite_lax(make_app):
    client = new_client(make_app(cookie_secure=False))
    signup(client, "alice")
    (value,) = set_cookies(client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD}), None)
    assert "SameSite=Lax" in value and "Secure" not in value and "HttpOnly" in value


def test_password_inputs_are_masked():
    """ASVS 6.2.6: every password field in public/ is type=password."""
    found = 0
    for page in PUBLIC.rglob("*.html"):
        for tag in re.findall(r"<input\b[^>]*>", page.read_text("utf-8"), flags=re.I):
            if re.search(r"""(id|name)\s*=\s*["']?[\w-]*password""", tag, flags=re.I):
                found += 1
                assert re.search(r"""type\s*=\s*["']?password\b""", tag, flags=re.I), f"{page.name}: {tag}"
    assert found >= 2  # at least the login and signup forms


def test_the_cookie_fits_in_4096_bytes_even_for_the_longest_uid(client):
    """ASVS 3.3.5: a browser drops a larger cookie, and the user could never sign in."""
    uid = "a" * 39
    signup(client, uid, name="n" * 100)
    (value,) = set_cookies(client.post_json("/api/authenticate", {"uid": uid, "password": PASSWORD}), None)
    assert len(value.split(";")[0].encode()) < 4096


def test_a_host_prefixed_cookie_name_works_end_to_end(make_app):
    """ASVS 3.3.3: operators can choose ``__Host-``; the cookie then meets its rules (Secure, Path=/, no Domain)."""
    client = new_client(make_app(cookie_name="__Host-jwt"))
    signup(client, "alice")
    response = client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD})
    (value,) = set_cookies(response, None)
    assert value.startswith("__Host-jwt=") and "; Secure" in value and "; Path=/" in value and "Domain" not in value
    token = value.split(";")[0].split("=", 1)[1]
    assert client.get("/api/id", headers={"Cookie": f"__Host-jwt={token}"}).json["uid"] == "alice"
    assert client.get("/api/id", headers={"Cookie": f"jwt_python_flask={token}"}, expect_errors=True).status_int == 401
