"""No import circle between modules of segstudio/.

A circle says two modules are one concern split across files (each needs the other's
names), and at module level it makes the import order matter (whichever module Python
reaches first sees the other half-initialised). Imports inside functions count too: the
cli/ and bench/ layers import lazily to keep `segstudio --help` fast, and a lazy import
only hides a circle until the call. `if TYPE_CHECKING:` imports never run and are left out
(a type hint naming a module that imports this one is not a dependency at run time).

An import of `a.b.c` is an edge to the module `a.b.c` only; the parent packages' __init__
files are not edges, since a package re-exporting its own submodules is not a circle. A
`from a.b import name` is an edge to `a.b.name` when that is a module, else to `a.b`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "segstudio"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: at module level and inside functions (a lazy import still
    makes the two modules depend on each other, it only hides the circle until the call),
    but not in `if TYPE_CHECKING:` blocks, which never run."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            stack += node.orelse
            continue
        stack += ast.iter_child_nodes(node)
    return found


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
            continue
        if node.level:   # relative: resolve against the module's package
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            out.add(sub if sub in modules else source)
    return {m for m in out if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = _all_modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components)


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_lazy_and_relative_imports_not_type_checking_ones() -> None:
    a = PACKAGE / "_cycle_probe_a.py"
    b = PACKAGE / "_cycle_probe_b.py"
    c = PACKAGE / "_cycle_probe_c.py"
    a.write_text("from segstudio import _cycle_probe_b\n")
    b.write_text("from ._cycle_probe_a import x\n")
    c.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                 "    from segstudio import _cycle_probe_a\n"
                 "def f():\n    import segstudio._cycle_probe_b\n")
    try:
        graph = import_graph()
    finally:
        for p in (a, b, c):
            p.unlink()
    assert graph["segstudio._cycle_probe_c"] == {"segstudio._cycle_probe_b"}
    assert ["segstudio._cycle_probe_a", "segstudio._cycle_probe_b"] in find_cycles(graph)


# module -> private names it may still import from another module, and why.
PRIVATE_EXCEPTIONS: dict[str, set[str]] = {}


def test_no_private_names_imported_across_modules() -> None:
    """A `_name` is its module's business: a second module that needs it makes it a shared
    interface, which should then be public (or live where both can own it)."""
    bad = []
    for name, path in _all_modules().items():
        allowed = PRIVATE_EXCEPTIONS.get(name, set())
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.level or (
                    node.module or "").startswith("segstudio")):
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and alias.name not in allowed:
                    bad.append(f"{name}:{node.lineno} imports {alias.name} from "
                               f"{node.module or '.'}")
    assert not bad, "\n".join(bad)
