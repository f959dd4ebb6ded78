"""The live service keeps to wsgi_auth/openapi.json: schemathesis against ``python serve.py``.

Every phase runs (examples, coverage, fuzzing, stateful) with a bounded number of
examples per operation, signed in as an Admin (schemathesis_hooks.py mints each
request its own token and sends ``X-Origin``), and these checks:

- ``not_a_server_error``: no 500, whatever the input;
- ``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``,
  ``response_headers_conformance``: every answer is described, with its body and headers;
- ``unsupported_method``, ``allow_header_conformance``: other methods get 405 with a true ``Allow``.

A wider search: ``OPS_SCHEMATHESIS_MAX_EXAMPLES=150 OPS_SCHEMATHESIS_SEED=7 pytest tests/ops/test_schemathesis.py``.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wsgi_auth.handlers.meta import OPENAPI_PATH

from support import REPO_DIR, free_port, service_env

from .ops_support import add_user

pytest.importorskip("schemathesis")
pytestmark = pytest.mark.slow

ADMIN_UID = "ops-admin"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
    "allow_header_conformance",
]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def schemathesis_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("schemathesis")
    return [str(beside_python)] if beside_python.exists() else ["schemathesis"]


def test_live_service_keeps_to_its_openapi_document(tmp_path, serve):
    add_user(tmp_path, ADMIN_UID, role="Admin")
    # Reset by email configured (to a port where nothing listens: mail fails in the background, the
    # answer stays 202), so POST /api/password-reset is exercised rather than a 501 for every input.
    service = serve("--threads", "4", smtp_url=f"smtp://127.0.0.1:{free_port()}", public_url="http://localhost")
    env = service_env(tmp_path)
    env.update(
        SCHEMATHESIS_HOOKS="schemathesis_hooks",
        PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), str(REPO_DIR), env["PYTHONPATH"]]),
        OPS_ADMIN_UID=ADMIN_UID,
    )
    argv = [
        *schemathesis_command(), "run", f"{service.url}/api/openapi.json",
        "--checks", ",".join(CHECKS),
        "--max-examples", os.environ.get("OPS_SCHEMATHESIS_MAX_EXAMPLES", "5"),  # the coverage phase adds ~1,400
        "--seed", os.environ.get("OPS_SCHEMATHESIS_SEED", "1"),
        "--header", "X-Origin: client",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--workers", "1",  # hypothesis' lambda-source parsing is not thread-safe on Python 3.11
        "--no-color",
    ]  # fmt: skip
    result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = result.stdout[-8000:] + result.stderr[-2000:]
    assert result.returncode == 0, report

    # Every operation was exercised, but GET /api/openapi.json: schemathesis leaves out the document it loaded.
    operations = sum(method in HTTP_METHODS for item in json.loads(OPENAPI_PATH.read_text())["paths"].values()
                     for method in item)  # fmt: skip
    assert re.search(rf"Tested:\s+{operations - 1}\b", result.stdout), report

    # The server's side of the story: its access log has no 500, and the Admin's cookie really worked.
    log = service.stderr()
    statuses = re.findall(r" (GET|POST|PUT|DELETE|OPTIONS|HEAD|PATCH|TRACE) (\S+) (\d{3}) ", log)
    assert len(statuses) > 500, log[-3000:]
    assert not [line for line in statuses if line[2] == "500"]
    assert ("GET", "/api/users", "200") in statuses
    assert any(method == "DELETE" and path.startswith("/api/users/") and status == "204"
               for method, path, status in statuses)  # fmt: skip
    assert "Traceback" not in log
