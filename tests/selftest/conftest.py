"""Fixtures of the self-test room: the clean server runs, shared by the session (one per xdist worker)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # faultrun

from faultrun import payment_suite, run_harness, serve  # noqa: E402

from harness.results import RunResult  # noqa: E402


@pytest.fixture(scope="session")
def clean_runs() -> dict[str, RunResult]:
    """The default suite against the fault-free server: REST with BAL, REST with CheckAvailability, gRPC;
    and the payment suite on the payment feed with ``--allow-payments`` over REST and gRPC (issue 15)."""
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
    with serve(grpc=True, payments=True) as served:
        assert served.grpc_url is not None
        for transport, url in (("rest", served.rest_url), ("grpc", served.grpc_url)):
            out[f"{transport}-payments"] = run_harness(url, only=payment_suite(), payments=True)
    return out
