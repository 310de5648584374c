"""The transport-neutral application layer that both adapters (REST, gRPC) call.

:class:`BookingApp` wraps a :class:`~mock_server.domain.BookingService` with the server options that are not
domain behaviour (how an unknown booking or user is answered), turns domain input errors into
:class:`AppError` with a canonical status code, and runs every operation through one chain of
*interceptors*, so a later fault-profile layer (latency, error injection, deliberate violations) wraps
every method for both transports at one place.

Calling convention (the only thing an adapter needs)::

    result = await app.call(method, request)     # method: one of METHODS

Methods, their request and their result:

- ``HealthCheck``: ``None`` -> ``True`` (serving)
- ``BatchAvailabilityLookup``: ``Sequence[SlotQuery]`` (the request's merchant_id copied into each) ->
  ``list[bool]``, one per query, in order
- ``CheckAvailability``: ``SlotQuery | None`` -> ``int`` (count_available)
- ``CreateLease``: ``CreateLeaseCommand`` -> ``LeaseResult``
- ``CreateBooking``: ``CreateBookingCommand`` -> ``BookingResult``
- ``UpdateBooking``: ``UpdateBookingCommand`` -> ``BookingResult``
- ``GetBookingStatus``: ``str | None`` (booking_id) -> ``BookingView``
- ``ListBookings``: ``str | None`` (user_id) -> ``list[BookingView]``

Errors: :class:`AppError` with an :class:`ErrorCode` (canonical gRPC names; ``.http`` gives the HTTP
status of spec §4/§11). Business failures are *results* (``BookingResult.failure``), never errors.

Interceptors: ``async def interceptor(method, request, call_next) -> result``; ``call_next(request)`` runs
the rest of the chain. They may delay, raise :class:`AppError`, or replace the request or the result.
While none is installed (``app.intercepted`` is False) an adapter may call the synchronous
``app.call_direct(method, request)`` instead and save a coroutine per request (the REST adapter does).
Requests that an adapter cannot even decode never reach the chain. The one interceptor of the app itself
is the simulated payment processor's delay (``--payment-latency-ms``, D47), installed only when it is set.

Outside the chain: :meth:`BookingApp.ledger`, the simulated processor's ledger (D52), which the REST
adapter serves at ``GET /_bookcheck/ledger``.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from mock_server.domain import (
    BookingService,
    BookingView,
    CreateBookingCommand,
    DomainError,
    InvalidArgument,
    NotFound,
)

METHODS = (
    "HealthCheck",
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
)


class ErrorCode(enum.Enum):
    """Canonical status codes with their HTTP form (spec §4 and the gRPC mapping of §11)."""

    INVALID_ARGUMENT = 400
    UNAUTHENTICATED = 401
    PERMISSION_DENIED = 403
    NOT_FOUND = 404
    ABORTED = 409
    RESOURCE_EXHAUSTED = 429
    CANCELLED = 499
    INTERNAL = 500
    UNIMPLEMENTED = 501
    UNAVAILABLE = 503
    DEADLINE_EXCEEDED = 504

    @property
    def http(self) -> int:
        return int(self.value)


class AppError(Exception):
    """A request that gets an error status instead of a response. ``http`` may override the code's own
    HTTP status (e.g. 405 or 413 for transport problems that have no canonical code of their own)."""

    def __init__(self, code: ErrorCode, message: str, *, http: int | None = None) -> None:
        self.code, self.message = code, message
        self.http = http if http is not None else code.http
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class AppOptions:
    """Answers the spec leaves open that are not domain behaviour (§11 D5, D6), and the simulated payment
    processor's delay (D47)."""

    unknown_booking_status: Literal[404, 400] = 404
    unknown_user: Literal["empty", "404"] = "empty"
    #: D47: milliseconds a CreateBooking that carries a payment token or a payment option waits for the
    #: simulated processor (0 = none). A delay, not work: other requests keep being served meanwhile.
    payment_latency_ms: int = 0


def carries_payment(command: Any) -> bool:
    """Would a real partner call its payment processor for this CreateBooking? Yes when it carries a payment
    token (the unparsed Google Pay token or the deprecated one) or names a pack or membership to buy or
    use (D47: these get the 15 s budget)."""
    if not isinstance(command, CreateBookingCommand):
        return False
    processing = command.payment_processing or {}
    payment = command.payment or {}
    return bool(
        processing.get("unparsed_payment_method_token")
        or processing.get("payment_method_token")
        or payment.get("payment_option_id")
        or payment.get("user_payment_option_id")
    )


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """What one request or connection may cost, on both transports (issue 16; ``docs/server.md``).

    They sit here, next to :class:`AppOptions`, because both adapters enforce the same numbers: a limit
    that only one transport kept would leave the other as the way around it.
    """

    #: largest request body (REST: raw *and* decompressed) and largest gRPC message, in bytes
    max_body: int = 1024 * 1024
    #: seconds a connection may wait for a request to begin (before the first one and between two)
    idle_timeout_sec: float = 60.0
    #: seconds from a request's first byte to the end of its headers (gRPC: the connection handshake)
    header_timeout_sec: float = 10.0
    #: seconds to receive a request body once its headers are in
    body_timeout_sec: float = 30.0
    #: open connections per transport; more are refused (REST: 503 then close)
    max_connections: int = 256


