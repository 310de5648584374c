"""The dependency rules of ARCHITECTURE.md, checked on the source with ``ast``.

A rule here is a fact about the code, not a wish: the domain knows nothing of transports, the harness
cannot reach into the reference server (so it can only judge it over the wire, as it judges a partner),
and report writers see result records only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


def _files(package: str, root: Path = ROOT) -> list[Path]:
    base = root / package
    return sorted(p for p in base.rglob("*.py") if "booking_pb2" not in p.name)


def _violations(package: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    out = []
    for path in _files(package, root):
        rel = path.relative_to(root).as_posix()
        for mod in sorted(_imports(path, root)):
            if any(mod == f or mod.startswith(f + ".") for f in forbidden):
                out.append(f"{rel} imports {mod}")
    return out


TRANSPORT_AND_ENCODING = (
    "aiohttp",
    "grpc",
    "google.protobuf",
    "booking_protocol",
    "json",
    "orjson",
    "http",
    "urllib",
    "socket",
    "ssl",
    "asyncio",
    "harness",
    "reports",
    "mock_server.rest",
    "mock_server.grpc",
    "mock_server.app",
    "mock_server.server",
    "mock_server.cli",
)


def test_packages_exist() -> None:
    for package in ("booking_protocol", "mock_server", "harness", "reports", "scenarios", "bookcheck"):
        assert (ROOT / package / "__init__.py").is_file(), package


#: the one module of ``booking_protocol`` the domain may use: the feeds' money terms and the price arithmetic,
#: shared with the harness and the generator so that all three compute the same price (D46)
PURE_PROTOCOL = "booking_protocol.commerce"


def _outside_pure_protocol(violations: list[str]) -> list[str]:
    return [v for v in violations if not v.split(" imports ", 1)[1].startswith(PURE_PROTOCOL)]


def test_domain_imports_no_transport_no_encoding() -> None:
    assert (ROOT / "mock_server" / "domain").is_dir()
    assert _outside_pure_protocol(_violations("mock_server/domain", TRANSPORT_AND_ENCODING)) == []


def test_the_pure_protocol_module_imports_the_standard_library_only() -> None:
    """Why the domain may import ``booking_protocol.commerce``: it brings no wire, format or package."""
    path = ROOT / "booking_protocol" / "commerce.py"
    imported = {m.split(".")[0] for m in _imports(path)} - {""}
    assert imported <= set(sys.stdlib_module_names) - {
        "json",
        "http",
        "urllib",
        "socket",
        "ssl",
        "asyncio",
    }, imported


def test_mock_server_never_imports_harness_or_reports() -> None:
    assert _violations("mock_server", ("harness", "reports", "bookcheck")) == []


def test_harness_never_imports_mock_server_or_reports() -> None:
    """The one exception: ``harness/explore`` runs the pure domain core (``mock_server.domain``) beside the
    target as its reference model; nothing else of the reference server, anywhere in the harness."""
    found = _violations("harness", ("mock_server", "reports", "bookcheck"))
    allowed = [
        v
        for v in found
        if v.startswith("harness/explore/")
        and v.split(" imports ", 1)[1].split(".")[:2] == ["mock_server", "domain"]
    ]
    assert [v for v in found if v not in allowed] == []


def test_only_explore_imports_the_domain_model() -> None:
    """The exception above is exactly harness.explore -> mock_server.domain (never an adapter or the app)."""
    explore_found = _violations("harness/explore", ("mock_server",))
    assert explore_found, "harness/explore should run mock_server.domain as its model"
    assert all(v.split(" imports ", 1)[1].split(".")[:2] == ["mock_server", "domain"] for v in explore_found)


def test_reports_see_only_result_records() -> None:
    forbidden = ("mock_server", "bookcheck", "booking_protocol", "aiohttp", "grpc", "scenarios")
    assert _violations("reports", forbidden) == []
    harness_uses = {
        mod
        for path in _files("reports")
        for mod in _imports(path)
        if mod == "harness" or mod.startswith("harness.")
    }
    assert all(m == "harness.results" or m.startswith("harness.results.") for m in harness_uses), harness_uses


def test_protocol_package_is_shared_not_dependent() -> None:
    assert _violations("booking_protocol", ("mock_server", "harness", "reports", "bookcheck")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from aiohttp import web\n",
        "import json\n",
        "from ..rest import codec\n",
    ],
)
def test_the_checker_itself_catches_violations(tmp_path: Path, source: str) -> None:
    """Guard against a rule that can never fire: a bad import planted in a copy of the domain is found."""
    domain = tmp_path / "mock_server" / "domain"
    domain.mkdir(parents=True)
    (domain / "clean.py").write_text("from dataclasses import dataclass\nfrom . import models\n")
    (domain / "planted.py").write_text(source, encoding="utf-8")
    found = _violations("mock_server/domain", TRANSPORT_AND_ENCODING, root=tmp_path)
    assert found and all(v.startswith("mock_server/domain/planted.py imports ") for v in found), found


#: Size limits of the house issue: the CLI only composes, and no harness module does two jobs.
SIZE_LIMITS = {"bookcheck": 250, "harness": 600}


def test_no_cli_file_over_250_lines_and_no_harness_module_over_600() -> None:
    too_big = [
        f"{path.relative_to(ROOT).as_posix()}: {n} lines (limit {limit})"
        for package, limit in SIZE_LIMITS.items()
        for path in _files(package)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > limit
    ]
    assert too_big == []
