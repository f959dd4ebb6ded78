"""The docs tell the truth: file names a reader can open, and the functions, classes and tests they name
defined there; links that lead somewhere; a README that stays short and whose code map names every module;
and the README's curl walkthrough showing the statuses and headers its comments promise."""

import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from support import SECRET_KEY

REPO_DIR = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "SECURITY.md", *sorted(p.relative_to(REPO_DIR).as_posix() for p in (REPO_DIR / "docs").glob("*.md")),
        "bench/RESULTS.md", "bench/profile.txt"]  # fmt: skip
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|Users)/[\w.-]+")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("name", DOCS)
def test_docs_name_no_path_of_a_development_machine(name):
    text = (REPO_DIR / name).read_text("utf-8")
    assert not MACHINE_PATH.findall(text), f"{name}: {MACHINE_PATH.findall(text)[:5]}"


@pytest.mark.parametrize("name", [d for d in DOCS if d.endswith(".md")])
def test_every_relative_link_leads_to_a_file_in_the_repository(name):
    for target in LINK.findall((REPO_DIR / name).read_text("utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (REPO_DIR / name).parent.joinpath(target).resolve().exists(), f"{name} links {target}"


def test_readme_links_the_contract_in_the_repository():
    readme = (REPO_DIR / "README.md").read_text("utf-8")
    assert "[`docs/API.md`](docs/API.md)" in readme
    assert (REPO_DIR / "docs" / "API.md").read_text("utf-8").startswith("# wsgi_auth — the contract")


def test_security_md_does_not_call_the_tested_gunicorn_deployment_untested():
    security = (REPO_DIR / "SECURITY.md").read_text("utf-8")
    not_tested = security[security.index("**Not tested:**"):].split("\n- ")[0]
    assert "gunicorn" not in not_tested.split("The gunicorn")[0]
    assert "tests/ops/test_gunicorn.py" in security and (REPO_DIR / "tests/ops/test_gunicorn.py").exists()


def readme_curl_commands():
    readme = (REPO_DIR / "README.md").read_text("utf-8")
    block = readme[readme.index("```sh\n# sign up"):]
    block = block[: block.index("\n```\n")].replace("\\\n", " ")
    return [line.split("  #")[0] for line in block.splitlines() if line.startswith("curl ")]


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def live_server(make_app):
    server = make_server("127.0.0.1", 0, make_app(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"  # the README's host name: curl sends a Secure cookie to it
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_readme_curl_walkthrough_shows_each_status_and_the_cookie(live_server, tmp_path):
    commands = readme_curl_commands()
    assert len(commands) == 6 and all(" -i " in f" {c} " and " -s " not in f" {c} " for c in commands), commands
    outputs = []
    for command in commands:
        argv = [live_server + a[len("http://localhost:8587"):] if a.startswith("http://localhost:8587") else a
                for a in shlex.split(command)]  # fmt: skip
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    statuses = [output.split("\n", 1)[0].split()[1] for output in outputs]
    assert statuses == ["201", "200", "200", "200", "200", "401"]
    assert re.search(r"(?im)^set-cookie: jwt_python_flask=eyJ[^;]+;.*httponly", outputs[1])
    assert re.search(r"(?im)^set-cookie: jwt_python_flask=;.*max-age=0", outputs[4])


# -- docs/LESSON.md names code that exists ----------------------------------------------------------------

LESSON_ROW = re.compile(r"^\| (\d+) \| .*? \| (.*) \| (.*) \|$")
CODE = re.compile(r"`([^`]+)`")
PY_NAME = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:\(\))?$")


def _defined_names(path: Path) -> set[str]:
    """A Python file's module-level functions, classes and assigned names, and ``Class.method`` for each
    method of its classes."""
    import ast

    names = set()
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))  # fmt: skip
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _module_file(token: str) -> Path | None:
    """The file a backticked path names: ``wsgi_auth/x.py``, ``public/...``, or ``x.py`` inside wsgi_auth/."""
    for base in (REPO_DIR, REPO_DIR / "wsgi_auth"):
        candidate = base / token
        if candidate.is_file():
            return candidate
    return None


def _names_code(token: str) -> bool:
    """``f()``, ``Class.method()``, ``CamelCase`` or ``CONSTANT``; not a header name such as ``Cookie``."""
    return token.endswith("()") or "." in token or token.isupper() or re.search(r"[a-z][A-Z]|^[A-Z]{2,}[a-z]", token) is not None


def lesson_references():
    """(step, file, name) for every name the "done by" column says a file holds, and (step, test file, test)
    for every test the "pinned by" column names."""
    text = (REPO_DIR / "docs" / "LESSON.md").read_text("utf-8")
    code, pinned = [], []
    for line in text.splitlines():
        row = LESSON_ROW.match(line)
        if not row:
            continue
        step, done_by, pinned_by = row.groups()
        current = None
        for token in CODE.findall(done_by):
            if token.endswith((".py", ".js", ".html")) and "/" in token or token.endswith(".py"):
                current = _module_file(token)
                continue
            if current is None or not PY_NAME.match(token) or not _names_code(token):
                continue
            parts = token.removesuffix("()").split(".")
            module = _module_file(parts[0] + ".py") if len(parts) > 1 and parts[0].islower() else None
            code.append((step, module or current, ".".join(parts[1:] if module else parts)))
        test_file = None
        for token in CODE.findall(pinned_by):
            path, _, name = token.partition("::")
            if path:
                test_file = REPO_DIR / path
            if name:
                pinned.append((step, test_file, name))
    return code, pinned


def test_lesson_md_names_functions_and_classes_that_exist_where_it_says():
    code, _ = lesson_references()
    assert len(code) >= 20
    missing = []
    for step, path, name in code:
        if path.suffix == ".py":
            found = name in _defined_names(path)
        else:
            found = re.search(rf"\b{re.escape(name.split('.')[-1])}\b", path.read_text("utf-8")) is not None
        if not found:
            missing.append(f"step {step}: {name} in {path.relative_to(REPO_DIR)}")
    assert not missing, missing


def test_lesson_md_names_tests_that_exist():
    _, pinned = lesson_references()
    assert len(pinned) >= 20
    missing = [f"step {step}: {path.relative_to(REPO_DIR)}::{name}" for step, path, name in pinned
               if not path.is_file() or f"def {name}(" not in path.read_text("utf-8")]  # fmt: skip
    assert not missing, missing


# -- every doc names files that exist, and names in them that are defined ------------------------------------

CHECKED_DOCS = [d for d in DOCS if d.endswith(".md") and d != "docs/API.md"]  # API.md: the contract, no files
FILE_TOKEN = re.compile(r"^(?:python )?([\w./-]+\.py)(?=$|[ :])")
NAMED_IN_FILE = re.compile(r"^([\w./-]+\.py): (.+)$")
TEST_TOKEN = re.compile(r"^([\w./-]*\.py)?::(\w+)$")


def _defined_or_annotated(path: Path) -> set[str]:
    """:func:`_defined_names`, plus annotated module-level names: a method only as ``Class.method``, so that
    ``tokens.py: verify`` (a method of ``Verifier``, no function of the module) is refused."""
    import ast

    names = _defined_names(path)
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _source_file(token: str) -> Path | None:
    """A ``.py`` path as the docs write it: from the repository's root, or inside wsgi_auth/; a test file also
    by its name alone (``test_headers.py``), where that name is unique under tests/."""
    found = _module_file(token)
    if found is None and "/" not in token and token.startswith("test_"):
        matches = list((REPO_DIR / "tests").rglob(token))
        found = matches[0] if len(matches) == 1 else None
    return found


def _is_defined(path: Path, name: str) -> bool:
    """``f``, ``f()``, ``Class``, ``Class.method``, ``CONSTANT``; or, for a snippet such
    as ``CONSTANT = 60`` or ``secrets.token_urlsafe(16)``, that text in the file."""
    name = name.strip()
    if "=" in name or ("(" in name and not name.endswith("()")):
        return name in path.read_text("utf-8")
    return name.removesuffix("()") in _defined_or_annotated(path)


def doc_code_references(name: str):
    """(line number, token, problem) for each backticked file, ``file.py: name`` or ``file.py::test`` in a doc
    that does not lead to a file, or to a name defined in it. The README's code map names files within the
    folder its table or row names: :func:`code_map` checks it."""
    problems = []
    lines = (REPO_DIR / name).read_text("utf-8").splitlines()
    if name == "README.md":
        start = lines.index(CODE_MAP_HEADING)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
        lines[start:end] = [""] * (end - start)
    for number, line in enumerate(lines, 1):
        test_file = None
        for token in CODE.findall(line):
            test = TEST_TOKEN.match(token)
            if test:
                if test.group(1):
                    test_file = _source_file(test.group(1))
                    if test_file is None:
                        problems.append((number, token, "no such test file"))
                if test_file is not None and f"def {test.group(2)}(" not in test_file.read_text("utf-8"):
                    problems.append((number, token, f"no such test in {test_file.relative_to(REPO_DIR)}"))
                continue
            file_match = FILE_TOKEN.match(token)
            if not file_match:
                continue
            path = _source_file(file_match.group(1))
            if path is None:
                problems.append((number, token, "no such file"))
                continue
            if path.name.startswith("test_"):
                test_file = path
            named = NAMED_IN_FILE.match(token)
            if named and not _is_defined(path, named.group(2)):
                problems.append((number, token, f"not defined in {path.relative_to(REPO_DIR)}"))
    return problems


@pytest.mark.parametrize("name", CHECKED_DOCS)
def test_every_file_and_name_a_doc_names_exists(name):
    problems = doc_code_references(name)
    assert not problems, "\n".join(f"{name}:{number}: `{token}`: {problem}" for number, token, problem in problems)


# -- the README: a short front door whose code map names every module --------------------------------------

CODE_MAP_HEADING = "## The code map"
WSGI_AUTH = REPO_DIR / "wsgi_auth"
NOT_A_NAME = re.compile(r"\.(?:json|js|html|md|txt|css|sqlite3)$|^(?:GET|HEAD|POST|PUT|DELETE|OPTIONS)$")


def code_map() -> tuple[set[Path], list[str]]:
    """The files and folders the README's code map names, and what is wrong with it.

    The map is tables. A table whose header's first cell names a folder (``store/``) holds rows about
    that folder's files; a row whose first cell names a folder (``sessions/``) names files inside it.
    A bare file name is found there; one with a ``/`` from wsgi_auth/. Each ``name()``, ``Class``, ``Class.method()`` or
    ``CONSTANT`` after a file must be defined in that file; ``method()`` right after its class's name
    (```Sessions` (`start()`, ...)``) is that class's."""
    readme = (REPO_DIR / "README.md").read_text("utf-8").splitlines()
    start = readme.index(CODE_MAP_HEADING)
    section = readme[start + 1:]
    section = section[: next((i for i, line in enumerate(section) if line.startswith("## ")), len(section))]
    named, problems = set(), []
    table_folder, header = WSGI_AUTH, True
    for line in section:
        if not line.startswith("|"):
            table_folder, header = WSGI_AUTH, True
            continue
        tokens = CODE.findall(line)
        if header:  # a table's first line: its folder, if it names one
            header = False
            if tokens and tokens[0].endswith("/") and line.startswith(f"| `{tokens[0]}`"):
                table_folder = WSGI_AUTH / tokens[0]
                named.add(table_folder)
            continue
        if set(line) <= set("|- "):
            continue
        row_folder, current, owner = table_folder, None, None
        for index, token in enumerate(tokens):
            if ":" in token or " " in token:  # a URL, a command
                continue
            if token.endswith("/"):
                places = (WSGI_AUTH / token if "/" in token[:-1] else row_folder / token, REPO_DIR / token)
                folder = next((f for f in places if f.is_dir()), None)
                if folder is None:
                    problems.append(f"{line[:40]}: no folder {token}")
                    continue
                named.add(folder)
                if index == 0:
                    row_folder = folder
                continue
            if token.endswith(".py"):
                path = WSGI_AUTH / token if "/" in token else row_folder / token
                path = path if path.is_file() else None
                if path is None:
                    problems.append(f"{line[:40]}: no file {token}")
                    continue
                named.add(path)
                current, owner = path, None
                if index == 0:
                    row_folder = path.parent
                continue
            if not PY_NAME.match(token) or NOT_A_NAME.search(token):
                continue
            defined, bare = (_defined_or_annotated(current) if current else set()), token.removesuffix("()")
            if any(name.startswith(bare + ".") for name in defined):
                owner = bare  # a class with methods: the bare names after it may be its methods
                continue
            if not _names_code(token):
                continue
            if current is None:
                problems.append(f"{line[:40]}: {token} with no file before it")
            elif bare not in defined and f"{owner}.{bare}" not in defined:
                problems.append(f"{token} is not defined in {current.relative_to(REPO_DIR)}")
    return named, problems


def _needs_naming(path: Path) -> bool:
    """Every module, but an ``__init__.py`` that holds only its docstring: its folder speaks for it."""
    import ast

    if path.name != "__init__.py" or path.parent == WSGI_AUTH:
        return True
    body = ast.parse(path.read_text("utf-8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def test_readme_code_map_names_names_that_exist_where_it_says():
    named, problems = code_map()
    assert len(named) >= 40
    assert not problems, problems


def test_readme_code_map_names_every_module_of_the_package():
    named, _ = code_map()
    modules = [p for p in sorted(WSGI_AUTH.rglob("*.py")) if "__pycache__" not in p.parts and _needs_naming(p)]
    unnamed = [p.relative_to(WSGI_AUTH).as_posix() for p in modules if p not in named]
    assert not unnamed, f"README's code map does not name: {unnamed}"


def test_readme_code_map_starts_with_the_lessons_core():
    named_in_order = []
    readme = (REPO_DIR / "README.md").read_text("utf-8")
    core_table = readme[readme.index(CODE_MAP_HEADING):].split("\n\n| ")[1]
    for line in core_table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        named_in_order.append(CODE.findall(line)[0])
    core = ["__init__.py", "routing.py", "middleware/token_required.py", "tokens.py", "passwords.py"]
    assert named_in_order[: len(core)] == core


def test_readme_is_a_short_front_door():
    lines = (REPO_DIR / "README.md").read_text("utf-8").splitlines()
    assert len(lines) <= 200, len(lines)
    assert lines[2].strip().startswith("pip install -e . && python serve.py")
    assert lines[3].strip().startswith("pip install -e '.[test]' && python -m pytest")
