"""Server subprocesses for the benchmark, and the load put on them (wrk, or http.client when wrk is missing)."""

import http.client
import os
import re
import shutil
import subprocess
import threading
import time

from bench.common import ORIGIN, ROOT
from tests.support import server as shared
from tests.support.server import free_port  # noqa: F401  (bench.over_http takes it from here)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


class Server(shared.Server):
    """The tests' server class on 127.0.0.1 and a fixed port, output to /dev/null (no access log on disk),
    started when it takes a TCP connect (the Flask and hello apps have no /api/health); ``cookie`` signs in."""

    def __init__(self, argv, env, port, cookie):
        super().__init__(argv, workdir=ROOT, env=env, port=port, name="bench", health=None, quiet=True)
        self.cookie = cookie

    def get_id(self, connection=None):
        own = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        own.request("GET", "/api/id", headers={"Cookie": self.cookie, "Origin": ORIGIN})
        response = own.getresponse()
        response.read()
        if connection is None:
            own.close()
        return response.status


def client_load(port, cookie, total=None, duration=None, connections=4):
    """Keep-alive http.client load from ``connections`` threads: a fixed ``total`` or for ``duration`` seconds.

    Returns ``(requests, seconds, latencies, non_200)``. The fallback when wrk is missing, and the
    exact-count load of the memory measure.
    """
    latencies, non_200, lock = [], [0], threading.Lock()
    per_thread = None if total is None else [total // connections + (i < total % connections) for i in range(connections)]
    deadline = None if duration is None else time.perf_counter() + duration
    headers = {"Cookie": cookie, "Origin": ORIGIN}

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad, done = [], 0, 0
        while True:
            if per_thread is not None and done >= per_thread[index]:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            connection.request("GET", "/api/id", headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            bad += response.status != 200
            done += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            non_200[0] += bad

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return len(latencies), time.perf_counter() - started, latencies, non_200[0]


WRK = shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)


def parse_wrk(output):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    match = re.search(r"^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", output, re.M)
    p99_ms = None
    if match:
        p99_ms = float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps, "p99_ms": p99_ms, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def load(server, duration, threads=2, connections=16):
    """``wrk -t2 -c16 -dNs --latency`` with the cookie header; http.client threads when wrk is missing."""
    if WRK:
        argv = [
            WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", f"Cookie: {server.cookie}", "-H", f"Origin: {ORIGIN}",
            f"http://127.0.0.1:{server.port}/api/id",
        ]
        output = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
        return parse_wrk(output)
    count, seconds, latencies, non_200 = client_load(server.port, server.cookie, duration=duration, connections=connections)
    latencies.sort()
    return {
        "rps": count / seconds, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else None,
        "non_2xx": non_200, "socket_errors": None,
    }
