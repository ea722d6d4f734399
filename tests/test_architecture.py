"""The house keeps its shape (docs/architecture.md): dependencies point from the interfaces
to the domains to access to the foundation, never back; a domain reads another only through
its public names; only the store touches SQLite or PostgreSQL; functions stay short enough to
read. Each rule is checked on the source itself, so a change that breaks one fails here."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

SRC = ROOT / "src" / "mineledger"

#: Rank of each layer: a module may import its own layer and any of lower rank.
FOUNDATION = {"errors": 0, "progress": 0, "model": 1, "geo": 2, "io": 3, "store": 4}
ACCESS = 5
DOMAINS = {"ledger", "land", "victims", "stockpile", "minefields", "treaty"}
DOMAIN = 6
INTERFACES = {"report": 7, "cli": 8, "web": 8}
#: Function-level imports of mineledger modules outside the CLI, each with its reason.
LOCAL_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mineledger":
        return None
    return parts[1] if len(parts) > 1 else ""


def _rank(part: str) -> int:
    if part in FOUNDATION:
        return FOUNDATION[part]
    if part == "access":
        return ACCESS
    if part in DOMAINS:
        return DOMAIN
    if part in INTERFACES:
        return INTERFACES[part]
    return 99  # the package itself (the public API) and __main__


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if "migrations" in rel.parts:
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree):
    """(module imported, names, the import node, the function it is in or None)."""
    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from walk(child, child.name)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                yield child.module, [a.name for a in child.names], child, function
            elif isinstance(child, ast.Import):
                for a in child.names:
                    yield a.name, [], child, function
            else:
                yield from walk(child, function)
    yield from walk(tree, None)


MODULES = list(_modules())


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_nothing_imports_upward(rel, tree):
    here = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    if here in ("__init__", "__main__"):
        return  # the public API and the entry point stand above everything
    mine = _rank(here)
    for module, names, _, _ in _imports(tree):
        there = _part(module)
        if there is None or there == here:
            continue
        if there == "" and names:  # from mineledger import X: the public API, above all
            raise AssertionError(f"{rel} imports {names} from the package's public API")
        assert _rank(there) <= mine or (mine == DOMAIN and _rank(there) == DOMAIN), \
            f"{rel} ({here}) imports {module} ({there}): an upward dependency"


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_a_domain_reads_another_only_through_its_public_names(rel, tree):
    here = rel.parts[0]
    if here not in DOMAINS:
        return
    for module, names, _, _ in _imports(tree):
        there = _part(module)
        if there in DOMAINS and there != here:
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{rel} imports private {private} of {module}"
            assert not module.rsplit(".", 1)[-1].startswith("_"), f"{rel} imports {module}"


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_only_the_store_touches_the_databases(rel, tree):
    if rel.parts[0] == "store":
        return
    for module, _, _, _ in _imports(tree):
        assert module.split(".")[0] not in ("sqlite3", "psycopg", "sqlalchemy"), \
            f"{rel} imports {module}: only mineledger.store talks to the databases"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("_write_connection", "_take_write_lock", "_rebuild",
                                     "engine"), f"{rel}:{node.lineno} uses .{node.attr}"
            assert node.attr != "_actor", \
                f"{rel}:{node.lineno}: the acting user is a Session's, never a store's"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert "PRAGMA" not in node.value, f"{rel}:{node.lineno} runs a PRAGMA"


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_no_store_is_probed_with_getattr_or_hasattr(rel, tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr") and node.args:
            target = ast.unparse(node.args[0])
            assert "store" not in target and "session" not in target, \
                f"{rel}:{node.lineno} probes {target} with {node.func.id}"


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_function_level_imports_only_in_the_cli(rel, tree):
    """The CLI imports each service inside its command so that start-up loads only what runs
    (cli/common.py says so); elsewhere an import inside a function hides a dependency."""
    if rel.parts[0] == "cli":
        return
    for module, _, node, function in _imports(tree):
        if function is None or _part(module) is None:
            continue
        assert (str(rel), module) in LOCAL_IMPORTS_ALLOWED, \
            f"{rel}:{node.lineno} imports {module} inside {function}()"


def _body_lines(fn) -> int:
    """Lines of a function without its docstring."""
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str) and len(fn.body) > 1:
        first = fn.body[1]
    return fn.end_lineno - first.lineno + 1


@pytest.mark.parametrize("rel, tree", MODULES, ids=[str(r) for r, _ in MODULES])
def test_functions_are_short_or_say_why(rel, tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node) or ""
            assert _body_lines(node) <= 80 or "Long because" in doc, \
                f"{rel}:{node.lineno} {node.name}() has {_body_lines(node)} lines of code"


def test_the_layout_has_the_fields_domains():
    for folder in ("model", "geo", "io", "store", "access", "ledger", "land", "victims", "cli",
                   "report", "stockpile"):
        assert (SRC / folder / "__init__.py").is_file(), folder
    for misleading in ("services", "safety.py", "areas.py"):
        assert not list(SRC.rglob(misleading)), f"{misleading} names something else in the field"


def test_the_architecture_is_written_down_and_readme_points_at_it():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for folder in ("model/", "geo/", "io/", "store/", "access/", "ledger/", "land/", "victims/",
                   "cli/", "report/", "stockpile/", "minefields/", "treaty/", "web/"):
        assert folder in doc, folder
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
