"""The import graph of the product: no cycles, and every import goes down the layers.

Layers, lowest first: the top-level ``cudarwin`` modules (types, runtime,
registry, backends, config, cli), ``tasks``, ``verifier``, ``runner``,
``results``, ``agent``. Imports inside functions and under TYPE_CHECKING
count too: a cycle hidden in a function is still a cycle. Registries name
implementations as ``module:attr`` strings, which are not imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("cudarwin", "cudarwin.tasks", "cudarwin.verifier", "cudarwin.runner", "cudarwin.results", "cudarwin.agent")
FOLDERS = {"cudarwin": "cudarwin", "cudarwin.tasks": "tasks", "cudarwin.verifier": "verifier",
           "cudarwin.runner": "runner", "cudarwin.results": "results", "cudarwin.agent": "agent"}


def _modules() -> dict[str, Path]:
    mods = {}
    for package, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder)
            if rel.parts[0] in ("suite", "conf"):  # task files and config data, not product modules
                continue
            parts = [p for p in rel.with_suffix("").parts if p != "__init__"]
            mods[".".join([package, *parts])] = path
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the product modules it imports (a submodule itself where one is named)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = _resolve(name, mods)
                if target and target != module:
                    graph[module].add(target)
    return graph


def _layer(module: str) -> int:
    return max(i for i, top in enumerate(LAYERS) if module == top or module.startswith(top + "."))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_imports_it_must():
    graph = import_graph()
    assert "cudarwin.runner.evaluator" in graph["cudarwin.runner"]  # from package import name
    assert "cudarwin.results.leaderboard" in graph["cudarwin.results.report_data"]  # a relative import
    assert "cudarwin.runner.compile" in graph["cudarwin.runner.checks"]
    assert len(graph) > 100


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_a_cycle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_go_down_the_layers_only():
    upward = sorted(f"{a} -> {b}" for a, targets in import_graph().items() for b in targets if _layer(b) > _layer(a))
    assert upward == []
