"""The house of version 3, checked from the source: the features each in one folder, the lesson's core at the
top, no file name shared across layers, handlers that never assign to what they are given, a lazy store."""

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "wsgi_auth"
FEATURES = PACKAGE / "features"
HANDLER_FILES = [*PACKAGE.glob("handlers/*.py"), *FEATURES.glob("*/*.py")]


def test_no_two_modules_outside_the_features_share_a_name():
    """``sessions.py`` once lived in three layers; now a name outside features/ is one file."""
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if FEATURES not in p.parents and p.name != "__init__.py")
    assert [name for name, count in names.items() if count > 1] == []


def test_each_feature_keeps_its_handlers_and_queries_in_its_own_folder():
    for folder in ("sessions", "mfa", "passkeys", "oauth", "reauth", "account", "events", "reset"):
        assert (FEATURES / folder / "handlers.py").exists(), folder
    for folder in ("sessions", "mfa", "passkeys", "oauth", "account", "events"):
        assert (FEATURES / folder / "queries.py").exists(), folder
    assert not (PACKAGE / "handlers" / "mfa.py").exists() and not (PACKAGE / "store" / "sessions.py").exists()


def test_token_required_is_defined_where_a_student_looks_for_it():
    source = (PACKAGE / "middleware" / "token_required.py").read_text()
    defined = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert {"token_required", "TokenRequired", "Access"} <= defined
    assert "token_required(access, request" in (PACKAGE / "routing.py").read_text()


def test_no_handler_assigns_to_the_services_it_is_given():
    """Handlers read ``services`` (built once in create_app); what changes lives in the store or its own object."""
    offenders = []
    for path in HANDLER_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []  # fmt: skip
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in (
                        "services", "app", "context"):  # fmt: skip
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_self_app_is_always_the_wrapped_wsgi_callable():
    """In every middleware, ``self.app`` is the next layer, given first to ``__init__``."""
    for path in (PACKAGE / "middleware").glob("*.py"):
        for cls in ast.walk(ast.parse(path.read_text())):
            if not isinstance(cls, ast.ClassDef):
                continue
            methods = {node.name: node for node in cls.body if isinstance(node, ast.FunctionDef)}
            if "__call__" in methods:  # a layer: (environ, start_response)
                assert methods["__init__"].args.args[1].arg == "app", f"{path.name}: {cls.name}"


def test_the_store_is_opened_by_open_store_and_psycopg_only_for_a_postgresql_url():
    code = ("import sys, wsgi_auth, wsgi_auth.store as s; assert not hasattr(s, 'Store'); "
            "assert callable(s.open_store); assert not [m for m in sys.modules if m.startswith('psycopg')]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_query_groups_are_mixed_in_at_one_place():
    """Only store/sql_store.py lists the query groups; the backends subclass the composed store."""
    mixing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id.endswith("Queries") for base in node.bases):  # fmt: skip
                mixing.append(path.relative_to(PACKAGE).as_posix())
    assert mixing == ["store/sql_store.py"]
