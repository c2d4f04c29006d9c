"""The import graph of graph/ and db/: no cycles, no imports inside functions, layers point one way.

Read with `ast`, no import executed and no server: transport (http, ws) -> GraphQL (execution,
schema, resolvers) -> realtime -> db, with the root modules (settings, errors, metrics, logs) as
the foundation anyone may import. Imports under `if TYPE_CHECKING:` are for annotations only and
are left out of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "db")
# What the live layer and the database may not reach: the layers above them.
UPPER = (
    "graph.http",
    "graph.ws",
    "graph.execution",
    "graph.schema",
    "graph.resolvers",
    "graph.auth",
)
UPPER_ROOT = ("graph.app", "graph.cli", "graph.context", "graph.ops")


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue  # alembic scripts, loaded by alembic, not imported
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement reaches (its module, and each `from` name)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def scan(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    """The import edges between our modules, and every import inside a def or class."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    nested: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"

        def visit(
            node: ast.AST, depth: int, module: str = module, is_package: bool = is_package
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and is_type_checking(child):
                    for other in child.orelse:
                        visit(other, depth)
                    continue
                if isinstance(child, ast.Import | ast.ImportFrom):
                    if depth:
                        nested.append(f"{module}:{child.lineno}")
                    # A deferred import still makes a cycle, only a hidden one: count it too.
                    for name in imported_names(child, module, is_package):
                        if name in modules and name != module:
                            edges[module].add(name)
                    continue
                inner = isinstance(
                    child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
                )
                visit(child, depth + inner)

        visit(tree, 0)
    return edges, nested


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_the_module_graph_has_no_cycles() -> None:
    edges, _ = scan(module_files())
    assert cycles(edges) == []


def test_no_module_imports_inside_a_function() -> None:
    _, nested = scan(module_files())
    assert nested == []


def test_realtime_and_db_import_nothing_from_the_layers_above() -> None:
    edges, _ = scan(module_files())
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        if within(source, ("graph.realtime", "db"))
        for target in targets
        if within(target, UPPER + UPPER_ROOT)
    )
    assert upward == []


def test_the_graph_root_holds_at_most_eight_modules() -> None:
    root = sorted(path.name for path in (ROOT / "graph").glob("*.py") if path.name != "__init__.py")
    assert len(root) <= 8, root


def test_the_scan_sees_a_cycle_and_a_nested_import() -> None:
    """The checks above are only as good as the scan: it must see what it is looking for."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    guard = ast.parse("if TYPE_CHECKING:\n    import os\n").body[0]
    assert isinstance(guard, ast.If) and is_type_checking(guard)
    assert imported_names(ast.parse("from . import b").body[0], "p.a", False) == ["p", "p.b"]  # type: ignore[arg-type]
