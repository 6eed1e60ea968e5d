"""The layers of docs/architecture.md, checked: no cycle, no climb, a pure core.

Every import of every module under app/ is read with ``ast`` — function-level imports
included, imports under ``if TYPE_CHECKING:`` left out (they never run) — and checked
against the layer table below, the one place the layers are written down.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

# Layers from the bottom (docs/architecture.md draws this table). A module belongs to the
# layer of the longest prefix below that names it; each may import only from its own layer
# or lower ones. The pure core may import nothing first-party outside the core.
PURE_CORE = 0
INFRASTRUCTURE = 1
SERVICES = 2
BLUEPRINTS = 3
WIRING = 4
LAYER_NAMES = {
    PURE_CORE: "pure core",
    INFRASTRUCTURE: "infrastructure",
    SERVICES: "services",
    BLUEPRINTS: "blueprints",
    WIRING: "wiring",
}
LAYERS: dict[str, int] = {
    "app.engine": PURE_CORE,
    "app.scanning": PURE_CORE,
    "app.errors": PURE_CORE,
    "app.config": INFRASTRUCTURE,
    "app.extensions": INFRASTRUCTURE,
    "app.clock": INFRASTRUCTURE,
    "app.slots": INFRASTRUCTURE,
    "app.process": INFRASTRUCTURE,
    "app.models": INFRASTRUCTURE,
    "app.registry": INFRASTRUCTURE,
    "app.documents": INFRASTRUCTURE,
    "app.media": INFRASTRUCTURE,
    "app.auth.access": INFRASTRUCTURE,
    "app.services": SERVICES,
    "app.counter": BLUEPRINTS,
    "app.resident": BLUEPRINTS,
    "app.policy": BLUEPRINTS,
    "app.admin": BLUEPRINTS,
    "app.preentry": BLUEPRINTS,
    "app.api": BLUEPRINTS,
    "app.auth": BLUEPRINTS,
    "app.crypto": INFRASTRUCTURE,
    "app.cardreader": BLUEPRINTS,
    "app.cardagent": INFRASTRUCTURE,  # the card reader adapter (PC/SC) and its message format
    "app.deploy": BLUEPRINTS,
    "app.web": WIRING,
    "app": WIRING,
}


@dataclass(frozen=True)
class Import:
    """One first-party import: who imports what, and where."""

    source: str
    target: str
    file: str
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.relative_to(APP).parts:
            continue  # Alembic's scripts are run by Alembic, never imported by the app
        found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """Return the app module ``name`` refers to (the longest existing prefix), or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(
    name: str, path: Path, modules: dict[str, Path], source: str | None = None
) -> list[Import]:
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    relative = str(path.relative_to(ROOT))

    def add(target: str | None, line: int) -> None:
        if target is not None and target != name:
            found.append(Import(name, target, relative, line))

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit_stmt(stmt)
                continue
            visit_stmt(child)

    def visit_stmt(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "app" or alias.name.startswith("app."):
                    add(_resolve(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if stem == "app" or stem.startswith("app."):
                for alias in node.names:
                    # `from app.x import y` names the submodule app.x.y when there is one.
                    add(_resolve(f"{stem}.{alias.name}", modules), node.lineno)
        visit(node)

    visit(tree)
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    while parts:
        prefix = ".".join(parts)
        if prefix in LAYERS:
            return LAYERS[prefix]
        parts.pop()
    raise AssertionError(f"{module}: no layer in tests/test_architecture.py LAYERS")


def folder_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def all_imports() -> list[Import]:
    modules = app_modules()
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in edges:
        graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                strongconnect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return found


def violations(edges: list[Import]) -> list[str]:
    """Return every broken rule, each naming the file, the line and the rule."""
    problems: list[str] = []
    for component in cycles(edges):
        members = set(component)
        for imp in edges:
            if imp.source in members and imp.target in members:
                problems.append(
                    f"{imp.where()}: (a) import cycle: {imp.source} imports {imp.target}, "
                    f"and the cycle is {' → '.join(component)}"
                )
    folder_edges: dict[tuple[str, str], Import] = {}
    for imp in edges:
        pair = (folder_of(imp.source), folder_of(imp.target))
        if pair[0] != pair[1]:
            folder_edges.setdefault(pair, imp)
    for (a, b), imp in sorted(folder_edges.items()):
        back = folder_edges.get((b, a))
        if back is not None and a < b:
            problems.append(
                f"{imp.where()}: (b) folders import each other: {a} imports {b} here, "
                f"and {b} imports {a} at {back.where()}"
            )
    for imp in edges:
        low, high = layer_of(imp.target), layer_of(imp.source)
        if low > high:
            problems.append(
                f"{imp.where()}: (c) climb: {imp.source} ({LAYER_NAMES[high]}) imports "
                f"{imp.target} ({LAYER_NAMES[low]}), a higher layer"
            )
        if high == PURE_CORE and low != PURE_CORE:
            problems.append(
                f"{imp.where()}: (d) the pure core imports {imp.target}: it may import only "
                f"the pure core"
            )
    return problems


def test_every_module_has_a_layer() -> None:
    for name in app_modules():
        layer_of(name)


def test_the_layers_hold() -> None:
    problems = violations(all_imports())
    assert not problems, "\n".join(["the layers of docs/architecture.md are broken:", *problems])


def test_the_checker_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.web import register_web\n"
        "def later():\n"
        "    from app.services import cases\n"
    )
    path = APP / "engine" / "_architecture_probe.py"
    modules = {**app_modules(), "app.engine._architecture_probe": path}
    tree_imports = imports_of("app.engine._architecture_probe", path, modules, source)
    targets = {imp.target for imp in tree_imports}
    assert "app.services.cases" in targets
    assert "app.web" not in targets
    problems = violations(tree_imports)
    assert any("(c) climb" in p for p in problems)
    assert any("(d) the pure core imports app.services.cases" in p for p in problems)


@pytest.mark.parametrize(
    ("edges", "rule"),
    [
        ([("app.a.x", "app.a.y"), ("app.a.y", "app.a.x")], "(a) import cycle"),
        ([("app.services.x", "app.models.y"), ("app.models.z", "app.services.w")], "(b)"),
    ],
)
def test_the_checker_finds_cycles_and_folders_importing_each_other(
    edges: list[tuple[str, str]], rule: str
) -> None:
    fake = [Import(a, b, f"{a}.py", 1) for a, b in edges]
    if rule.startswith("(a)"):
        assert any(rule in p for p in violations_without_layers(fake))
    else:
        assert any(rule in p for p in violations(fake))


def violations_without_layers(edges: list[Import]) -> list[str]:
    return [f"(a) import cycle {c}" for c in cycles(edges)]
