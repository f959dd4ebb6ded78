"""Benchmark wsgi_auth against the lesson's Flask stack, other servers and a minimal WSGI baseline.

    python -m bench                      # every section, writes bench/RESULTS.md and bench/results.png
    python -m bench http flood memory    # only these sections (also --sections http,flood)
    python -m bench --quick              # a short run, prints the table only (pass --out DIR to write files)
    python -m bench --clock wall         # in-process figures on the wall clock instead of this thread's CPU time

Run it on an otherwise idle machine, one benchmark at a time. A full run takes about 6 minutes on
2 cores (http ~3 min, flood ~30 s, memory ~15 s, scale ~1.5 min).

Sections:
  inprocess  signed-in GET /api/id called as a WSGI function: wsgi_auth, the Flask stack, the minimal function
  http       the same request over HTTP, wrk: wsgi_auth on granian / gunicorn / waitress, the lesson's Flask
             stack on gunicorn 5x2, a bare hello app on granian; 5 runs each, p99, slowest/median
  flood      32 clients logging in without pause at bcrypt 12 while wrk measures GET /api/id
  burst      40 logins at the same moment at bcrypt 12, from 40 client addresses and from one
  fair       one address logging in without pause while another logs in once a second
  memory     RSS of serve.py with all its workers, idle and after 10,000 requests
  logins     one login at bcrypt cost 12; 4 logins one after another vs 4 in threads
  scale      the inprocess and login measures again with 100,000 users in the database
  profile    cProfile of 20,000 in-process GET /api/id on wsgi_auth (written to bench/profile.txt)

Modules: common (apps, plumbing, results), inprocess, servers (subprocess servers, wrk), over_http,
login_turns (burst, fair), report.
Nothing leaves 127.0.0.1; every server started here is terminated before the run ends.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BENCH_DIR, CLOCKS, ROOT, SECTIONS, Results
from bench.login_turns import bench_burst, bench_fair
from bench.inprocess import bench_inprocess, bench_logins, bench_profile, bench_scale
from bench.over_http import bench_flood, bench_http, bench_memory
from bench.report import chart, machine, markdown, table



def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts; prints only unless --out is given")
    parser.add_argument("only", nargs="*", metavar="SECTION", help=f"sections to run: {' '.join(SECTIONS)}")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", help="where RESULTS.md, results.png and profile.txt go (default: bench/)")
    parser.add_argument("--rounds", type=int, help="in-process rounds (default 7, quick 3)")
    parser.add_argument("--calls", type=int, help="in-process calls per round (default 2000, quick 200)")
    parser.add_argument("--duration", type=int, help="wrk seconds per server (default 5, quick 1)")
    parser.add_argument("--users", type=int, help="users in the big database (default 100000, quick 10000)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="clock of the in-process and scale measures: this thread's CPU time (default) or wall")
    parser.add_argument("--login-wait", type=float, help="WSGI_AUTH_LOGIN_WAIT of the burst and fair servers "
                        "(default: the service's, 10 s)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (3 if quick else 7)
    args.calls = args.calls or (200 if quick else 2000)
    args.warmup = 100 if quick else 500
    args.duration = args.duration or (1 if quick else 5)
    args.http_repeats = 1 if quick else 5
    args.flood_duration = 3 if quick else 10
    args.users = args.users or (10_000 if quick else 100_000)
    args.memory_requests = 1000 if quick else 10_000
    args.login_repeats = 1 if quick else 5
    args.scale_login_repeats = 3 if quick else 7
    args.profile_calls = 2000 if quick else 20_000
    sections = args.only or [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    args.sections = sections
    if args.out is None and not quick:
        args.out = str(BENCH_DIR)
    return args


def main(argv=None):
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    results = Results()
    info = machine()  # before the run, so the load average is the background load
    clock = CLOCKS[args.clock]
    results.figures["clock"] = args.clock
    busy = os.getloadavg()[0]
    if busy > 0.5 * info["nproc"]:
        results.notes.append(f"the machine was busy when the run started (1-minute load average {busy:.2f} on"
                             f" {info['nproc']} CPUs): wall-clock figures (HTTP, concurrent logins) are pessimistic")
    started = time.perf_counter()
    profile_report = None
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wsgi_auth-bench-") as workdir:
        steps = [
            ("inprocess", lambda: bench_inprocess(workdir, results, args.rounds, args.calls, args.warmup, clock)),
            ("http", lambda: bench_http(workdir, results, duration=args.duration, repeats=args.http_repeats)),
            ("flood", lambda: bench_flood(workdir, results, duration=args.flood_duration)),
            ("burst", lambda: bench_burst(workdir, results, login_wait=args.login_wait)),
            ("fair", lambda: bench_fair(workdir, results, duration=5 if args.quick else 20, login_wait=args.login_wait)),
            ("memory", lambda: bench_memory(workdir, results, requests=args.memory_requests)),
            ("logins", lambda: bench_logins(workdir, results, repeats=args.login_repeats)),
            ("scale", lambda: bench_scale(workdir, results, users=args.users, rounds=args.rounds, calls=args.calls,
                                          warmup=args.warmup, login_repeats=args.scale_login_repeats, clock=clock)),
        ]
        for name, step in steps:
            if name in args.sections:
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
                step()
        if "profile" in args.sections:
            print("[bench] profile ...", file=sys.stderr, flush=True)
            profile_report = bench_profile(workdir, results, calls=args.profile_calls, out=out, clock=clock)
    elapsed = time.perf_counter() - started
    print(table(results))
    if results.targets:
        print("\nTargets:")
        for name, value, wanted, passed in results.targets:
            print(f"  {'PASS' if passed else 'FAIL'}  {name}: {value} (wanted {wanted})")
    for note in results.notes:
        print(f"note: {note}")
    if profile_report and not out:
        print(profile_report)
    if out:
        (out / "RESULTS.md").write_text(markdown(results, info, args, elapsed))
        drawn = chart(results, out / "results.png")
        print(f"\nwrote {out / 'RESULTS.md'}" + (f", {out / 'results.png'}" if drawn else " (no chart: matplotlib missing, or no section to draw)")
              + (f", {out / 'profile.txt'}" if profile_report else ""))
    failed = [t for t in results.targets if not t[3]]
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
