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
