"""``python serve.py`` as a supervisor runs it: it says where it listens, stops cleanly on SIGTERM (systemd,
docker) and on Ctrl-C (SIGINT), and a bad setting stops it at start with one clear line and a non-zero exit."""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import PASSWORD, REPO_DIR, X_ORIGIN, service_env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly(serve, sig):
    service = serve()
    assert service.request("POST", "/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD}).status == 201
    assert service.stop(sig) == 0
    assert service.stdout().splitlines()[-1] == "Stopped"
    assert "Traceback" not in service.stderr()


def test_serve_says_where_it_listens(serve):
    service = serve("--threads", "2")
    lines = service.stdout().splitlines()
    assert lines[0].startswith("Database: ") and lines[1].startswith("Workers: ")
    assert lines[2] == f"Serving on http://localhost:{service.port} (pid {service.process.pid}); Ctrl-C stops"


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"secret_key": "short"}, "WSGI_AUTH_SECRET_KEY"),
        ({"token_ttl": "forever"}, "WSGI_AUTH_TOKEN_TTL"),
        ({"trusted_proxies": "-1"}, "WSGI_AUTH_TRUSTED_PROXIES"),
        ({"log_format": "xml"}, "WSGI_AUTH_LOG_FORMAT"),
        ({"hash_slots": "0"}, "WSGI_AUTH_HASH_SLOTS"),
        ({"hash_slots": "many"}, "WSGI_AUTH_HASH_SLOTS"),
        ({"login_wait": "-1"}, "WSGI_AUTH_LOGIN_WAIT"),
        ({"login_wait": "soon"}, "WSGI_AUTH_LOGIN_WAIT"),
    ],
)
def test_a_bad_setting_stops_serve_at_start_with_one_line(tmp_path, settings, says):
    result = subprocess.run([sys.executable, str(REPO_DIR / "serve.py"), "--port", "0"], capture_output=True,
                            text=True, env=service_env(tmp_path, **settings), cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Serving on" not in result.stdout


def children(pid: int) -> set[int]:
    """Every process below ``pid`` (its workers and theirs), from /proc."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_default_to_the_number_of_cores_and_say_the_database(serve, tmp_path):
    service = serve()
    lines = service.stdout().splitlines()
    assert f"Database: {tmp_path / 'wsgi_auth.sqlite3'}" in lines
    # The workers share the host's cores for hashing: one slot each when there is a worker per core.
    assert f"Workers: {os.cpu_count()} (granian), 1 hash slot each" in lines
    assert len(children(service.process.pid)) >= os.cpu_count()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_every_worker_and_leaves_no_process(serve, sig):
    service = serve("--workers", "3")
    workers = children(service.process.pid)
    assert len(workers) >= 3
    assert service.stop(sig) == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]
    assert service.stdout().splitlines()[-1] == "Stopped"
    assert "Traceback" not in service.stderr()


def test_a_port_in_use_is_one_line_and_a_non_zero_exit(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, str(REPO_DIR / "serve.py"), "--port", str(port)], capture_output=True,
                                text=True, env=service_env(tmp_path), cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], result.stderr
    assert "Serving on" not in result.stdout


def test_every_worker_writes_one_access_log_line_per_request(serve):
    service = serve("--workers", "2")

    def logged():
        return [line for line in service.stderr().splitlines() if " GET /api/id 401 " in line]

    def workers(lines):  # the request id is the worker's own prefix and a counter
        return {line.split()[-2].split("-")[0] for line in lines}

    # Which worker takes a connection is the kernel's choice (on a busy machine one may take them all for a
    # while): requests 8 at a time, until both workers have answered some, 600 at most.
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while sent < 600 and (sent == 0 or len(workers(logged())) < 2):
            assert set(pool.map(lambda _: service.request("GET", "/api/id").status, range(60))) == {401}
            sent += 60
    service.stop()
    lines = logged()
    assert len(lines) == sent
    assert len(workers(lines)) == 2, lines[:5]


def test_a_body_over_the_limit_gets_413_through_the_server(serve):
    service = serve(max_body="2048")
    answer = service.request("POST", "/api/user", b"x" * 100_000, {"Content-Type": "application/json", **X_ORIGIN})
    assert answer.status == 413
    assert answer.json()["error"] == "Payload too large"


def test_idle_keep_alive_and_slow_header_connections_are_closed(serve):
    service = serve("--header-timeout", "1")
    idle = socket.create_connection((service.host, service.port), timeout=10)
    slow = socket.create_connection((service.host, service.port), timeout=10)
    with idle, slow:
        idle.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        slow.sendall(b"GET /api/health HTTP/1.1\r\nHo")  # and then nothing
        started = time.monotonic()
        assert idle.recv(4096) == b""  # closed by the server, not by our 10 s timeout
        assert slow.recv(4096) == b""
        assert time.monotonic() - started < 5


def test_workers_stop_when_serve_py_is_killed(serve):
    service = serve("--workers", "2")
    deadline = time.monotonic() + 30
    while len(workers := children(service.process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # ready means one worker answers; the other may still be forking
    assert len(workers) >= 2
    service.process.kill()  # SIGKILL: serve.py cannot stop them itself
    service.process.wait(10)
    deadline = time.monotonic() + 30  # a limit, not the time it takes: the machine may be loaded
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]


def test_idle_keep_alive_connections_do_not_keep_a_new_client_waiting(serve):
    # Two browsers keep up to 12 idle connections open to one worker; a third client is served at once.
    service = serve("--workers", "1", "--threads", "2")
    idle = [socket.create_connection((service.host, service.port), timeout=10) for _ in range(16)]
    try:
        for sock in idle:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")  # and now idle, kept alive
        started = time.monotonic()
        with socket.create_connection((service.host, service.port), timeout=10) as fresh:
            fresh.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert fresh.recv(4096).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 5  # not after the idle ones' 10 s header timeout
    finally:
        for sock in idle:
            sock.close()
