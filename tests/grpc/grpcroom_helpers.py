"""Helpers of the gRPC room's tests: a real reference server (REST and gRPC on one app), requests, clients.

The server runs on its own event loop in a background thread (``mock_server.server.serve_in_thread``),
exactly as ``bookcheck serve --grpc-port 0`` runs both endpoints in one loop: REST and, through
``mock_server.grpc.start_grpc_server``, gRPC over the *same* ``BookingApp``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc

from booking_protocol import booking_pb2 as pb
from mock_server.server import RunningServer, ServerConfig, serve_in_thread

USER, PASSWORD = "partner", "s3cret"
MERCHANT, SERVICE, ASYNC_SERVICE = "m-grpc", "s-grpc", "s-async"
FIRST_START = 2_000_000_000  # 2033: always in the future
SLOTS = 400
CAPACITY = 2

_slot_numbers = itertools.count()


def next_start() -> int:
    """A slot start no other test of this worker uses (so tests sharing a server do not interfere)."""
    n = next(_slot_numbers)
    assert n < SLOTS, "feed too small for the number of tests"
    return FIRST_START + n * 3600


def write_feed(path: Path) -> Path:
    availability = [
        {
            "merchant_id": MERCHANT,
            "service_id": SERVICE,
            "start_sec": FIRST_START + i * 3600,
            "duration_sec": 3600,
            "spots_total": CAPACITY,
            "spots_open": CAPACITY,
        }
        for i in range(SLOTS)
    ]
    availability.append(
        {
            "merchant_id": MERCHANT,
            "service_id": ASYNC_SERVICE,
            "start_sec": FIRST_START,
            "duration_sec": 1800,
            "spots_total": 50,
            "spots_open": 50,
            "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS",
        }
    )
    path.write_text(json.dumps({"service_availability": [{"availability": availability}]}), encoding="utf-8")
    return path


@dataclass(frozen=True)
class GrpcEndpoint:
    """The gRPC endpoint as the ready line names it (``grpc://H:P`` or ``grpcs://H:P``)."""

    url: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> GrpcEndpoint:
        m = re.fullmatch(r"grpcs?://(.+):(\d+)", url)
        assert m, url
        return cls(url, m.group(1), int(m.group(2)))


@dataclass
class Servers:
    """Both endpoints of one running reference server."""

    rest: RunningServer
    grpc: GrpcEndpoint
    config: ServerConfig

    @property
    def grpc_target(self) -> str:
        return f"{self.grpc.host}:{self.grpc.port}"

    @property
    def auth_metadata(self) -> tuple[tuple[str, str], ...]:
        if self.config.user is None:
            return ()
        return basic(self.config.user, self.config.password or "")

    # -- REST helpers ------------------------------------------------------------------------------------

    def rest_post(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.rest.rest_url}/v3/{method}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **self._rest_auth()},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"{}")

    def _rest_auth(self) -> dict[str, str]:
        return dict(self.auth_metadata and {"Authorization": self.auth_metadata[0][1]})

    # -- gRPC helpers ------------------------------------------------------------------------------------

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.grpc_target)


def basic(user: str, password: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()),)


def serve_both(config: ServerConfig) -> Iterator[Servers]:
    """Start the server as ``bookcheck serve --grpc-port 0`` does (one loop, one app), in a thread; yield it;
    stop it (bounded by timeouts)."""
    with_grpc = config if config.grpc_port is not None else replace(config, grpc_port=0)
    with serve_in_thread(with_grpc) as rest:
        yield Servers(rest, GrpcEndpoint.from_url(rest.extra_urls[0]), config)


class AuthStub:
    """Calls the generated stub's methods with the server's credentials and a deadline."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._stub, self._metadata = stub, metadata

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def call(request: Any, timeout: float = 10.0) -> Any:
            return method(request, timeout=timeout, metadata=self._metadata)

        return call


def user(user_id: str) -> pb.UserInformation:
    return pb.UserInformation(
        user_id=user_id,
        given_name="Ada",
        family_name="Lovelace",
        telephone="+1 415-736-0000",
        email=f"{user_id}@example.com",
    )


def slot(start: int, service: str = SERVICE, duration: int = 3600) -> pb.Slot:
    return pb.Slot(merchant_id=MERCHANT, service_id=service, start_sec=start, duration_sec=duration)


def rest_booking_body(start: int, user_id: str, token: str) -> dict[str, Any]:
    return {
        "slot": {
            "merchant_id": MERCHANT,
            "service_id": SERVICE,
            "start_sec": str(start),
            "duration_sec": "3600",
        },
        "user_information": {
            "user_id": user_id,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "telephone": "+1 415-736-0000",
            "email": f"{user_id}@example.com",
        },
        "idempotency_token": token,
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    }
