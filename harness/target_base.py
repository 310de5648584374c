"""What every target shares: the operations, the Reply that checks read, the Target protocol, and the options
and credentials a target is built from.

Both transports (:mod:`harness.targets` for REST, :mod:`harness.grpc_target` for gRPC) import this module,
and gRPC imports nothing of REST, so there is no import cycle between them; ``make_target`` picks one.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

from harness.evidence import WRONG_PASSWORD, WRONG_USER
from harness.results import Exchange

OPERATIONS = (
    "HealthCheck",
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
)
GRPC_SERVICE = "ext.maps.booking.partner.v3.BookingService"

#: gRPC status code -> the HTTP status of §4 / §11 "gRPC form".
GRPC_TO_HTTP = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()


WRONG_CREDENTIALS = Credentials(WRONG_USER, WRONG_PASSWORD)


@dataclass(frozen=True)
class Reply:
    """One answer as the checks see it."""

    exchange: Exchange
    status: int | None  # HTTP status (or the HTTP equivalent of the gRPC code); None: no response
    body: Any  # normalised body (dict) when it parsed as JSON, else the raw text / None
    raw: Any  # the body as received (decoded JSON, or text)
    is_json: bool
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        """The normalised body as a dict ({} when it is not a JSON object)."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def elapsed_ms(self) -> float:
        return self.exchange.elapsed_ms


class Target(Protocol):
    transport: str
    url: str

    async def call(
        self,
        operation: str,
        body: Any = None,
        *,
        auth: str = "default",
        raw: bytes | None = None,
        path: str | None = None,
        timeout: float | None = None,
    ) -> Reply: ...

    async def preflight(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TargetOptions:
    url: str
    credentials: Credentials | None = None
    timeout: float = 10.0
    ca_file: str | None = None
    insecure: bool = False
    trailing_slash: bool = False  # D2: send /v3/X/ instead of /v3/X
    max_connections: int = 64


def response_message(operation: str) -> str:
    return f"{operation}Response"


def auth_header(opts: TargetOptions, auth: str) -> str | None:
    if auth == "none":
        return None
    if auth == "wrong":
        return WRONG_CREDENTIALS.basic()
    return opts.credentials.basic() if opts.credentials else None
