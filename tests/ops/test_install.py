"""A non-editable install, as a new user makes it: a wheel built from the checkout, installed into a fresh
venv, the app run from another directory. The pages come with it (public/ ships inside the package)."""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
SKIPPED_WHEN_COPYING = shutil.ignore_patterns(".git", "build", "dist", "instance", "*.egg-info", "__pycache__",
                                              "tests", "bench", "docs", "*.sqlite3*")

pytestmark = pytest.mark.slow

# Runs in the venv, from a directory that is neither the checkout nor the venv.
SERVE_ONE_PAGE = """
import sys, webtest, wsgi_auth
from wsgi_auth import create_app
app = webtest.TestApp(create_app(access_log=False), extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443"})
page = app.get("/", expect_errors=True)
script = app.get("/js/login-page.js", expect_errors=True)
print(wsgi_auth.__file__)
print(page.status_int, page.headers.get("Content-Type"), script.status_int)
print(page.text)
"""


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{argv}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def lend_our_site_packages(python: Path) -> None:
    """The dependencies come from the Python running the tests, whether it is a venv or not: its
    site-packages directories are named in a ``.pth`` file of the new venv, after the venv's own.
    (``system_site_packages=True`` would lend the base interpreter's instead, which in a venv lacks
    them.) Only the directories: the ``.pth`` files inside them, such as the editable install of this
    checkout, are not run, so the venv's copy of wsgi_auth is the one imported."""
    ours = [path for path in sys.path if Path(path).name in ("site-packages", "dist-packages") and Path(path).is_dir()]
    [theirs] = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.split()
    (Path(theirs) / "_lent_by_the_tests.pth").write_text("".join(f"{path}\n" for path in ours))


def test_a_wheel_installed_into_a_fresh_venv_serves_the_login_page(tmp_path):
    try:
        import wheel  # noqa: F401  (setuptools builds wheels with it; without build isolation it must be here)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("the wheel package is missing (pip install wheel)")
        pytest.skip("the wheel package is missing (pip install wheel)")
    source = tmp_path / "source"
    shutil.copytree(REPO_DIR, source, ignore=SKIPPED_WHEN_COPYING)
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", dist, source])
    [built] = dist.glob("wsgi_auth-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    lend_our_site_packages(python)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("WSGI_AUTH_")}
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", built],
        env=env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(source)  # nothing left to find the pages in but the installed package
    result = run([python, "-c", SERVE_ONE_PAGE], cwd=elsewhere, env=env)
    where, status, page = result.stdout.split("\n", 2)
    assert where.startswith(str(env_dir)), where  # the installed copy, not the checkout
    assert status == "200 text/html; charset=utf-8 200", status
    assert '<form id="login-form"' in page and "<h1>User Login</h1>" in page
