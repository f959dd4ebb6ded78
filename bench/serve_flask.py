"""Serve the lesson's Flask stack under waitress, as serve.py serves wsgi_auth.

    python -m bench.serve_flask --port 8600 --threads 8 --database PATH

The secret comes from WSGI_AUTH_SECRET_KEY (the same variable serve.py reads), so
one token works for both servers' benchmarks. Only for the benchmark: binds to
127.0.0.1 and prints ``Serving on http://HOST:PORT`` once listening.
"""

import argparse
import os
import sys

import waitress

from bench.lesson_flask import create_flask_app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", required=True)
    args = parser.parse_args(argv)
    secret = os.environ.get("WSGI_AUTH_SECRET_KEY")
    if not secret:
        parser.error("WSGI_AUTH_SECRET_KEY must be set")
    app = create_flask_app(args.database, secret)
    server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads)
    print(f"Serving on http://{args.host}:{server.effective_port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
