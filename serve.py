"""Serve the API and public/ with granian: ``python serve.py [--host H] [--port P] [--workers N]``.

granian parses HTTP in Rust and calls our WSGI app in worker processes (one per
core by default); each worker builds its own app, since every piece of shared
state already lives in the database. bench/ compares it with gunicorn and
waitress on the same app (bench/RESULTS.md, "Which server: granian").

Ctrl-C and SIGTERM stop every worker; a port in use or a bad setting is one line
on stderr and a non-zero exit.
"""

import argparse
import encodings.idna  # noqa: F401  (see say_when_listening)
import ipaddress
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

from wsgi_auth import ConfigError, create_app
from wsgi_auth.config import database_label, host_cores, load_settings
from wsgi_auth.store import open_store

# How long a connection may take to send a request's headers once it has started, and how long an
# idle keep-alive connection is kept: slow clients cannot hold a connection open for ever.
HEADER_READ_TIMEOUT_MS = 10_000
# Open connections one worker serves at once. granian holds one permit per open connection, idle
# keep-alive ones included, and a browser keeps up to 6 open per site: a limit near the thread count
# made a second browser wait for the first one's idle connections to time out.
CONNECTIONS_PER_WORKER = 256
# Threads per worker running the app. A login waiting for its turn at the login gate holds one, so there are
# enough for a class logging in at once (hash_gate.py); the gate leaves THREADS_FOR_READS of them to
# signed-in requests whatever the logins do. Threads are started as requests need them.
THREADS_PER_WORKER = 64
THREADS_FOR_READS = 4
# serve.py tells its workers how many threads they have (the gate's capacity); WSGI_AUTH_HASH_SLOTS, when
# not set, it sets to their share of the host's cores.
WORKER_THREADS_ENV = "WSGI_AUTH_SERVE_THREADS"


# The ranges of the flags (a value outside is one line on stderr and exit status 2). Threads: a login waiting
# for its turn holds one; the PostgreSQL store pools 32 connections and a thread beyond them opens its own.
PORTS = (0, 65535)  # 0: any free port
WORKERS = (1, 256)
THREADS = (1, 256)
HEADER_TIMEOUTS = (0.5, 3600)  # seconds


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (exit status 2), as for a bad setting."""

    def error(self, message):
        self.exit(2, f"wsgi_auth: {message} (try: {self.prog} --help)\n")


def in_range(kind, low, high):
    """An argparse type: a number of ``kind`` from ``low`` to ``high``."""

    def check(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, not {text!r}")
        if not low <= value <= high:  # NaN too
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {text}")
        return value

    return check


def parse_args(argv=None):
    parser = Parser(description="Serve wsgi_auth (API and public/) with granian.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=in_range(int, *PORTS), default=8587,
                        help="port to listen on, 0 for any free one (default 8587, the lesson's)")  # fmt: skip
    parser.add_argument("--workers", type=in_range(int, *WORKERS), default=min(os.cpu_count() or 1, WORKERS[1]),
                        help=f"worker processes, {WORKERS[0]} to {WORKERS[1]} (default: the number of cores)")  # fmt: skip
    parser.add_argument("--threads", type=in_range(int, *THREADS), default=THREADS_PER_WORKER,
                        help=f"threads per worker running the app, {THREADS[0]} to {THREADS[1]} (default {THREADS_PER_WORKER})")  # fmt: skip
    parser.add_argument("--log-format", choices=("text", "json"), default=None, help="access log format (default text)")
    parser.add_argument("--header-timeout", type=in_range(float, *HEADER_TIMEOUTS), default=HEADER_READ_TIMEOUT_MS / 1000,
                        help="seconds a client has to send a request's headers; idle keep-alive connections "
                             f"are closed after as long ({HEADER_TIMEOUTS[0]} to {HEADER_TIMEOUTS[1]}, "
                             "default 10)")  # fmt: skip
    return parser.parse_args(argv)


def claim_port(host: str, port: int) -> int:
    """The port we will listen on; port 0 picks a free one. OSError if it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        probe.listen(1)
        return probe.getsockname()[1]


