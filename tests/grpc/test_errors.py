"""Transport errors over gRPC: auth, unknown methods, bad input, options, deadlines, cancellation, TLS."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpcroom_helpers import MERCHANT, SERVICE, Servers, basic, next_start, slot, user

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc
from mock_server.app import AppError, ErrorCode
from mock_server.domain import Inventory
from mock_server.grpc import GrpcSettings, start_grpc_server
from mock_server.server import ServerConfig, ServerStartError, build_app, start_server

BOOKING = "/ext.maps.booking.partner.v3.BookingService/"


def _code(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()


def _no_trace(details: str) -> None:
    assert "\n" not in details and "Traceback" not in details and 'File "' not in details, details


# ---------------------------------------------------------------------------------------------------------
# Authentication (D19: every method, health and reflection included)
# ---------------------------------------------------------------------------------------------------------

WRONG = [
    (),
    basic("partner", "wrong"),
    basic("other", "s3cret"),
    (("authorization", "Bearer " + base64.b64encode(b"partner:s3cret").decode()),),
    (("authorization", "Basic !!!not-base64!!!"),),
]


@pytest.mark.parametrize("metadata", WRONG, ids=["none", "password", "user", "scheme", "garbage"])
def test_booking_method_needs_credentials(servers: Servers, metadata: tuple[tuple[str, str], ...]) -> None:
    with servers.channel() as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        code, details = _code(
            lambda: stub.GetBookingStatus(
                pb.GetBookingStatusRequest(booking_id="x"), timeout=5, metadata=metadata
            )
        )
    assert code == grpc.StatusCode.UNAUTHENTICATED
    _no_trace(details)


def test_health_and_reflection_need_credentials_too(servers: Servers) -> None:
    with servers.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        code, _ = _code(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5))
        assert code == grpc.StatusCode.UNAUTHENTICATED
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        code, _ = _code(lambda: list(refl.ServerReflectionInfo(iter([request]), timeout=5)))
        assert code == grpc.StatusCode.UNAUTHENTICATED
        ok = list(refl.ServerReflectionInfo(iter([request]), timeout=5, metadata=servers.auth_metadata))
        assert ok[0].list_services_response.service


def test_no_credentials_configured_means_open(serve: Callable[..., Servers]) -> None:
    open_server = serve()
    with open_server.channel() as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


# ---------------------------------------------------------------------------------------------------------
# Unknown methods and bad input
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BOOKING + "CreateOrder", BOOKING + "createbooking", "/no.Such/Method"])
def test_unknown_method_is_unimplemented(servers: Servers, path: str) -> None:
    with servers.channel() as channel:
        code, details = _code(
            lambda: channel.unary_unary(path)(b"", timeout=5, metadata=servers.auth_metadata)
        )
    assert code == grpc.StatusCode.UNIMPLEMENTED
    _no_trace(details)


def _create(**fields: Any) -> pb.CreateBookingRequest:
    return pb.CreateBookingRequest(**fields)


BAD_REQUESTS = [
    ("CreateBooking", lambda s: _create(user_information=user("u-bad"), idempotency_token="t-bad"), "slot"),
    (
        "CreateBooking",
        lambda s: _create(
            slot=pb.Slot(service_id=SERVICE, start_sec=s, duration_sec=3600),
            user_information=user("u-bad"),
            idempotency_token="t-bad",
        ),
        "slot.merchant_id",
    ),
    (
        "CreateBooking",
        lambda s: _create(
            slot=pb.Slot(merchant_id=MERCHANT, service_id=SERVICE, duration_sec=3600),
            user_information=user("u-bad"),
            idempotency_token="t-bad",
        ),
        "slot.start_sec",
    ),
    (
        "CreateBooking",
        lambda s: _create(
            slot=pb.Slot(merchant_id=MERCHANT, service_id=SERVICE, start_sec=s),
            user_information=user("u-bad"),
            idempotency_token="t-bad",
        ),
        "slot.duration_sec",
    ),
    ("CreateBooking", lambda s: _create(slot=slot(s), idempotency_token="t-bad"), "user_information"),
    ("CreateBooking", lambda s: _create(slot=slot(s), user_information=user("u-bad")), "idempotency_token"),
    (
        "CreateBooking",
        lambda s: _create(
            slot=slot(s), user_information=pb.UserInformation(given_name="A"), idempotency_token="t-bad"
        ),
        "user_information.user_id",
    ),
    (
        "CreateBooking",
        lambda s: _create(
            slot=pb.Slot(merchant_id="nobody", service_id=SERVICE, start_sec=s, duration_sec=3600),
            user_information=user("u-bad"),
            idempotency_token="t-bad",
        ),
        "slot.merchant_id",
    ),
    (
        "UpdateBooking",
        lambda s: pb.UpdateBookingRequest(booking=pb.Booking(status=pb.CANCELED)),
        "booking.booking_id",
    ),
    (
        "UpdateBooking",
        lambda s: pb.UpdateBookingRequest(booking=pb.Booking(booking_id="b", status=42)),  # type: ignore[arg-type]
        "booking.status",
    ),
    ("GetBookingStatus", lambda s: pb.GetBookingStatusRequest(), "booking_id"),
    ("ListBookings", lambda s: pb.ListBookingsRequest(), "user_id"),
    ("CheckAvailability", lambda s: pb.CheckAvailabilityRequest(), "slot"),
    ("CreateLease", lambda s: pb.CreateLeaseRequest(lease=pb.Lease(slot=slot(s))), "lease.user_reference"),
    (
        "BatchAvailabilityLookup",
        lambda s: pb.BatchAvailabilityLookupRequest(
            merchant_id=MERCHANT, slot_time=[pb.SlotTime(start_sec=s)]
        ),
        "slot_time[0].service_id",
    ),
]


@pytest.mark.parametrize(
    ("method", "make", "field"), BAD_REQUESTS, ids=[f"{m}-{f}" for m, _, f in BAD_REQUESTS]
)
def test_missing_or_invalid_field_is_invalid_argument_naming_it(
    servers: Servers, stub: Any, method: str, make: Callable[[int], Any], field: str
) -> None:
    start = next_start()
    code, details = _code(lambda: getattr(stub, method)(make(start)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(field + ":") or f" {field}" in details, details
    _no_trace(details)
    # Nothing half-applied: the slot still has its full capacity and the user no booking.
    assert stub.CheckAvailability(pb.CheckAvailabilityRequest(slot=slot(start))).count_available == 2
    assert list(stub.ListBookings(pb.ListBookingsRequest(user_id="u-bad")).bookings) == []


def test_unknown_lease_is_not_found_and_books_nothing(servers: Servers, stub: Any) -> None:
    start = next_start()
    request = pb.CreateBookingRequest(
        slot=slot(start),
        user_information=user("u-bad"),
        idempotency_token="t-l",
        lease_ref=pb.LeaseReference(lease_id="no-such-lease"),
    )
    code, details = _code(lambda: stub.CreateBooking(request))
    assert code == grpc.StatusCode.NOT_FOUND and "no-such-lease" in details
    assert stub.CheckAvailability(pb.CheckAvailabilityRequest(slot=slot(start))).count_available == 2


def test_undecodable_request_is_invalid_argument(servers: Servers) -> None:
    with servers.channel() as channel:
        call = channel.unary_unary(BOOKING + "CreateBooking")
        code, details = _code(lambda: call(b"\xff\xff\xff\xff", timeout=5, metadata=servers.auth_metadata))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "the request is not a valid CreateBookingRequest message"


def test_unknown_booking_status_option_mirrors_rest(serve: Callable[..., Servers]) -> None:
    """--unknown-booking-status 400 (D5): REST answers 400, gRPC INVALID_ARGUMENT (default: 404/NOT_FOUND)."""
    option = serve(unknown_booking_status=400)
    with option.channel() as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        code, details = _code(
            lambda: stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id="nope"), timeout=5)
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        code, _ = _code(
            lambda: stub.UpdateBooking(
                pb.UpdateBookingRequest(booking=pb.Booking(booking_id="nope", status=pb.CANCELED)), timeout=5
            )
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert option.rest_post("GetBookingStatus", {"booking_id": "nope"})[0] == 400
    _no_trace(details)


def test_unknown_user_option_mirrors_rest(serve: Callable[..., Servers]) -> None:
    option = serve(unknown_user="404")
    with option.channel() as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        code, _ = _code(lambda: stub.ListBookings(pb.ListBookingsRequest(user_id="stranger"), timeout=5))
    assert code == grpc.StatusCode.NOT_FOUND
    assert option.rest_post("ListBookings", {"user_id": "stranger"})[0] == 404


# ---------------------------------------------------------------------------------------------------------
# Deadlines and cancellation: never half-applied
# ---------------------------------------------------------------------------------------------------------


class _Gate:
    """An app interceptor (as a fault profile would add) that holds CreateBooking until released.

    It records whether the held call was cancelled, so the test waits on an event rather than a sleep.
    """

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self, method: str, request: Any, call_next: Any) -> Any:
        if method != "CreateBooking":
            return await call_next(request)
        self.entered.set()
        try:
            await asyncio.sleep(30)  # far beyond any deadline used here; cancellation ends it
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return await call_next(request)  # pragma: no cover - never reached in these tests


def _gated(serve: Callable[..., Servers]) -> tuple[Servers, _Gate]:
    gate = _Gate()
    servers = serve()
    servers.rest.app.add_interceptor(gate)
    return servers, gate


def _request(start: int, user_id: str) -> pb.CreateBookingRequest:
    return pb.CreateBookingRequest(
        slot=slot(start), user_information=user(user_id), idempotency_token=user_id
    )


def _nothing_applied(servers: Servers, start: int, user_id: str) -> None:
    with servers.channel() as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        assert (
            stub.CheckAvailability(pb.CheckAvailabilityRequest(slot=slot(start)), timeout=5).count_available
            == 2
        )
        assert list(stub.ListBookings(pb.ListBookingsRequest(user_id=user_id), timeout=5).bookings) == []


def test_deadline_exceeded_call_is_not_applied(serve: Callable[..., Servers]) -> None:
    servers, gate = _gated(serve)
    start = next_start()
    with servers.channel() as channel:
        stub = booking_pb2_grpc.BookingServiceStub(channel)
        code, _ = _code(lambda: stub.CreateBooking(_request(start, "u-deadline"), timeout=0.3))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert gate.entered.is_set() and gate.cancelled.wait(10), "the server did not cancel the late call"
    _nothing_applied(servers, start, "u-deadline")


def test_client_cancelled_call_is_not_applied(serve: Callable[..., Servers]) -> None:
    servers, gate = _gated(serve)
    start = next_start()
    with servers.channel() as channel:
        future = booking_pb2_grpc.BookingServiceStub(channel).CreateBooking.future(
            _request(start, "u-cancel"), timeout=20
        )
        assert gate.entered.wait(10)
        assert future.cancel()
        assert gate.cancelled.wait(10), "the server did not cancel the abandoned call"
    _nothing_applied(servers, start, "u-cancel")


# ---------------------------------------------------------------------------------------------------------
# TLS with the same certificate flags as REST
# ---------------------------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def test_tls_uses_the_rest_certificate(serve: Callable[..., Servers], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    servers = serve(tls_cert=str(cert), tls_key=str(key), user="partner", password="s3cret")
    assert servers.rest.rest_url.startswith("https://") and servers.grpc.url.startswith("grpcs://")
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with grpc.secure_channel(servers.grpc_target, credentials) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="ext.maps.booking.partner.v3.BookingService"),
            timeout=5,
            metadata=basic("partner", "s3cret"),
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with servers.channel() as plain:  # a plaintext client cannot talk to the TLS port
        code, _ = _code(
            lambda: health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        )
    assert code == grpc.StatusCode.UNAVAILABLE


def test_half_a_tls_configuration_is_refused(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    app = build_app(ServerConfig(feed=None), Inventory())

    async def start() -> None:
        await start_grpc_server(app, GrpcSettings(port=0, tls_cert=cert))

    with pytest.raises(ValueError, match="TLS needs both"):
        asyncio.run(start())


def test_busy_grpc_port_is_a_one_line_start_error(servers: Servers, feed: Path) -> None:
    config = ServerConfig(port=0, feed=str(feed), grpc_port=servers.grpc.port)
    with pytest.raises(ServerStartError) as err:
        asyncio.run(start_server(config))
    assert f"cannot serve gRPC on 127.0.0.1:{servers.grpc.port}" in str(err.value)
    _no_trace(str(err.value))


def test_an_unhealthy_app_is_unhealthy_on_both_transports(serve: Callable[..., Servers]) -> None:
    """A fault on the app's HealthCheck (as ``--fault health-fail`` installs) shows on REST and gRPC alike."""
    servers = serve()

    async def unhealthy(method: str, request: Any, call_next: Any) -> Any:
        if method == "HealthCheck":
            raise AppError(ErrorCode.UNAVAILABLE, "unhealthy (test)")
        return await call_next(request)

    servers.rest.app.add_interceptor(unhealthy)
    with servers.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "ext.maps.booking.partner.v3.BookingService"):
            code, details = _code(
                lambda s=service: health.Check(health_pb2.HealthCheckRequest(service=s), timeout=5)
            )
            assert (code, details) == (grpc.StatusCode.UNAVAILABLE, "unhealthy (test)")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(servers.rest.rest_url + "/v3/HealthCheck", timeout=5)
    with err.value:
        assert err.value.code == 503
