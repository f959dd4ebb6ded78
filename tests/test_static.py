"""Static pages from public/: the login page at /, strict security headers, and no way out of public/."""

from pathlib import Path

import pytest

CSP_PARTS = ("script-src 'self'", "frame-ancestors 'none'")


def public_file(app, name):
    return Path(app.settings.public_dir) / name


def csp_directives(resp):
    csp = resp.headers.get("Content-Security-Policy", "")
    return {part.strip() for part in csp.split(";") if part.strip()}


def assert_page_headers(resp):
    directives = csp_directives(resp)
    for part in CSP_PARTS:
        assert part in directives, resp.headers.get("Content-Security-Policy")
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in directives if d.startswith("script-src"))
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_root_serves_index_html_with_csp_and_nosniff(client, app):
    resp = client.get("/")
    assert resp.status_int == 200
    assert resp.headers["Content-Type"].split(";")[0] == "text/html"
    assert resp.body == public_file(app, "index.html").read_bytes()
    assert_page_headers(resp)


def test_login_page_has_the_lesson_form_and_no_inline_script(client):
    resp = client.get("/")
    form = resp.html.find("form")
    assert form is not None
    for element_id in ("uid", "password"):
        assert form.find(id=element_id) is not None, element_id
    assert resp.html.find(id="message") is not None
    assert form.find(["button", "input"], attrs={"type": "submit"}) is not None or form.find("button") is not None
    for script in resp.html.find_all("script"):
        assert script.get("src"), f"inline script: {script}"
        assert not script.string or not script.string.strip()
    assert not any(attr.startswith("on") for tag in resp.html.find_all(True) for attr in tag.attrs)


@pytest.mark.parametrize("name", ["index.html", "signup.html", "dashboard.html"])
def test_each_page_is_served_with_csp(client, app, name):
    resp = client.get(f"/{name}")
    assert resp.status_int == 200
    assert resp.headers["Content-Type"].split(";")[0] == "text/html"
    assert resp.body == public_file(app, name).read_bytes()
    assert_page_headers(resp)


def test_config_js_is_served_as_javascript(client, app):
    resp = client.get("/config.js")
    assert resp.status_int == 200
    assert resp.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert resp.body == public_file(app, "config.js").read_bytes()
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/../setup.cfg",
        "/%2e%2e/setup.cfg",
        "/..%2fsetup.cfg",
        "/%2e%2e%2fsetup.cfg",
        "/public/../serve.py",
        "/..%5cserve.py",
        "/..\\serve.py",
        "/./../setup.cfg",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd%00.html",
        "/index.html/../../setup.cfg",
    ],
)
def test_traversal_out_of_public_is_404(client, path):
    resp = client.get(path, expect_errors=True)
    assert resp.status_int == 404, (path, resp.status)
    assert b"[metadata]" not in resp.body and b"root:" not in resp.body and b"import" not in resp.body


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..%5csecret.txt",
                                  "/sub/../../secret.txt"])
def test_traversal_to_a_file_next_to_public_is_404(tmp_path, make_app, make_client, path):
    public = tmp_path / "pub"
    (public / "sub").mkdir(parents=True)
    (public / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    client = make_client(make_app(public_dir=str(public)))
    assert client.get("/").status_int == 200
    resp = client.get(path, expect_errors=True)
    assert resp.status_int == 404, (path, resp.status)
    assert b"TOP-SECRET" not in resp.body


def test_missing_file_is_404(client):
    resp = client.get("/no-such-page.html", expect_errors=True)
    assert resp.status_int == 404
    assert b"Traceback" not in resp.body


def test_directory_is_not_listed(client):
    resp = client.get("/js/", expect_errors=True)
    assert resp.status_int == 404


def test_symlink_out_of_public_is_404(tmp_path, make_app, make_client):
    public = tmp_path / "pub"
    public.mkdir()
    (public / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    (public / "leak.txt").symlink_to(tmp_path / "secret.txt")
    client = make_client(make_app(public_dir=str(public)))
    resp = client.get("/leak.txt", expect_errors=True)
    assert resp.status_int == 404
    assert b"TOP-SECRET" not in resp.body
