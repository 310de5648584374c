"""Fixtures of the self-test room: the clean server runs, shared by the session (one per xdist worker)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # faultrun

from faultrun import run_harness, serve  # noqa: E402

from harness.results import RunResult  # noqa: E402


@pytest.fixture(scope="session")
def clean_runs() -> dict[str, RunResult]:
    """The default suite against the fault-free server: REST with BAL, REST with CheckAvailability, gRPC."""
    out: dict[str, RunResult] = {}
    with serve(grpc=True) as served:
        out["rest"] = run_harness(served.rest_url)
        out["rest-check"] = run_harness(
            served.rest_url,
            availability="check",
            only=("check-availability/open-and-full", "check-availability/available-is-bookable"),
        )
        assert served.grpc_url is not None
        out["grpc"] = run_harness(served.grpc_url)
    return out
