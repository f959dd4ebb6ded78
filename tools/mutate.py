"""A small mutation run over the security modules: does each single change make a test fail?

    python tools/mutate.py [--sample N] [--seed S] [--budget SECONDS] [--module PATH ...] [--kinds K,...] [--list]

For each module in TARGETS it parses the source, finds the places where one small change alters
behaviour (a comparison flipped or made strict, ``and``/``or`` swapped, a ``not`` dropped, a number
moved by one, ``True``/``False`` swapped, an SQL comparison in a string flipped; with ``--kinds return,call``
a returned value made None or a call made as a statement dropped), picks a sample of
them (``--seed`` makes it the same sample again), and for each mutant copies the repository into a
scratch directory, writes the mutated module (``ast.unparse``: formatting and comments go, behaviour
stays), and runs the tests that cover the module on sqlite (``-x``: the first failure kills it). A
mutant that no test fails SURVIVES; its line is printed so a person can decide whether it is
equivalent (no behaviour changes: SECURITY.md lists those) or a missing test. The checkout itself is
never changed. Needs the test requirements (and tests/oauth/node_modules for the OAuth modules).
"""

import argparse
import ast
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module -> the tests that cover it (sqlite only: -k "not postgres")
TARGETS = {
    "wsgi_auth/features/reauth/fresh_sign_in.py": ["tests/test_fresh_sign_in.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/reauth/handlers.py": ["tests/test_fresh_sign_in.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/reauth/current_password.py": ["tests/test_events.py", "tests/test_sign_in_survivors.py",
        "tests/test_fresh_sign_in.py", "tests/test_totp.py", "tests/security/test_bruteforce.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/passwords.py": ["tests/test_password_normalisation.py", "tests/test_authenticate.py",
        "tests/test_password_cost.py", "tests/test_survivors.py", "tests/test_hash_gate.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/password_policy.py": ["tests/test_sign_in_survivors.py", "tests/test_password_policy.py",
        "tests/test_password_normalisation.py", "tests/test_survivors.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/throttle.py": ["tests/test_throttle.py", "tests/test_fresh_sign_in.py", "tests/test_password_reset.py",
        "tests/test_passkeys.py", "tests/test_survivors.py", "tests/test_email_verification.py",
        "tests/test_events.py", "tests/test_hash_gate.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/passkeys/webauthn.py": ["tests/test_passkeys.py", "tests/test_fresh_sign_in.py",
        "tests/test_survivors.py", "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/features/passkeys/handlers.py": ["tests/test_notices.py", "tests/test_passkeys.py", "tests/test_survivors.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/features/sessions/lifecycle.py": ["tests/test_sign_in_survivors.py", "tests/test_events.py",
        "tests/test_sessions.py", "tests/test_survivors.py", "tests/test_remember_me.py", "tests/test_own_account.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/middleware/token_required.py": ["tests/test_sessions.py", "tests/test_survivors.py",
        "tests/test_tokens.py", "tests/test_remember_me.py", "tests/test_statement_survivors.py",
        "tests/test_routing.py", "tests/test_fresh_sign_in.py", "tests/test_admin.py", "tests/test_more_survivors.py"],
    "wsgi_auth/tokens.py": ["tests/test_tokens.py", "tests/test_token_signature.py", "tests/test_survivors.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/features/mfa/second_factor.py": ["tests/test_totp.py", "tests/test_survivors.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/features/mfa/handlers.py": ["tests/test_notices.py", "tests/test_totp.py", "tests/test_fresh_sign_in.py",
        "tests/test_survivors.py", "tests/test_events.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/mfa/queries.py": ["tests/test_totp.py", "tests/test_survivors.py", "tests/test_events.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
    "wsgi_auth/features/sessions/queries.py": ["tests/test_totp.py", "tests/ops/test_purge.py", "tests/test_sessions.py",
        "tests/test_password_reset.py", "tests/test_survivors.py", "tests/test_fresh_sign_in.py",
        "tests/test_remember_me.py", "tests/test_events.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/oauth/handlers.py": ["tests/oauth/test_oauth_notices.py", "tests/oauth/test_oauth_requests.py",
        "tests/oauth/test_oauth_survivors.py", "tests/test_fresh_sign_in.py", "tests/test_statement_survivors.py",
        "tests/test_more_survivors.py"],
    "wsgi_auth/features/oauth/providers.py": ["tests/oauth/test_oauth_settings.py", "tests/oauth/test_oauth_providers.py",
        "tests/oauth/test_oauth_survivors.py", "tests/oauth/test_oauth_requests.py",
        "tests/test_statement_survivors.py", "tests/test_more_survivors.py"],
}

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
SQL_SWAPS = [(" <= ", " < "), (" >= ", " > "), (" < ", " <= "), (" > ", " >= "), ("IS NOT NULL", "IS NULL"),
             ("IS NULL", "IS NOT NULL"), (" <> ", " = ")]


def _docstring_ids(tree) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


BASIC_KINDS = ("compare", "boolop", "not", "bool", "int", "sql", "arith")
# Two more, kept apart so that the samples of the basic kinds drawn before stay the same: a ``return``
# of a value made to return None, and a call made as a statement (``store.end_session(...)``) dropped.
STATEMENT_KINDS = ("return", "call")


def sites(tree, kinds=BASIC_KINDS) -> list[tuple[int, str, object]]:
    """``(index of the node in ast.walk order, kind, detail)`` for every mutation of ``kinds`` this tree offers."""
    return [site for site in _all_sites(tree) if site[1] in kinds]


def _all_sites(tree) -> list[tuple[int, str, object]]:
    docstrings = _docstring_ids(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):  # fmt: skip
            found.append((index, "return", None))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            found.append((index, "call", None))
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    found.append((index, "compare", k))
        elif isinstance(node, ast.BoolOp):
            found.append((index, "boolop", None))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.append((index, "not", None))
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            if isinstance(value, bool):
                found.append((index, "bool", None))
            elif isinstance(value, int) and not isinstance(value, bool):
                found.append((index, "int", None))
            elif isinstance(value, str) and any(a in value for a, _ in SQL_SWAPS) and (
                    "SELECT" in value or "WHERE" in value or "UPDATE" in value or "DELETE" in value):
                for k, (a, _) in enumerate(SQL_SWAPS):
                    if a in value:
                        found.append((index, "sql", k))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            found.append((index, "arith", None))
    return found


def mutate(tree, site) -> tuple[ast.AST, int, str]:
    """A mutated copy of ``tree`` and the line and description of the change."""
    tree = copy.deepcopy(tree)
    index, kind, detail = site
    node = list(ast.walk(tree))[index]
    line = getattr(node, "lineno", 0)
    if kind == "compare":
        old = node.ops[detail]
        node.ops[detail] = COMPARE_SWAPS[type(old)]()
        what = f"{type(old).__name__} -> {type(node.ops[detail]).__name__}"
    elif kind == "boolop":
        old = node.op
        node.op = ast.Or() if isinstance(old, ast.And) else ast.And()
        what = f"{type(old).__name__} -> {type(node.op).__name__}"
    elif kind == "not":
        for parent in ast.walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is node:
                    setattr(parent, field, node.operand)
                elif isinstance(value, list) and any(v is node for v in value):
                    setattr(parent, field, [node.operand if v is node else v for v in value])
        what = "not dropped"
    elif kind == "bool":
        node.value = not node.value
        what = f"{not node.value} -> {node.value}"
    elif kind == "int":
        old = node.value
        node.value = old + 1
        what = f"{old} -> {node.value}"
    elif kind == "sql":
        a, b = SQL_SWAPS[detail]
        node.value = node.value.replace(a, b, 1)
        what = f"SQL {a.strip()!r} -> {b.strip()!r}"
    elif kind == "return":
        node.value = ast.Constant(None)
        what = "return None"
    elif kind == "call":
        node.value = ast.Constant(None)  # the statement is now a bare ``None``: the call is not made
        what = "call dropped"
    elif kind == "arith":
        old = node.op
        node.op = ast.Sub() if isinstance(old, ast.Add) else ast.Add()
        what = f"{type(old).__name__} -> {type(node.op).__name__}"
    else:
        raise ValueError(kind)
    return ast.fix_missing_locations(tree), line, what


def run_tests(workdir: Path, tests: list[str], timeout: float) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env["PYTHONPATH"] = str(workdir)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-k", "not postgres", *tests]
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    if done.returncode == 0:
        return "survived"
    if done.returncode in (1, 2, 3):  # 1: a test failed; 2, 3: an import or collection error counts as a kill
        return "killed"
    return f"error {done.returncode}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=60, help="mutants in all, spread over the modules")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--budget", type=float, default=3600, help="seconds; stop starting mutants after it")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one mutant's tests may take")
    parser.add_argument("--module", action="append", help="only these modules (repeatable)")
    parser.add_argument("--list", action="store_true", help="only count the mutation sites")
    parser.add_argument("--json", help="write every result here")
    parser.add_argument("--rerun", help="run again only the survivors recorded in this --json file")
    parser.add_argument("--kinds", default=",".join(BASIC_KINDS),
                        help=f"mutation kinds, comma-separated: {','.join(BASIC_KINDS + STATEMENT_KINDS)}")
    args = parser.parse_args(argv)
    kinds = tuple(args.kinds.split(","))

    modules = args.module or list(TARGETS)
    trees = {m: ast.parse((REPO / m).read_text("utf-8")) for m in modules}
    everything = [(m, s) for m in modules for s in sites(trees[m], kinds)]
    print(f"{len(everything)} mutation sites in {len(modules)} modules")
    if args.list:
        for m in modules:
            print(f"  {len(sites(trees[m], kinds)):4d}  {m}")
        return 0
    rng = random.Random(args.seed)
    chosen = rng.sample(everything, min(args.sample, len(everything)))
    chosen.sort(key=lambda item: (item[0], item[1][0]))
    if args.rerun:
        earlier = json.loads(Path(args.rerun).read_text("utf-8"))
        chosen = [(r["module"], tuple(r["site"])) for r in earlier if r["outcome"] == "survived"]
        trees.update({m: ast.parse((REPO / m).read_text("utf-8")) for m, _ in chosen if m not in trees})

    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wsgi_auth-mutants-") as scratch:
        workdir = Path(scratch) / "repo"
        shutil.copytree(REPO, workdir, ignore=shutil.ignore_patterns(".git", "__pycache__", "instance", ".pytest_cache"),
                        symlinks=True)  # fmt: skip
        for number, (module, site) in enumerate(chosen, 1):
            if time.monotonic() - started > args.budget:
                print(f"budget spent: {number - 1} of {len(chosen)} mutants run")
                break
            mutated, line, what = mutate(trees[module], site)
            target = workdir / module
            original = target.read_text("utf-8")
            try:
                target.write_text(ast.unparse(mutated) + "\n", "utf-8")
                t0 = time.monotonic()
                outcome = run_tests(workdir, TARGETS[module], args.timeout)
            finally:
                target.write_text(original, "utf-8")
            source_line = (REPO / module).read_text("utf-8").splitlines()[line - 1].strip() if line else ""
            results.append({"module": module, "site": list(site), "line": line, "change": what, "outcome": outcome,
                            "seconds": round(time.monotonic() - t0, 1), "source": source_line})  # fmt: skip
            print(f"[{number}/{len(chosen)}] {outcome:16s} {module}:{line} {what}   | {source_line[:90]}", flush=True)

    killed = sum(r["outcome"].startswith("killed") for r in results)
    survivors = [r for r in results if r["outcome"] == "survived"]
    print(f"\n{killed} killed, {len(survivors)} survived, {len(results) - killed - len(survivors)} errors "
          f"of {len(results)} run; raw kill rate {killed / max(1, len(results)):.1%}")
    for r in survivors:
        print(f"  SURVIVED {r['module']}:{r['line']} {r['change']}   | {r['source']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
