"""HTTP Basic credentials over gRPC: the ``authorization`` metadata key (spec §11, D19).

Every method is behind the credentials when they are configured — the booking service, the health service
and reflection alike — mirroring REST, where D19 puts HealthCheck behind Basic auth too. A probe or a
reflection tool therefore sends the same ``authorization: Basic …`` metadata as any other client (grpcurl:
``-H 'authorization: Basic …'``; grpc_health_probe: ``-rpc-header``). Keeping one rule for every path means
an unauthenticated caller learns nothing, not even the list of services.

The check itself is :class:`mock_server.auth.BasicCredentials`, shared with REST.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from mock_server.auth import BasicCredentials

UNAUTHENTICATED_DETAILS = "missing or invalid Basic credentials in the 'authorization' metadata"


def _header(metadata: Any) -> str | bytes | None:
    for key, value in metadata or ():
        if key == "authorization":
            return value  # type: ignore[no-any-return]
    return None


async def _deny_unary(request: Any, context: Any) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_DETAILS)


async def _deny_stream(request_or_iterator: Any, context: Any) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_DETAILS)
    yield None  # pragma: no cover - makes this an async generator, as streaming handlers must be


def _denial_for(handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler:
    """A refusing handler of the same shape as the real one (so the call is read as the client sent it)."""
    if handler is None or not (handler.request_streaming or handler.response_streaming):
        return grpc.unary_unary_rpc_method_handler(_deny_unary)
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_deny_stream)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_deny_unary)
    return grpc.unary_stream_rpc_method_handler(_deny_stream)


class BasicAuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses (UNAUTHENTICATED) every call whose ``authorization`` metadata is not the configured pair."""

    def __init__(self, user: str, password: str) -> None:
        self._credentials = BasicCredentials(user, password)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if self._credentials.accepts(_header(handler_call_details.invocation_metadata)):
            return await continuation(handler_call_details)
        return _denial_for(await continuation(handler_call_details))
