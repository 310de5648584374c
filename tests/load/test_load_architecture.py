"""The process boundary of ``bookcheck load``, checked on the source like tests/test_architecture.py.

Locust runs on gevent and monkey-patches the process it is imported in; the harness is asyncio. So only the
modules that run inside Locust's own processes may import gevent, locust or grpc's gevent support, and the
``bookcheck load`` process (orchestration, verdict, audit, reports) never does. Like the harness, loadtest
judges the reference server over the wire only: it never imports mock_server.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_architecture_rules", Path(__file__).resolve().parents[1] / "test_architecture.py"
)
assert _spec is not None and _spec.loader is not None
_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_rules)
_violations = _rules._violations  # one import checker for the whole project

GEVENT_SIDE = {"flows.py", "users.py", "master.py", "worker.py", "grpc_caller.py"}


def test_loadtest_never_imports_mock_server_reports_or_bookcheck() -> None:
    assert _violations("loadtest", ("mock_server", "reports", "bookcheck")) == []


def test_only_the_locust_processes_import_gevent_or_locust() -> None:
    found = _violations("loadtest", ("gevent", "locust", "grpc.experimental.gevent"))
    outside = [v for v in found if v.split(" imports ")[0].rsplit("/", 1)[-1] not in GEVENT_SIDE]
    assert outside == []
    assert found, "the Locust side imports locust: the check itself must be able to fire"


def test_the_bookcheck_process_never_imports_the_locust_side() -> None:
    sides = tuple(f"loadtest.{name.removesuffix('.py')}" for name in GEVENT_SIDE - {"flows.py"})
    for module in ("orchestrate.py", "audit.py", "verdict.py", "report.py"):
        hits = [v for v in _violations("loadtest", sides) if v.startswith(f"loadtest/{module} ")]
        assert hits == [], hits
