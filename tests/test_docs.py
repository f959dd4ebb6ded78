"""The docs tell the truth: file names a reader can open, links that lead somewhere, and the README's curl
walkthrough showing the statuses and headers its comments promise."""

import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from support import SECRET_KEY

REPO_DIR = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "SECURITY.md", *sorted(p.relative_to(REPO_DIR).as_posix() for p in (REPO_DIR / "docs").glob("*.md")),
        "bench/RESULTS.md", "bench/profile.txt"]  # fmt: skip
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|Users)/[\w.-]+")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("name", DOCS)
def test_docs_name_no_path_of_a_development_machine(name):
    text = (REPO_DIR / name).read_text("utf-8")
    assert not MACHINE_PATH.findall(text), f"{name}: {MACHINE_PATH.findall(text)[:5]}"


@pytest.mark.parametrize("name", [d for d in DOCS if d.endswith(".md")])
def test_every_relative_link_leads_to_a_file_in_the_repository(name):
    for target in LINK.findall((REPO_DIR / name).read_text("utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (REPO_DIR / name).parent.joinpath(target).resolve().exists(), f"{name} links {target}"


def test_readme_links_the_contract_in_the_repository():
    readme = (REPO_DIR / "README.md").read_text("utf-8")
    assert "[`docs/API.md`](docs/API.md)" in readme
    assert (REPO_DIR / "docs" / "API.md").read_text("utf-8").startswith("# wsgi_auth — the contract")


def test_security_md_does_not_call_the_tested_gunicorn_deployment_untested():
    security = (REPO_DIR / "SECURITY.md").read_text("utf-8")
    not_tested = security[security.index("**Not tested:**"):].split("\n- ")[0]
    assert "gunicorn" not in not_tested.split("The gunicorn")[0]
    assert "tests/ops/test_gunicorn.py" in security and (REPO_DIR / "tests/ops/test_gunicorn.py").exists()


def readme_curl_commands():
    readme = (REPO_DIR / "README.md").read_text("utf-8")
    block = readme[readme.index("```sh\n# sign up"):]
    block = block[: block.index("\n```\n")].replace("\\\n", " ")
    return [line.split("  #")[0] for line in block.splitlines() if line.startswith("curl ")]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def live_server(make_app):
    server = make_server("127.0.0.1", 0, make_app(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"  # the README's host name: curl sends a Secure cookie to it
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_readme_curl_walkthrough_shows_each_status_and_the_cookie(live_server, tmp_path):
    commands = readme_curl_commands()
    assert len(commands) == 6 and all(" -i " in f" {c} " and " -s " not in f" {c} " for c in commands), commands
    outputs = []
    for command in commands:
        argv = [live_server + a[len("http://localhost:8587"):] if a.startswith("http://localhost:8587") else a
                for a in shlex.split(command)]  # fmt: skip
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    statuses = [output.split("\n", 1)[0].split()[1] for output in outputs]
    assert statuses == ["201", "200", "200", "200", "200", "401"]
    assert re.search(r"(?im)^set-cookie: jwt_python_flask=eyJ[^;]+;.*httponly", outputs[1])
    assert re.search(r"(?im)^set-cookie: jwt_python_flask=;.*max-age=0", outputs[4])