def worker_app():
    """A worker's own app. A worker also dies if serve.py itself is killed (SIGKILL, OOM): no orphans.

    SIGKILL, not SIGTERM: a SIGTERM that came while granian was still starting the worker was caught and
    then never acted on, and the worker lived on. serve.py's own clean stop (SIGTERM, Ctrl-C) still stops
    the workers gently; this signal comes only when serve.py is already gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        parent = multiprocessing.parent_process()
        if parent is not None and os.getppid() != parent.pid:  # serve.py died before the line above
            os.kill(os.getpid(), signal.SIGKILL)
    app = create_app()
    threads = os.environ.get(WORKER_THREADS_ENV, "")
    if threads.isdigit():  # logins waiting for a turn leave some threads to signed-in requests
        app.hash_gate.capacity = max(1, int(threads) - THREADS_FOR_READS)
    return app


def url_of(host: str, port: int) -> str:
    """The address to open in a browser: ``localhost`` for a loopback or every-address bind (a passkey's
    relying party is a name, never an IP address), else the host as given."""
    try:
        loopback = host in ("", "0.0.0.0", "::", "localhost") or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return f"http://localhost:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def say_when_listening(host: str, port: int, timeout: float = 60) -> None:
    """Print "Serving on" once a worker accepts connections, so the line means "ready".

    This thread runs while granian forks the workers. ``socket.create_connection`` imports
    ``encodings.idna`` on first use; a worker forked during that import inherited its module lock held
    by a thread it does not have, and the worker's own first connection (an email to the SMTP server)
    then waited for ever. So serve.py imports it at the top, before any thread starts.
    """
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((target, port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
            continue
        print(f"Serving on {url_of(host, port)} (pid {os.getpid()}); Ctrl-C stops", flush=True)
        return


def build_server(args, port: int):
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    return Server(
        "serve:worker_app",
        factory=True,  # each worker calls worker_app() for its own app, store and connections
        address=args.host,
        port=port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        backpressure=max(CONNECTIONS_PER_WORKER, args.threads),  # requests beyond the threads queue for one
        http1_settings=HTTP1Settings(header_read_timeout=int(args.header_timeout * 1000)),
        log_level=LogLevels.error,  # our access log is the one line per request; granian's stays off
        log_access=False,
        workers_kill_timeout=10,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.log_format:
        os.environ["WSGI_AUTH_LOG_FORMAT"] = args.log_format  # the workers read their settings from here
    try:
        settings = load_settings()  # checked once here, so a mistake is one line before any worker starts
        open_store(settings.database).close()  # reachable, and migrated once before the workers open it
    except ConfigError as error:  # an unreachable database too (StoreUnreachableAtStart is one)
        print(f"wsgi_auth: {error}", file=sys.stderr)
        return 2
    try:
        port = claim_port(args.host, args.port)
    except OSError as error:
        print(f"wsgi_auth: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    workers = max(1, args.workers)
    os.environ[WORKER_THREADS_ENV] = str(max(1, args.threads))
    if not os.environ.get("WSGI_AUTH_HASH_SLOTS"):  # the workers share the host's cores for hashing
        os.environ["WSGI_AUTH_HASH_SLOTS"] = str(max(1, host_cores() // workers))
    server = build_server(args, port)
    print(f"Database: {database_label(settings.database)}", flush=True)
    slots = int(os.environ["WSGI_AUTH_HASH_SLOTS"])
    print(f"Workers: {workers} (granian), {slots} hash slot{'s' if slots != 1 else ''} each", flush=True)
    threading.Thread(target=say_when_listening, args=(args.host, port), daemon=True).start()
    try:
        server.serve()  # returns once SIGINT or SIGTERM has stopped every worker
    except KeyboardInterrupt:
        pass
    print("Stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
