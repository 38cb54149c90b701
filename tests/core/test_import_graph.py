"""The package import graph has no cycles, and the core imports no paper pipeline.

Each part of sdmspec (and of the paper's package, mamba_sdm) can be read, tested and moved on its own; the core reaches
a pipeline only through the ``sdmspec.pipelines`` entry point. Function-local imports count: they hide a cycle from the
interpreter, not from a reader or a refactoring.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("sdmspec", "mamba_sdm")


def _part(module: str) -> str:
    """``sdmspec.lint.rules.x`` -> ``sdmspec.lint``; a top-level module is a part of its own."""
    return ".".join(module.split(".")[:2])


def _imports() -> dict[str, dict[str, str]]:
    """part -> imported part -> one example ``module -> imported`` edge."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(path for package in PACKAGES for path in (SRC / package).rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    targets = [".".join([*base, node.module] if node.module else base)]
                else:
                    targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in PACKAGES and _part(target) != _part(module):
                    graph.setdefault(_part(module), {}).setdefault(_part(target), f"{module} -> {target}")
    return graph


def _cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


def test_the_parts_of_sdmspec_import_each_other_without_a_cycle() -> None:
    graph = _imports()
    cycles = _cycles(graph)
    edges = [graph[a][b] for cycle in cycles for a in cycle for b in cycle if b in graph.get(a, {})]
    assert cycles == [], edges


def test_the_graph_check_sees_a_cycle() -> None:
    assert _cycles({"a": {"b": "a -> b"}, "b": {"c": "b -> c"}, "c": {"a": "c -> a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": "a -> b"}}) == []


def test_the_core_imports_no_paper_pipeline() -> None:
    graph = _imports()
    core = {part: targets for part, targets in graph.items() if part.startswith("sdmspec")}
    reaching = [edge for targets in core.values() for target, edge in targets.items() if target.startswith("mamba_sdm")]
    assert reaching == []
