"""The report: the machine, the table printed at the end, bench/RESULTS.md and the chart."""

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

from bench.common import TARGETS, fmt
from bench.servers import WRK


def machine():
    packages = ["werkzeug", "PyJWT", "bcrypt", "granian", "gunicorn", "waitress", "flask", "flask-restful", "flask-sqlalchemy", "flask-cors",
                "SQLAlchemy", "matplotlib"]
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    wrk = "not found (http.client fallback)"
    if WRK:
        first = subprocess.run([WRK, "--version"], capture_output=True, text=True).stdout.splitlines()
        wrk = first[0].split(" Copyright")[0] if first else WRK
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg": " / ".join(f"{value:.2f}" for value in os.getloadavg()),
        "wrk": wrk,
        "packages": versions,
    }


def table(results):
    width = max((len(r[1]) for r in results.rows), default=10)
    lines, section = [], None
    for sec, measure, value, unit in results.grouped():
        if sec != section:
            lines.append(f"\n{sec}")
            section = sec
        lines.append(f"  {measure:<{width}}  {fmt(value, unit):>14}")
    return "\n".join(lines).lstrip("\n")


def markdown(results, info, args, elapsed):
    out = ["# wsgi_auth benchmark results", ""]
    out.append(f"Produced by `python -m bench{' --quick' if args.quick else ''}` in {elapsed:.0f} s"
               f"{' (quick run: small counts, indicative only)' if args.quick else ''}.")
    out += ["", "## Machine", ""]
    out.append(f"- {info['nproc']} CPUs: {info['cpu']}")
    out.append(f"- {info['python']} on {info['platform']}; SQLite {info['sqlite']}; {info['wrk']}")
    out.append(f"- load average at the start: {info['loadavg']} (1 / 5 / 15 min; anything else running skews the figures)")
    out.append("- " + ", ".join(f"{name} {version}" for name, version in info["packages"].items()))
    out += ["", "## Figures", "", "| section | measure | value |", "| --- | --- | ---: |"]
    for section, measure, value, unit in results.grouped():
        out.append(f"| {section} | {measure} | {fmt(value, unit)} |")
    if results.targets:
        out += ["", "## Targets", "", "| target | measured | wanted | |", "| --- | ---: | ---: | --- |"]
        for name, value, wanted, passed in results.targets:
            out.append(f"| {name} | {value} | {wanted} | {'PASS' if passed else 'FAIL'} |")
    out += ["", "## How it is measured", ""]
    out += [
        "- *in-process*: `GET /api/id` with the `jwt_python_flask` cookie, an allowed `Origin`, `wsgi.url_scheme=https`,"
        " called as a WSGI function; a fresh environ copy per call, the body consumed and closed."
        f" Clock: {'CPU time of the calling thread (time.thread_time)' if args.clock == 'cpu' else 'wall (perf_counter)'}."
        " Median of"
        f" {args.rounds} rounds x {args.calls} calls after {args.warmup} warm-up calls, rounds interleaved between the"
        " stacks. wsgi_auth: `create_app(bcrypt_rounds=4, access_log=/dev/null)`, user signed up and logged in through"
        " the API; its session check is answered from the process's memory while nothing is written (sqlite store,"
        " `store/changes.py`), so after the first call no call reads the file (`python -m bench.postgres` shows the"
        " store reading every request too). Flask: the lesson's stack (`bench/lesson_flask.py`), token minted as the"
        " lesson does, reading its user from sqlite on every call."
        " Minimal: `bench/minimal_wsgi.py` (cookie parse, `jwt.decode`, one sqlite SELECT, JSON).",
        "- *HTTP*: signed-in `GET /api/id` on five servers running at once: wsgi_auth on granian (`serve.py"
        " --workers 2`), on gunicorn (2 sync workers) and on waitress (8 threads); the lesson's Flask stack as its"
        " repository deploys it (gunicorn, 5 workers x 2 threads, `bench/lesson_flask.py`); a bare hello WSGI app"
        f" (`bench/hello.py`) on granian, 2 workers. `wrk -t2 -c16 -d{args.duration}s --latency` on 127.0.0.1 after a"
        f" 1 s warm-up, {args.http_repeats} runs per server alternating between them: median requests/s, median p99,"
        " and the slowest run over the median. Access logs on, to /dev/null. Client and servers share the CPUs.",
        "- *flood*: serve.py (granian, 2 workers) at bcrypt cost 12; wrk as above for"
        f" {args.duration}s quiet, then again while 32 threads POST /api/authenticate (right password) without pause,"
        " a new connection each; every login answer's status, Retry-After and time is kept.",
        "- *memory*: VmRSS of serve.py and all its workers (from /proc), 0.5 s after it listens and after"
        f" {args.memory_requests:,} keep-alive requests (4 http.client connections).",
        "- *logins*: `POST /api/authenticate` in-process with bcrypt cost 12; sequential = 4 users one after another,"
        f" concurrent = the same 4 users in 4 threads; median of {args.login_repeats} repeats; the control times"
        " bare `bcrypt.checkpw` the same two ways, to tell whether the machine had its cores free.",
        f"- *scale*: the same measures on a database holding {args.users:,} extra users (inserted with executemany in one"
        " transaction, copying a real row and its hash), interleaved with a 1-user database, same clock as in-process;"
        " logins: median of"
        f" {args.scale_login_repeats} at cost 12 and {args.scale_login_repeats * 5} at cost 4 (a user hashed at cost 4"
        " in the same database, to show the database's share of a login).",
    ]
    if results.notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    return "\n".join(out) + "\n"


