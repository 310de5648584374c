"""Fixtures of the gRPC room (the helpers they use live in ``grpcroom_helpers.py``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # grpcroom_helpers, reflection_client

from grpcroom_helpers import PASSWORD, USER, AuthStub, Servers, serve_both, write_feed  # noqa: E402

from booking_protocol import booking_pb2_grpc  # noqa: E402
from mock_server.server import ServerConfig  # noqa: E402


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feed(tmp_path_factory.mktemp("feed") / "availability.json")


@pytest.fixture(scope="module")
def servers(feed: Path) -> Iterator[Servers]:
    """The shared server of a test module: credentials on, default options."""
    yield from serve_both(ServerConfig(port=0, feed=str(feed), user=USER, password=PASSWORD))


@pytest.fixture
def serve(feed: Path) -> Iterator[Callable[..., Servers]]:
    """Start a dedicated server with other options: ``serve(unknown_booking_status=400)``."""
    stack: list[Iterator[Servers]] = []

    def start(**options: Any) -> Servers:
        gen = serve_both(ServerConfig(port=0, feed=str(feed), **options))
        stack.append(gen)
        return next(gen)

    yield start
    for gen in reversed(stack):
        for _ in gen:  # runs the generator's cleanup
            pass


@pytest.fixture
def stub(servers: Servers) -> Iterator[Any]:
    """A BookingService stub on the shared server that sends the credentials."""
    with servers.channel() as channel:
        yield AuthStub(booking_pb2_grpc.BookingServiceStub(channel), servers.auth_metadata)