Handler = Callable[[Any], Awaitable[Any]]
Interceptor = Callable[[str, Any, Handler], Awaitable[Any]]


class BookingApp:
    def __init__(self, service: BookingService, options: AppOptions | None = None) -> None:
        self.service = service
        self.options = options or AppOptions()
        self._ops: dict[str, Callable[[Any], Any]] = {
            "HealthCheck": lambda _req: True,
            "BatchAvailabilityLookup": service.batch_availability,
            "CheckAvailability": service.check_availability,
            "CreateLease": service.create_lease,
            "CreateBooking": service.create_booking,
            "UpdateBooking": service.update_booking,
            "GetBookingStatus": service.get_booking,
            "ListBookings": self._list_bookings,
        }
        self._interceptors: list[Interceptor] = []
        if self.options.payment_latency_ms > 0:
            self.add_interceptor(self._payment_latency)

    # -- the one entry point ------------------------------------------------------------------------------

    async def call(self, method: str, request: Any) -> Any:
        """Run ``method``; raises :class:`AppError` (UNIMPLEMENTED for a method not in METHODS)."""
        if not self._interceptors:
            return self.call_direct(method, request)
        return await self._chain(method, 0)(request)

    def call_direct(self, method: str, request: Any) -> Any:
        """The operation itself, without interceptors (synchronous; used at the end of the chain)."""
        op = self._ops.get(method)
        if op is None:
            raise AppError(ErrorCode.UNIMPLEMENTED, f"method {method} is not implemented by this server")
        try:
            return op(request)
        except NotFound as exc:
            raise self._not_found(exc) from None
        except InvalidArgument as exc:
            raise AppError(ErrorCode.INVALID_ARGUMENT, str(exc)) from None
        except DomainError as exc:  # pragma: no cover - every DomainError is one of the two above
            raise AppError(ErrorCode.INVALID_ARGUMENT, str(exc)) from None

    @property
    def intercepted(self) -> bool:
        """Whether any interceptor is installed (adapters may then skip the coroutine of :meth:`call`)."""
        return bool(self._interceptors)

    def add_interceptor(self, interceptor: Interceptor) -> None:
        """Add an interceptor; the first one added is the outermost."""
        self._interceptors.append(interceptor)

    def _chain(self, method: str, index: int) -> Handler:
        if index == len(self._interceptors):

            async def last(request: Any) -> Any:
                return self.call_direct(method, request)

            return last
        interceptor = self._interceptors[index]
        rest = self._chain(method, index + 1)

        async def step(request: Any) -> Any:
            return await interceptor(method, request, rest)

        return step

    # -- the simulated payment processor (D47, D52) --------------------------------------------------------

    async def _payment_latency(self, method: str, request: Any, call_next: Handler) -> Any:
        """D47: the processor's round trip, before the domain decides. Over gRPC a deadline that passes
        meanwhile cancels the call before it changes anything; over REST the call still completes (aiohttp
        does not cancel the handler of a closed connection) and a resend under its idempotency token gets
        that booking, charged once."""
        if method == "CreateBooking" and carries_payment(request):
            await asyncio.sleep(self.options.payment_latency_ms / 1000)
        return await call_next(request)

    def ledger(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        """The simulated processor's ledger entries (D52), of one merchant or all; outside the interceptor
        chain, as it is no API method (fault profiles never change it)."""
        return self.service.ledger(merchant_id)

    # -- option-dependent answers -------------------------------------------------------------------------

    def _not_found(self, exc: NotFound) -> AppError:
        if exc.what == "booking" and self.options.unknown_booking_status == 400:
            return AppError(ErrorCode.INVALID_ARGUMENT, str(exc))
        return AppError(ErrorCode.NOT_FOUND, str(exc))

    def _list_bookings(self, user_id: str | None) -> list[BookingView]:
        found = self.service.list_bookings(user_id)
        if not found and self.options.unknown_user == "404" and not self.service.knows_user(user_id or ""):
            raise NotFound("user", user_id or "")
        return found
