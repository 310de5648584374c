"""Fault profiles of the reference server: ``bookcheck serve --fault NAME[=ARGS][@Method,...]``.

Two kinds (docs/faults.md lists every profile, its arguments and the rules that catch it):

- **chaos** (:mod:`.chaos`): latency, error rates, dropped connections, hangs — for developers of clients
  who want a partner that is slow or flaky in a controlled, reproducible way (``--seed``);
- **violations** (:mod:`.violations`, :mod:`.rest`): each breaks one behaviour the spec requires, so the
  self-test suite can prove that every rule of ``scenarios/rules.yaml`` fires (:mod:`.registry` holds the
  exact rules each one is expected to break).

Use from the server (the only coupling)::

    plan = build_plan(config)            # FaultSpecError (one line) on a bad --fault value
    attach(plan, app, web_app)           # interceptors into BookingApp, middleware into the aiohttp app
    start_grpc_server(app, config, interceptors=grpc_interceptors(plan))   # the gRPC side, explicitly
    ...                                  # at shutdown, first: await plan.close()
"""

from __future__ import annotations

from typing import Any

from . import chaos, payments, rest, violations  # noqa: F401  (registers the profiles)
from .base import PROFILES, Fault, FaultPlan, check_spec, parse_faults, usage_names
from .spec import FaultSpec, FaultSpecError, split_spec


def build_plan(config: Any) -> FaultPlan:
    """The plan of a ``ServerConfig`` (its ``faults``, ``seed`` and credentials)."""
    return parse_faults(
        tuple(getattr(config, "faults", ()) or ()),
        seed=int(getattr(config, "seed", 0) or 0),
        user=getattr(config, "user", None),
        password=getattr(config, "password", None),
    )


def grpc_interceptors(plan: FaultPlan | None) -> list[Any]:
    """gRPC server interceptors of the plan's faults, to go before the Basic-auth interceptor
    (``start_grpc_server(..., interceptors=grpc_interceptors(plan))``)."""
    from .grpc_hooks import grpc_interceptors as interceptors

    return interceptors(plan)


def attach(plan: FaultPlan, app: Any, web_app: Any = None) -> None:
    """Install the plan: interceptors into the BookingApp, and (when given) the middleware into aiohttp."""
    if not plan.faults:
        return
    plan.install(app)
    if web_app is not None:
        web_app.middlewares.append(plan.rest_middleware())


__all__ = [
    "PROFILES",
    "Fault",
    "FaultPlan",
    "FaultSpec",
    "FaultSpecError",
    "attach",
    "build_plan",
    "check_spec",
    "parse_faults",
    "split_spec",
    "usage_names",
]
