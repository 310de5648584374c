"""The gRPC side of the faults that live in front of the shared application.

- Credentials (``no-auth``, ``health-unprotected``): gRPC checks them in a server interceptor
  (``mock_server.grpc.auth.BasicAuthInterceptor``), so the application-layer chain never sees them. The
  interceptor here goes *before* that one and presents the configured credentials on the calls a fault lets
  through, exactly as the REST middleware does for HTTP.
- Answer shapes (``bal-omit-unavailable``, ``bal-no-echo``, ``check-no-echo``, ``failure-with-booking`` …):
  the same ``rewrite_json`` as over REST, applied to the response message (message → proto-JSON dict →
  rewrite → message).

:func:`grpc_interceptors` builds them from a plan; the server hands them to ``start_grpc_server``
explicitly (no registry: the plan is a collaborator passed as an argument).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from .base import FaultPlan

HEALTH_PREFIX = "/grpc.health.v1.Health/"


def grpc_interceptors(plan: FaultPlan | None) -> list[grpc.aio.ServerInterceptor]:
    """Interceptors for the plan's credential and answer-shape faults (an empty list when it has none)."""
    if plan is None:
        return []
    out: list[grpc.aio.ServerInterceptor] = []
    fixes = [f for f in plan.faults if f.name in ("no-auth", "health-unprotected")]
    if fixes:
        out.append(CredentialFaults(plan, fixes))
    rewrites = [f for f in plan.faults if hasattr(f, "rewrite_json")]
    if rewrites:
        out.append(AnswerRewrites(rewrites))
    return out


class AnswerRewrites(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps unary handlers of the booking service so the faults' ``rewrite_json`` reshapes the answer."""

    def __init__(self, faults: list[Any]) -> None:
        self._faults = faults

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = str(handler_call_details.method).rsplit("/", 1)[-1]
        faults = [f for f in self._faults if f.applies(method)]
        if handler is None or not faults or handler.request_streaming or handler.response_streaming:
            return handler
        inner = handler.unary_unary

        async def behaviour(request: Any, context: Any) -> Any:
            answer = await inner(request, context)
            if not isinstance(answer, Message) or not isinstance(request, Message):
                return answer
            asked = json_format.MessageToDict(request, preserving_proto_field_name=True)
            data = json_format.MessageToDict(answer, preserving_proto_field_name=True)
            for fault in reversed(faults):
                data = fault.rewrite_json(method, asked, data)
            return json_format.ParseDict(data, type(answer)())

        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class CredentialFaults(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Replaces missing or wrong ``authorization`` metadata with the configured one where a fault says so."""

    def __init__(self, plan: FaultPlan, faults: list[Any]) -> None:
        self._faults = faults
        raw = f"{plan.user or ''}:{plan.password or ''}".encode()
        self._good = "Basic " + base64.b64encode(raw).decode("ascii")
        self._enabled = plan.user is not None or plan.password is not None

    def _lets_through(self, method: str, header: str | None) -> bool:
        for fault in self._faults:
            if fault.name == "health-unprotected":
                if method.startswith(HEALTH_PREFIX):
                    return True
            elif fault.wants_fix(header):
                return True
        return False

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        metadata = tuple(handler_call_details.invocation_metadata or ())
        header = next((v for k, v in metadata if k == "authorization"), None)
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        if self._enabled and header != self._good and self._lets_through(handler_call_details.method, header):
            fixed = tuple((k, v) for k, v in metadata if k != "authorization") + (
                ("authorization", self._good),
            )
            handler_call_details = type(handler_call_details)(handler_call_details.method, fixed)
        return await continuation(handler_call_details)