def chart(results, path) -> bool:
    """Draw the figures into ``path``; False (and nothing drawn) without matplotlib (``pip install -e '.[bench]'``)."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [key for key in ("inprocess", "http", "flood", "logins", "scale", "memory") if key in results.figures]
    if not panels:
        return False
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.2 * rows), squeeze=False)
    axes = axes.flatten()
    for unused in axes[len(panels):]:
        unused.set_visible(False)
    colours = {"wsgi_auth": "#2a7ab9", "Flask lesson": "#c0504d", "minimal WSGI": "#7f7f7f"}
    for ax, panel in zip(axes, panels):
        data = results.figures[panel]
        if panel == "inprocess":
            names = list(data)
            bars = ax.bar(names, [data[n] for n in names], color=[colours.get(n, "#999") for n in names])
            ax.set_title(f"in-process GET /api/id\n(µs per request, {results.figures.get('clock', 'cpu')} clock,"
                         " lower is better)")
            ax.set_yscale("log")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "http":
            names = list(data)
            bars = ax.barh(names, [data[n]["rps"] for n in names],
                           color=["#2a7ab9" if n.startswith("wsgi_auth") else "#999" for n in names])
            ax.invert_yaxis()
            ax.tick_params(axis="y", labelsize=7)
            ax.set_title("HTTP GET /api/id, wrk -c16\n(requests/s, higher is better)")
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        elif panel == "flood":
            bars = ax.bar(["reads quiet", "reads, 32 clients\nlogging in"], [data["quiet"], data["flood"]],
                          color=["#9bbbd9", "#2a7ab9"])
            ax.set_title("login flood, bcrypt 12\n(reads/s, wsgi_auth on granian)")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "logins":
            names = list(data)
            bars = ax.bar(names, [data[n] * 1000 for n in names], color=["#2a7ab9", "#9bbbd9", "#2a7ab9"])
            ax.set_title("logins, bcrypt cost 12\n(ms, lower is better)")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "scale":
            names = [name.split(" (")[0] for name in data]
            ratios = [big / small for small, big in data.values()]
            bars = ax.bar(names, ratios, color="#2a7ab9")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.axhline(1.0 + TARGETS["scale_worse"], color="#c0504d", linestyle="--", linewidth=0.8)
            ax.set_title("big DB / 1-user DB\n(ratio, dashed = +10 % limit)")
            ax.bar_label(bars, fmt="%.2f")
            ax.tick_params(axis="x", labelsize=8)
        elif panel == "memory":
            names = list(data)
            x = range(len(names))
            idle = [data[n][0] for n in names]
            after = [data[n][1] for n in names]
            ax.bar([i - 0.2 for i in x], idle, width=0.4, label="idle", color="#9bbbd9")
            ax.bar([i + 0.2 for i in x], after, width=0.4, label="after requests", color="#2a7ab9")
            ax.set_xticks(list(x), names)
            ax.set_title("server RSS\n(MiB)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
