"""``python serve.py`` as a supervisor runs it: it says where it listens, stops cleanly on SIGTERM (systemd,
docker) and on Ctrl-C (SIGINT), and a bad setting stops it at start with one clear line and a non-zero exit."""

import signal
import subprocess
import sys

import pytest

from support import PASSWORD, REPO_DIR, service_env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly(serve, sig):
    service = serve()
    assert service.request("POST", "/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD}).status == 201
    assert service.stop(sig) == 0
    assert service.stdout().splitlines()[-1] == "Stopped"
    assert "Traceback" not in service.stderr()


def test_serve_says_where_it_listens(serve):
    service = serve("--threads", "2")
    first = service.stdout().splitlines()[0]
    assert first == f"Serving on http://127.0.0.1:{service.port} (pid {service.process.pid}); Ctrl-C stops"


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"secret_key": "short"}, "WSGI_AUTH_SECRET_KEY"),
        ({"token_ttl": "forever"}, "WSGI_AUTH_TOKEN_TTL"),
        ({"trusted_proxies": "-1"}, "WSGI_AUTH_TRUSTED_PROXIES"),
        ({"log_format": "xml"}, "WSGI_AUTH_LOG_FORMAT"),
    ],
)
def test_a_bad_setting_stops_serve_at_start_with_one_line(tmp_path, settings, says):
    result = subprocess.run([sys.executable, str(REPO_DIR / "serve.py"), "--port", "0"], capture_output=True,
                            text=True, env=service_env(tmp_path, **settings), cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Serving on" not in result.stdout
