"""Serve the API and public/ with waitress: ``python serve.py [--host H] [--port P] [--threads N]``.

waitress is a production WSGI server in pure Python: threaded, HTTP/1.1
keep-alive, request bodies buffered and capped before the app sees them.
"""

import argparse
import logging
import os
import signal
import sys

import waitress

from wsgi_auth import ConfigError, create_app


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Serve wsgi_auth (API and public/) with waitress.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8587, help="port to listen on (default 8587, the lesson's)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    parser.add_argument("--log-format", choices=("text", "json"), default=None, help="access log format (default text)")
    return parser.parse_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # waitress warns about its task queue depth on every busy request; that costs throughput and says little.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    overrides = {"log_format": args.log_format} if args.log_format else {}
    try:
        app = create_app(**overrides)
    except ConfigError as error:
        print(f"wsgi_auth: {error}", file=sys.stderr)
        return 2
    server = waitress.create_server(
        app,
        host=args.host,
        port=args.port,
        threads=args.threads,
        # The app refuses large bodies itself (413); waitress stops far bigger ones before buffering them.
        max_request_body_size=max(app.settings.max_body * 4, 1 << 20),
        ident="wsgi_auth",
        clear_untrusted_proxy_headers=False,
    )
    print(f"Serving on http://{args.host}:{server.effective_port} (pid {os.getpid()}); Ctrl-C stops", flush=True)
    # systemd and docker stop a service with SIGTERM: the same clean stop as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("Stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
