"""The fault package's own layering: no module imports one that imports it back, lazily or not.

Read statically (every ``import`` statement anywhere in a module, inside functions and ``TYPE_CHECKING``
blocks too), so a lazy import that only hides a cycle at run time is caught as well. The plan reaches its
REST middleware through :meth:`FaultPlan.use_rest_middleware`, which :mod:`mock_server.faults.rest` calls
when it is imported; ``base`` never imports ``rest``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mock_server.faults as faults_package
from mock_server.faults import FaultPlan, parse_faults

PACKAGE = "mock_server.faults"
ROOT = Path(faults_package.__file__).resolve().parent
MODULES = {p.stem: p for p in ROOT.glob("*.py")}


def _targets(node: ast.AST) -> list[str]:
    """The package modules one import statement reaches (``__init__`` for the package itself)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name == PACKAGE or a.name.startswith(PACKAGE + ".")]
        return [n[len(PACKAGE) + 1 :].split(".")[0] if n != PACKAGE else "__init__" for n in names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level == 0 and not (base == PACKAGE or base.startswith(PACKAGE + ".")):
        return []
    if node.level > 1:
        return ["__init__"]  # reaches above the package: treat as the package itself
    sub = base[len(PACKAGE) + 1 :] if node.level == 0 else base
    if sub:
        return [sub.split(".")[0]]
    return [a.name if a.name in MODULES else "__init__" for a in node.names]


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {t for node in ast.walk(tree) for t in _targets(node) if t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each as the path that closes it (depth-first search)."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt in graph:
                visit(nxt, path + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_no_module_of_the_fault_package_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert {"base", "rest", "violations", "chaos", "registry", "spec"} <= set(graph)
    assert "rest" not in graph["base"], "base must not import rest (rest registers its middleware builder)"
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_lazy_cycle() -> None:
    """The check above can fail: a lazy import back is a cycle too."""
    assert cycles({"base": {"rest"}, "rest": {"base"}}) == [
        ["base", "rest", "base"],
        ["rest", "base", "rest"],
    ]


def test_the_plan_builds_its_rest_middleware_through_the_registered_builder() -> None:
    plan = parse_faults(["health-fail", "content-type-text"])
    assert FaultPlan._rest_middleware_factory is not None
    assert callable(plan.rest_middleware())
