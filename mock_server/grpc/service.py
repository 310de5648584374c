"""The BookingService servicer: decode, ``await app.call``, encode — nothing else.

Each method is three lines on purpose: the behaviour lives in the domain (through the shared
:class:`~mock_server.app.BookingApp`, the same object the REST adapter calls, hence one state), the wire
form lives in :mod:`.codec`, and the error table lives in :mod:`.status`.

**Deadlines and cancellation.** Before a call reaches the app, the remaining deadline is checked; an
already-expired call is answered DEADLINE_EXCEEDED without touching state. After that, the only awaits are
inside the app's interceptor chain (fault profiles: injected latency); grpc.aio cancels the handler task
when the deadline passes or the client cancels, which raises ``CancelledError`` at such an await — *before*
the domain runs. The domain operation itself is synchronous and runs under the domain's lock with no await
in it, so an asyncio cancellation can never interrupt it halfway: a call is either wholly applied or not at
all. (A call applied just before its deadline may still reach the client as DEADLINE_EXCEEDED; §4 allows
that for 504, and idempotency tokens make the retry safe.)

**Errors.** :class:`~mock_server.app.AppError` becomes its canonical code via :mod:`.status`; an
``InvalidArgument`` raised while decoding (e.g. an unknown enum number) becomes INVALID_ARGUMENT naming the
field; anything unexpected becomes INTERNAL with a fixed one-line message (the traceback goes to the log,
never to the client).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias, TypeVar

import grpc
from google.protobuf.message import DecodeError

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc
from mock_server.app import AppError, BookingApp
from mock_server.domain import BookingResult, DomainError, LeaseResult

from . import codec
from .status import grpc_status_for, one_line

log = logging.getLogger(__name__)

#: a BatchAvailabilityLookup with more SlotTimes than this runs in a worker thread (about 64 KiB of request)
OFFLOAD_SLOT_TIMES = 2000

#: grpc.aio.ServicerContext (grpcio ships no type information, so it is Any to mypy either way).
Context: TypeAlias = Any


class BookingServicer(booking_pb2_grpc.BookingServiceServicer):
    """Serves ``ext.maps.booking.partner.v3.BookingService`` from a shared :class:`BookingApp`."""

    def __init__(self, app: BookingApp) -> None:
        self._app = app
        self._workers: ThreadPoolExecutor | None = None

    async def _check_deadline(self, context: Context) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded before the call started"
            )

    async def _call(self, method: str, request: Any, context: Context) -> Any:
        await self._check_deadline(context)
        try:
            return await self._app.call(method, request)
        except AppError as exc:
            code, details = grpc_status_for(exc)
            await context.abort(code, details)

    async def BatchAvailabilityLookup(
        self, request: pb.BatchAvailabilityLookupRequest, context: Context
    ) -> pb.BatchAvailabilityLookupResponse:
        if len(request.slot_time) > OFFLOAD_SLOT_TIMES and not self._app.intercepted:
            # tens of milliseconds of pure Python: off the event loop, so HealthCheck and REST keep flowing
            await self._check_deadline(context)
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._executor(), self._bal_direct, request)
            except AppError as exc:
                code, details = grpc_status_for(exc)
                await context.abort(code, details)
        queries = _bal_queries(request)
        answers = await self._call("BatchAvailabilityLookup", queries, context)
        return _bal_response(request, answers)

    def _bal_direct(self, request: pb.BatchAvailabilityLookupRequest) -> pb.BatchAvailabilityLookupResponse:
        """The whole of a large BatchAvailabilityLookup, without interceptors (runs in a worker thread)."""
        return _bal_response(request, self._app.call_direct("BatchAvailabilityLookup", _bal_queries(request)))

    def _executor(self) -> ThreadPoolExecutor:
        if self._workers is None:
            self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bookcheck-grpc")
        return self._workers

    def close(self) -> None:
        """Let the worker threads go (the server is stopping)."""
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)

    async def CheckAvailability(
        self, request: pb.CheckAvailabilityRequest, context: Context
    ) -> pb.CheckAvailabilityResponse:
        query = codec.slot_query(request.slot) if request.HasField("slot") else None
        count = await self._call("CheckAvailability", query, context)
        out = pb.CheckAvailabilityResponse(count_available=count)
        out.slot.CopyFrom(request.slot)
        return out

    async def CreateLease(self, request: pb.CreateLeaseRequest, context: Context) -> pb.CreateLeaseResponse:
        result: LeaseResult = await self._call("CreateLease", codec.create_lease_command(request), context)
        out = pb.CreateLeaseResponse()
        if result.failure is not None:
            codec.fill_failure(out.booking_failure, result.failure)
        elif result.lease is not None:
            codec.fill_lease(out.lease, result.lease)
        return out

    async def CreateBooking(
        self, request: pb.CreateBookingRequest, context: Context
    ) -> pb.CreateBookingResponse:
        result: BookingResult = await self._call(
            "CreateBooking", codec.create_booking_command(request), context
        )
        return _booking_response(pb.CreateBookingResponse(), result)

    async def UpdateBooking(
        self, request: pb.UpdateBookingRequest, context: Context
    ) -> pb.UpdateBookingResponse:
        result: BookingResult = await self._call(
            "UpdateBooking", codec.update_booking_command(request), context
        )
        return _booking_response(pb.UpdateBookingResponse(), result)

    async def GetBookingStatus(
        self, request: pb.GetBookingStatusRequest, context: Context
    ) -> pb.GetBookingStatusResponse:
        view = await self._call("GetBookingStatus", request.booking_id or None, context)
        return pb.GetBookingStatusResponse(
            booking_id=view.booking_id,
            booking_status=int(view.status),  # type: ignore[arg-type]
            prepayment_status=codec.prepayment_status_number(view.prepayment_status),  # type: ignore[arg-type]
        )

    async def ListBookings(
        self, request: pb.ListBookingsRequest, context: Context
    ) -> pb.ListBookingsResponse:
        views = await self._call("ListBookings", request.user_id or None, context)
        out = pb.ListBookingsResponse()
        for view in views:
            codec.fill_booking(out.bookings.add(), view)
        return out


def _bal_queries(request: pb.BatchAvailabilityLookupRequest) -> list[Any]:
    merchant = request.merchant_id
    return [codec.slot_time_query(merchant, st, f"slot_time[{i}]") for i, st in enumerate(request.slot_time)]


def _bal_response(
    request: pb.BatchAvailabilityLookupRequest, answers: list[bool]
) -> pb.BatchAvailabilityLookupResponse:
    out = pb.BatchAvailabilityLookupResponse()
    for st, available in zip(request.slot_time, answers, strict=True):
        entry = out.slot_time_availability.add()
        entry.slot_time.CopyFrom(st)  # D3: echo the SlotTime exactly as asked
        entry.available = available
    return out


_Response = TypeVar("_Response", pb.CreateBookingResponse, pb.UpdateBookingResponse)


def _booking_response(out: _Response, result: BookingResult) -> _Response:
    """D17: a failure alone, or the booking (with the user payment option it changed, if any)."""
    if result.failure is not None:
        codec.fill_failure(out.booking_failure, result.failure)
    elif result.booking is not None:
        codec.fill_booking(out.booking, result.booking)
        if result.user_payment_option:  # D42, D43, D45: the pack or membership the call changed
            codec.fill_from_mapping(out.user_payment_option, result.user_payment_option)
    return out


class UndecodableRequest:
    """Stands in for a request whose bytes are not a valid message (see :func:`_parser`)."""

    __slots__ = ("message_name",)

    def __init__(self, message_name: str) -> None:
        self.message_name = message_name


def _parser(message_class: Any) -> Any:
    """A request deserializer that never raises.

    grpcio answers a deserializer exception with UNKNOWN and the exception text; a request that is not a
    valid message is the client's fault (INVALID_ARGUMENT), so the failure is handed to :func:`guarded`.
    """
    from_string = message_class.FromString
    name = message_class.DESCRIPTOR.name

    def parse(data: bytes) -> Any:
        try:
            return from_string(data)
        except DecodeError:
            return UndecodableRequest(name)

    return parse


def guarded(behaviour: Any) -> Any:
    """Wrap a unary-unary servicer coroutine with the error boundary.

    Wrapping each behaviour once, at registration, keeps the servicer methods free of try/except and
    guarantees that no method can leak a traceback into the status details.
    """

    async def run(request: Any, context: Context) -> Any:
        if type(request) is UndecodableRequest:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"the request is not a valid {request.message_name} message"
            )
        try:
            if type(request) is not pb.BatchAvailabilityLookupRequest:  # BAL checks its one enum as it reads
                codec.check_enums(request)
            return await behaviour(request, context)
        except DomainError as exc:  # raised while decoding, e.g. an unknown enum number
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, one_line(str(exc)))
        except grpc.aio.AbortError:
            raise
        except Exception:  # noqa: BLE001 - the boundary: log it, answer one line
            log.exception("gRPC %s failed", getattr(behaviour, "__name__", "method"))
            await context.abort(grpc.StatusCode.INTERNAL, "internal error (see the server log)")

    run.__name__ = getattr(behaviour, "__name__", "run")
    return run


SERVICE_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["BookingService"]


def add_booking_service(server: grpc.aio.Server, app: BookingApp) -> BookingServicer:
    """Register BookingService on ``server``: every method behind :func:`guarded`, with :func:`_parser`.

    The same registration as the generated ``add_BookingServiceServicer_to_server`` (generic handler plus
    registered-method fast path), except for the never-raising deserializer and the error boundary.
    """
    servicer = BookingServicer(app)
    handlers = {}
    for method in SERVICE_DESCRIPTOR.methods:
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            guarded(getattr(servicer, method.name)),
            request_deserializer=_parser(request_class),
            response_serializer=response_class.SerializeToString,
        )
    name = SERVICE_DESCRIPTOR.full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)
    return servicer
