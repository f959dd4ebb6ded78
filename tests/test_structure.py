"""The shape of the code: no import cycle inside ``wsgi_auth``, no Python file over 500 lines outside tests/,
the layers below the web import nothing of it, and error answers are written in one module (issue 20)."""

import ast
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "wsgi_auth"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports, at any depth of the file (function-level imports count too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # "from . import tokens" imports the module wsgi_auth.tokens; "from .http import X" imports wsgi_auth.http
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    assert "wsgi_auth.http" in graph["wsgi_auth.routing"]
    assert "wsgi_auth.tokens" in graph["wsgi_auth.middleware.token_required"]
    assert graph["wsgi_auth.http"] == set()  # the web layer's leaf: Request, Response, HTTPError
    assert graph["wsgi_auth.rows"] == set()  # the store's leaf


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    assert find_cycle(import_graph()) is None


def test_no_python_file_outside_tests_is_over_500_lines():
    too_long = {}
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in ("tests", ".git") or any(part.startswith(".") for part in relative.parts):
            continue
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES:
            too_long[str(relative)] = lines
    assert too_long == {}


# -- one error path (issue 20) ------------------------------------------------------------------------------

# The layers below the web: they raise their own exceptions (middleware/errors.py says what each is answered).
BELOW_THE_WEB = (
    "wsgi_auth.store", "wsgi_auth.tokens", "wsgi_auth.features.mfa.totp", "wsgi_auth.features.passkeys.webauthn",
    "wsgi_auth.throttle", "wsgi_auth.hash_gate", "wsgi_auth.passwords", "wsgi_auth.mail",
    "wsgi_auth.features.oauth.providers",
)  # fmt: skip
THE_WEB = ("wsgi_auth.http", "wsgi_auth.middleware", "wsgi_auth.routing")
ERROR_ANSWERS = "wsgi_auth.middleware.errors"  # the one module that writes an error answer


def below_the_web(graph) -> list[str]:
    return sorted(m for m in graph if any(m == name or m.startswith(name + ".") for name in BELOW_THE_WEB))


def path_to(graph, start: str, targets) -> list[str] | None:
    """An import path from ``start`` to one of ``targets``, through any modules; None when there is none."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt in targets:
                return path + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return None


def test_the_layers_below_the_web_import_nothing_of_it_not_even_through_another_module():
    graph = import_graph()
    modules = below_the_web(graph)
    assert {"wsgi_auth.store.base", "wsgi_auth.store.sqlite", "wsgi_auth.throttle", "wsgi_auth.mail"} <= set(modules)
    found = {module: path for module in modules if (path := path_to(graph, module, THE_WEB))}
    assert found == {}


def test_the_path_finder_finds_an_indirect_import():
    assert path_to({"a": {"b"}, "b": {"wsgi_auth.http"}}, "a", THE_WEB) == ["a", "b", "wsgi_auth.http"]
    assert path_to({"a": {"b"}, "b": set()}, "a", THE_WEB) is None


def test_the_layers_below_the_web_use_no_request_or_response_of_werkzeug():
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    for module in below_the_web(import_graph()):
        for node in ast.walk(ast.parse(files[module].read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("werkzeug"):
                names = {alias.name for alias in node.names}
                assert not names & {"Request", "Response"} and "wrappers" not in node.module, module
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("werkzeug.wrappers") for alias in node.names), module


def error_answer_sites(tree: ast.AST) -> list[str]:
    """What in a module writes an error answer: a dict with the error body's keys, ``Response.error``, the
    status reasons (``REASONS``) of http.py, a call of middleware/errors.py's ``error_response``."""
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
            if {"message", "error"} <= keys:
                sites.append(f"line {node.lineno}: an error body")
        elif isinstance(node, ast.Attribute) and node.attr == "error" and getattr(node.value, "id", "") == "Response":
            sites.append(f"line {node.lineno}: Response.error")
        elif isinstance(node, ast.Attribute) and node.attr == "REASONS" and getattr(node.value, "id", "") == "http":
            sites.append(f"line {node.lineno}: http.REASONS")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "http":
            sites += [f"line {node.lineno}: import of REASONS" for alias in node.names if alias.name == "REASONS"]
        elif isinstance(node, ast.Name) and node.id == "error_response":
            sites.append(f"line {node.lineno}: error_response")
    return sites


def test_error_answers_are_written_in_one_module():
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    writers = {}
    for module, path in files.items():
        if sites := error_answer_sites(ast.parse(path.read_text("utf-8"))):
            writers[module] = sites
    assert set(writers) == {ERROR_ANSWERS}, writers
    sample = 'Response.error(e)\nx = {"message": m, "data": None, "error": r}\nfrom ..http import REASONS'
    assert sorted(error_answer_sites(ast.parse(sample))) == [
        "line 1: Response.error", "line 2: an error body", "line 3: import of REASONS"]  # fmt: skip


def test_only_error_middleware_turns_an_exception_into_an_answer():
    """No module catches ``HTTPError`` to answer it (ErrorMiddleware catches every exception; the CLI catches it
    to say it on stderr); CORS, above ErrorMiddleware, answers its refused preflight through ``answer`` there."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    catching, answering = set(), set()
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if any(getattr(name, "id", getattr(name, "attr", "")) == "HTTPError" for name in caught):
                    catching.add(module)
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "answer":
                answering.add(module)
    assert catching <= {"wsgi_auth.__main__"}, catching
    assert answering == {"wsgi_auth.middleware.cors"}, answering
