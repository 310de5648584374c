"""The gRPC adapter of the reference server (spec §11, "gRPC form").

Modules: :mod:`.server` (start/stop, health, reflection, TLS), :mod:`.service` (the BookingService
servicer), :mod:`.codec` (protobuf ⇄ domain), :mod:`.auth` (Basic credentials in metadata) and
:mod:`.status` (the one error table). Like the REST adapter it only translates: the behaviour and the
state are the shared :class:`mock_server.app.BookingApp`'s.
"""

from .server import GrpcServerHandle, GrpcSettings, start_grpc_server

__all__ = ["GrpcServerHandle", "GrpcSettings", "start_grpc_server"]
