"""No import cycle in any first-party package (ARCHITECTURE.md), checked on the source with ``ast``.

The graph has one node per module of ``booking_protocol``, ``mock_server``, ``harness``, ``reports``,
``bookcheck``, ``loadtest`` and ``scenarios`` (those present) and one edge per import of another of them,
wherever the import statement is: at module level, inside a function (a lazy import does not hide a
cycle), or under ``if TYPE_CHECKING``. ``from pkg import name`` is an edge to the module ``pkg.name`` when
there is one, else to ``pkg``. Running a package's ``__init__`` before its submodules is not an edge of its
own: a cycle through a package's ``__init__`` shows up only where the code really imports the package.

The cycle search itself is :class:`graphlib.TopologicalSorter` from the standard library, which names one
cycle when it fails; each cycle found is reported, one of its edges set aside, and the search repeated, so
one failing run lists every independent cycle.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("booking_protocol", "mock_server", "harness", "reports", "bookcheck", "loadtest", "scenarios")
#: Bound on the number of cycles reported by one run (each is a failure anyway).
MAX_CYCLES = 50

Graph = dict[str, set[str]]


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(packages: Iterable[str], root: Path) -> dict[str, Path]:
    """Every module of the packages present under ``root``, by dotted name (generated protobuf code too)."""
    out: dict[str, Path] = {}
    for package in packages:
        base = root / package
        if (base / "__init__.py").is_file():
            out.update({_module_name(p, root): p for p in sorted(base.rglob("*.py"))})
    return out


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """The dotted names one import statement may load (relative imports resolved against ``package``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    return [f"{mod}.{alias.name}" for alias in node.names] + [mod]


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The first-party module that importing ``name`` loads: itself, or its longest known prefix."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(packages: Iterable[str] = PACKAGES, root: Path = ROOT) -> Graph:
    """Module -> the first-party modules it imports, anywhere in its source."""
    modules = _modules(packages, root)
    graph: Graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _imported(node, package)
                if isinstance(node, ast.ImportFrom):
                    # ``from pkg import name``: the submodule when there is one, else the package itself
                    names, mod = targets[:-1], targets[-1]
                    found = [n for n in names if n in modules]
                    targets = found if len(found) == len(names) else [*found, mod]
                edges.update(t for t in (_resolve(n, modules) for n in targets) if t and t != name)
        graph[name] = edges
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """Import cycles of ``graph``, each as ``[a, b, ..., a]``; empty when there is none."""
    remaining = {k: set(v) for k, v in graph.items()}
    cycles: list[list[str]] = []
    while len(cycles) < MAX_CYCLES:
        try:
            graphlib.TopologicalSorter(remaining).prepare()
        except graphlib.CycleError as exc:
            # graphlib gives the cycle backwards (each node is a predecessor of the next): reverse it so
            # that each module imports the next one
            cycle = list(reversed(exc.args[1]))
            cycles.append(cycle)
            remaining[cycle[0]].discard(cycle[1])
            continue
        return cycles
    return cycles


def describe_cycles(cycles: list[list[str]]) -> str:
    return "\n".join("import cycle: " + " -> ".join(c) for c in cycles)


def test_the_graph_covers_the_packages() -> None:
    """The check is not vacuous: every package is read, and known imports (lazy ones too) are edges."""
    graph = import_graph()
    for package in ("booking_protocol", "mock_server", "harness", "reports", "bookcheck"):
        assert package in graph, f"{package} was not read"
    assert len(graph) > 60
    assert "harness.selection" in graph["harness.runner"]
    assert "harness.checks.core" in graph["harness.checks.availability"]
    assert "harness.grpc_target" in graph["harness.targets"]  # imported inside make_target


def test_no_import_cycle_in_any_first_party_package() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, describe_cycles(cycles)


def _plant(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {
                "plant/__init__.py": "",
                "plant/a.py": "def later():\n    from plant import b\n    return b\n",
                "plant/b.py": "import plant.a\n",
            },
            id="lazy-import-in-a-function",
        ),
        pytest.param(
            {
                "plant/__init__.py": "",
                "plant/a.py": "from .b import thing\n",
                "plant/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from plant.a import x\n",
            },
            id="relative-and-type-checking",
        ),
    ],
)
def test_a_planted_cycle_is_found_and_named(tmp_path: Path, files: dict[str, str]) -> None:
    _plant(tmp_path, files)
    cycles = find_cycles(import_graph(["plant"], tmp_path))
    assert len(cycles) == 1
    assert set(cycles[0]) == {"plant.a", "plant.b"}
    assert cycles[0][0] == cycles[0][-1]
    message = describe_cycles(cycles)
    assert "plant.a" in message and "plant.b" in message


def test_a_package_without_cycle_passes(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "plant/__init__.py": "from plant import a, b\n",
            "plant/a.py": "from plant.b import thing\n",
            "plant/b.py": "import json\nthing = json\n",
        },
    )
    graph = import_graph(["plant"], tmp_path)
    assert graph["plant"] == {"plant.a", "plant.b"} and graph["plant.a"] == {"plant.b"}
    assert find_cycles(graph) == []
