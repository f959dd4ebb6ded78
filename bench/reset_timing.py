"""``python -m bench.reset_timing``: does ``POST /api/password-reset`` tell whether an account exists by its time?

API.md: the answer, status *and time* are the same whether or not the uid has an
account with an email address. This measures the wall-clock time of the request
(in-process, the real sqlite file with ``synchronous=FULL``, a real SMTP server
receiving the emails in the background) for three kinds of uid, interleaved
round by round so that drift in the machine's speed hits all three alike:

- an account with an email address (a link is stored and an email queued);
- an account without one;
- a uid nobody has.

It prints the median and the 90th percentile of each, and the ratio of the
medians to the unknown uid's. The issue asks for "within 25 %".
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, call, make_environ, make_ours, post_json

RESET = "/api/password-reset"


class _Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _reset_request(app, uid, address):
    body = json.dumps({"uid": uid}).encode()
    environ = make_environ("POST", RESET, body=body, content_type="application/json", remote_addr=address)
    started = time.perf_counter()
    status, _headers, _body = call(app, environ)
    elapsed = time.perf_counter() - started
    assert status == 202, status
    return elapsed * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.reset_timing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="requests of each kind (default 300)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from aiosmtpd.controller import Controller

    class AnyPort(Controller):
        def _trigger_server(self):  # port 0: read the port the system chose before aiosmtpd's first connection
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    sink = _Sink()
    smtp = AnyPort(sink, hostname="127.0.0.1", port=0)
    smtp.start()
    port = smtp.port
    now = [time.time()]
    try:
        with tempfile.TemporaryDirectory(prefix="wsgi_auth-reset-timing-") as workdir:
            app = make_ours(Path(workdir) / "reset.sqlite3", smtp_url=f"smtp://127.0.0.1:{port}",
                            public_url="https://auth.example.test", clock=lambda: now[0])  # fmt: skip
            kinds = {"with email": [], "without email": [], "unknown uid": []}
            for i in range(args.rounds):
                for prefix, email in (("with", f"u{i}@example.test"), ("without", None)):
                    body = {"name": "Bench", "uid": f"{prefix}-{i}", "password": "correct horse battery staple"}
                    if email:
                        body["email"] = email
                    status, _h, text = post_json(app, "/api/user", body)
                    assert status == 201, text
                now[0] += 3601  # past the signup and reset windows: no throttling in the measure
            for i in range(args.rounds):
                address = f"127.1.{i // 250}.{i % 250}"  # one client address per round: no throttling
                order = [("with email", f"with-{i}"), ("without email", f"without-{i}"), ("unknown uid", f"nobody-{i}")]
                order = order[i % 3:] + order[: i % 3]  # each kind goes first, second and third in turn
                for kind, uid in order:
                    kinds[kind].append(_reset_request(app, uid, address))
                now[0] += 1
            app.mailer.flush(30)
    finally:
        smtp.stop()
    base = statistics.median(kinds["unknown uid"])
    print(f"POST {RESET}, {args.rounds} requests of each kind (ms, wall clock):")
    for kind, times in kinds.items():
        times.sort()
        p90 = times[int(len(times) * 0.9)]
        median = statistics.median(times)
        print(f"  {kind:<14} median {median:7.3f}   p90 {p90:7.3f}   median / unknown uid's {median / base:5.2f}")
    print(f"emails received by the SMTP server: {sink.count} (expected {args.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
