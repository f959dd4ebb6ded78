"""Smoke test of the benchmark (bench/): the in-process section runs with tiny counts.

No timing is asserted: only that wsgi_auth, the lesson's Flask stack and the
minimal WSGI function all answer the authenticated GET /api/id with 200 and
that the benchmark produces positive figures for each.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

for module in ("flask", "flask_restful", "flask_sqlalchemy", "flask_cors"):
    pytest.importorskip(module, reason="the benchmark's Flask stack needs pip install -e '.[bench]'")

from bench import common, inprocess  # noqa: E402

STACKS = {"wsgi_auth", "Flask lesson", "minimal WSGI"}


def test_inprocess_section_gets_200_from_all_three_stacks_and_positive_figures(tmp_path):
    results = common.Results()

    medians = inprocess.bench_inprocess(tmp_path, results, rounds=1, calls=5, warmup=2)

    assert results.figures["inprocess_status"] == {name: 200 for name in STACKS}
    assert set(medians) == STACKS
    assert all(value > 0 for value in medians.values())
    ratios = {measure: value for _section, measure, value, unit in results.rows if unit == "x"}
    assert set(ratios) == {"Flask / wsgi_auth", "wsgi_auth / minimal"}
    assert all(value > 0 for value in ratios.values())
    assert len(results.targets) == 2


def test_each_stack_answers_the_signed_in_user(tmp_path):
    for setup in (common.setup_ours, common.setup_flask, common.setup_minimal):
        workdir = tmp_path / setup.__name__
        workdir.mkdir()
        app, cookie = setup(workdir)
        status, _headers, body = common.call(app, common.make_environ("GET", "/api/id", cookie=cookie))
        assert status == 200, (setup.__name__, body)
        assert json.loads(body)["uid"] == "toby"


def test_bench_server_waits_for_a_connect_on_an_app_without_health_and_writes_nothing(tmp_path):
    """bench's servers are the tests' ``Server``: fixed port, TCP-connect wait, output to /dev/null."""
    from bench import servers

    port = servers.free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with servers.Server(argv, None, port, cookie="") as server:
        assert server.get_id() == 404  # up and answering; http.server has no /api/id nor /api/health
        assert server.pid == server.process.pid
    assert server.process.returncode is not None
    assert not list(servers.ROOT.glob("bench.std*")) and not list(tmp_path.iterdir())


def test_a_quiet_server_needs_a_fixed_port(tmp_path):
    from tests.support.server import Server

    with pytest.raises(ValueError, match="fixed port"):
        Server([sys.executable, "-c", "pass"], workdir=tmp_path, port=0, quiet=True)
