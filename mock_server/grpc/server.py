"""Start and stop the gRPC endpoint of the reference server (``bookcheck serve --grpc-port N``).

One grpc.aio server in the *same* event loop as the REST server, over the *same* :class:`BookingApp`, so a
booking made over one transport is visible over the other. It serves:

- ``ext.maps.booking.partner.v3.BookingService`` (spec §11, "gRPC form");
- ``grpc.health.v1.Health``: SERVING for that service and for ``""`` (NOT_SERVING while stopping);
- server reflection (``grpc.reflection.v1alpha.ServerReflection``), so grpcurl and other reflection-based
  tools discover and call everything without our ``.proto``.

With credentials configured, every one of them requires HTTP Basic in the ``authorization`` metadata
(:mod:`.auth`). With a certificate and key, the port speaks TLS with the same files as REST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from booking_protocol import booking_pb2
from mock_server.app import AppError, BookingApp, TransportLimits

from .auth import BasicAuthInterceptor
from .service import add_booking_service
from .status import grpc_status_for

BOOKING_SERVICE = booking_pb2.DESCRIPTOR.services_by_name["BookingService"].full_name
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


def server_options(limits: TransportLimits) -> tuple[tuple[str, Any], ...]:
    """Channel arguments: the limits of issue 16, the same numbers as REST (``docs/server.md``).

    Never share a fixed port with another process by accident (SO_REUSEPORT is on by default in gRPC).
    A message over ``max_body`` is refused by gRPC itself (RESOURCE_EXHAUSTED) before it is parsed; an
    idle connection is closed (GOAWAY) after ``idle_timeout_sec``; a connection whose handshake (TLS and
    HTTP/2 preface: gRPC's "headers") does not finish in ``header_timeout_sec`` is dropped; connections
    over ``max_connections`` are refused.
    """
    return (
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", limits.max_body),
        ("grpc.max_connection_idle_ms", int(limits.idle_timeout_sec * 1000)),
        ("grpc.server_handshake_timeout_ms", int(limits.header_timeout_sec * 1000)),
        ("grpc.max_allowed_incoming_connections", limits.max_connections),
        ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
    )


#: concurrent calls on one HTTP/2 connection
MAX_STREAMS_PER_CONNECTION = 100


@dataclass(frozen=True, slots=True)
class GrpcSettings:
    """What the gRPC endpoint needs from the server configuration."""

    host: str = "127.0.0.1"
    port: int = 0
    user: str | None = None
    password: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def auth_enabled(self) -> bool:
        return self.user is not None or self.password is not None


def settings_from(config: Any) -> GrpcSettings:
    """Read :class:`GrpcSettings` off ``mock_server.server.ServerConfig`` (``grpc_port`` must be set)."""
    port = getattr(config, "grpc_port", None)
    if port is None:
        raise ValueError("grpc_port is not set")
    cert, key = getattr(config, "tls_cert", None), getattr(config, "tls_key", None)
    return GrpcSettings(
        host=getattr(config, "host", "127.0.0.1"),
        port=int(port),
        user=getattr(config, "user", None),
        password=getattr(config, "password", None),
        tls_cert=Path(cert) if cert else None,
        tls_key=Path(key) if key else None,
    )


class GrpcServerHandle:
    """A running gRPC endpoint: its bound ``port``, its ``url``, and ``await stop()``."""

    def __init__(
        self,
        server: grpc.aio.Server,
        health: HealthServicer,
        host: str,
        port: int,
        tls: bool,
        servicer: Any = None,
    ) -> None:
        self.server, self.health, self.host, self.port, self.tls = server, health, host, port, tls
        self._servicer = servicer

    @property
    def url(self) -> str:
        """``grpc://H:P`` (``grpcs://H:P`` with TLS), as printed in the ready line."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'grpcs' if self.tls else 'grpc'}://{host}:{self.port}"

    async def stop(self, grace: float | None = 1.0) -> None:
        """Report NOT_SERVING to health watchers, then stop; calls in flight get ``grace`` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self._servicer is not None:
            self._servicer.close()


class AppHealthServicer(HealthServicer):  # type: ignore[misc]
    """The standard health service, asking the shared app first for the booking service (and for "").

    REST's HealthCheck runs ``app.call("HealthCheck")``, where fault profiles hook in (``health-fail`` →
    503, ``reject-valid-auth`` → 401). Asking the same app here makes such a profile break gRPC health the
    same way (UNAVAILABLE, UNAUTHENTICATED), so one switch covers both transports.
    """

    def __init__(self, app: BookingApp) -> None:
        super().__init__()
        self._app = app

    async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method name
        if request.service in ("", BOOKING_SERVICE):
            try:
                await self._app.call("HealthCheck", None)
            except AppError as exc:
                code, details = grpc_status_for(exc)
                await context.abort(code, details)
        return await super().Check(request, context)


def _server_credentials(cert: Path, key: Path) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])


def _bind_problem(tls: bool) -> str:
    if tls:
        return "the address is already in use or not available, or the certificate/key cannot be used"
    return "the address is already in use or not available"


async def start_grpc_server(
    app: BookingApp,
    config: Any,
    *,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    limits: TransportLimits | None = None,
) -> GrpcServerHandle:
    """Build, bind and start the endpoint. ``config`` is a :class:`GrpcSettings` or a ``ServerConfig``.

    ``interceptors`` go before the Basic-auth check: the fault profiles' ones (``mock_server.faults``,
    built from the fault plan by the caller), which may present the credentials a fault lets through.
    ``limits`` default to :class:`TransportLimits`' defaults.

    Must be awaited in the event loop that runs the REST server (one loop, one app, one state). Port 0
    binds a free port; the handle's ``port`` is the real one. Raises ``OSError`` (one line) if the port
    cannot be bound and ``ValueError`` for half a TLS configuration.
    """
    settings = config if isinstance(config, GrpcSettings) else settings_from(config)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ValueError("TLS needs both a certificate and a key")
    chain: list[grpc.aio.ServerInterceptor] = list(interceptors)
    if settings.auth_enabled:
        chain.append(BasicAuthInterceptor(settings.user or "", settings.password or ""))
    server = grpc.aio.server(interceptors=chain, options=server_options(limits or TransportLimits()))
    servicer = add_booking_service(server, app)
    health = AppHealthServicer(app)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await health.set(BOOKING_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((BOOKING_SERVICE, HEALTH_SERVICE, reflection.SERVICE_NAME), server)
    host = settings.host
    address = f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"
    tls = settings.tls_cert is not None and settings.tls_key is not None
    try:
        if tls:
            assert settings.tls_cert is not None and settings.tls_key is not None
            port = server.add_secure_port(address, _server_credentials(settings.tls_cert, settings.tls_key))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # grpcio reports a failed bind as RuntimeError with a multi-line hint
        raise OSError(_bind_problem(tls)) from None
    if port == 0:
        raise OSError(_bind_problem(tls))
    await server.start()
    return GrpcServerHandle(server, health, host, port, tls, servicer)
