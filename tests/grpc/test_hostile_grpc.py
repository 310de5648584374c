"""Issue 16 over gRPC: the REST size limit, unknown enum numbers refused, past lease expiries refused, and
the fault plan's interceptors handed to the gRPC server explicitly (issue 9)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from hostile_helpers import NOW, fingerprint, first_records, pinned_clock, write_pinned_feed  # noqa: E402

from booking_protocol import booking_pb2 as pb  # noqa: E402
from booking_protocol import booking_pb2_grpc  # noqa: E402
from mock_server.server import RunningServer, ServerConfig, serve_in_thread  # noqa: E402

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("hostile-grpc") / "availability.json"
    return path, write_pinned_feed(path)


@pytest.fixture(scope="module")
def running(feed: tuple[Path, dict[str, Any]]) -> Iterator[RunningServer]:
    with serve_in_thread(
        ServerConfig(port=0, grpc_port=0, feed=str(feed[0]), clock=pinned_clock())
    ) as server:
        yield server


@pytest.fixture(scope="module")
def stub(running: RunningServer) -> Iterator[Any]:
    target = running.extra_urls[0].removeprefix("grpc://")
    options = [("grpc.max_send_message_length", 4 * MIB), ("grpc.max_receive_message_length", 8 * MIB)]
    with grpc.insecure_channel(target, options=options) as channel:
        yield booking_pb2_grpc.BookingServiceStub(channel)  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def record(feed: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return first_records(feed[1], 1)[0]


def _slot(record: dict[str, Any]) -> pb.Slot:
    slot = pb.Slot(
        merchant_id=record["merchant_id"],
        service_id=record["service_id"],
        start_sec=int(record["start_sec"]),
        duration_sec=int(record["duration_sec"]),
    )
    for key, value in (record.get("resources") or {}).items():
        if key in ("staff_id", "room_id", "party_size"):
            setattr(slot.resources, key, value)
    return slot


def _code(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=30)
    return info.value.code(), info.value.details() or ""


def _lookup(record: dict[str, Any], count: int) -> pb.BatchAvailabilityLookupRequest:
    request = pb.BatchAvailabilityLookupRequest(merchant_id=record["merchant_id"])
    for _ in range(count):
        request.slot_time.add(service_id=record["service_id"], start_sec=int(record["start_sec"]))
    return request


def test_message_over_one_mib_is_resource_exhausted(stub: Any, record: dict[str, Any]) -> None:
    request = _lookup(record, 1)
    per_entry = len(request.SerializeToString()) - len(
        pb.BatchAvailabilityLookupRequest(merchant_id=record["merchant_id"]).SerializeToString()
    )
    big = _lookup(record, MIB // per_entry + 10)
    assert big.ByteSize() > MIB
    code, details = _code(stub.BatchAvailabilityLookup, big)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details


def test_largest_lookup_is_answered_whole(stub: Any, record: dict[str, Any]) -> None:
    """Just under 1 MiB: served (in a worker thread), one echoed answer per SlotTime."""
    per_entry = len(_lookup(record, 2).SerializeToString()) - len(_lookup(record, 1).SerializeToString())
    request = _lookup(record, (MIB - 200) // per_entry)
    assert request.ByteSize() <= MIB
    reply = stub.BatchAvailabilityLookup(request, timeout=30)
    assert len(reply.slot_time_availability) == len(request.slot_time)
    assert all(a.available for a in reply.slot_time_availability)
    assert reply.slot_time_availability[-1].slot_time == request.slot_time[-1]


def test_unknown_enum_in_a_large_lookup_is_invalid_argument(stub: Any, record: dict[str, Any]) -> None:
    request = _lookup(record, 3000)
    request.slot_time[2999].confirmation_mode = 42  # type: ignore[assignment]
    code, details = _code(stub.BatchAvailabilityLookup, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("slot_time[2999].confirmation_mode:"), details


@pytest.mark.parametrize(
    ("field", "setter"),
    [
        (
            "payment_information.prepayment_status",
            lambda r: setattr(r.payment_information, "prepayment_status", 77),
        ),
        (
            "payment_information.deposit.deposit_type",
            lambda r: setattr(r.payment_information.deposit, "deposit_type", 9),
        ),
        ("slot.confirmation_mode", lambda r: setattr(r.slot, "confirmation_mode", 5)),
    ],
)
def test_unknown_enum_number_is_invalid_argument_and_stores_nothing(
    running: RunningServer, stub: Any, record: dict[str, Any], field: str, setter: Any
) -> None:
    before = fingerprint(running.app.service)
    request = pb.CreateBookingRequest(slot=_slot(record), idempotency_token="enum-" + field)
    request.user_information.user_id = "u-enum"
    setter(request)
    code, details = _code(stub.CreateBooking, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(field + ":"), details
    assert fingerprint(running.app.service) == before


def test_lease_expiring_in_the_past_is_invalid_argument(
    running: RunningServer, stub: Any, record: dict[str, Any]
) -> None:
    before = fingerprint(running.app.service)
    lease = pb.Lease(slot=_slot(record), user_reference="past", lease_expiration_time_sec=int(NOW) - 60)
    code, details = _code(stub.CreateLease, pb.CreateLeaseRequest(lease=lease))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("lease.lease_expiration_time_sec:"), details
    assert fingerprint(running.app.service) == before


class _Recorder(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts the calls it sees: proves an interceptor handed to start_grpc_server is in the chain."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        self.methods.append(details.method)
        return await continuation(details)


def test_interceptors_are_passed_explicitly(feed: tuple[Path, dict[str, Any]]) -> None:
    import asyncio

    from mock_server.grpc.server import GrpcSettings, start_grpc_server
    from mock_server.server import build_app

    recorder = _Recorder()

    async def scenario() -> list[str]:
        app = build_app(ServerConfig(feed=str(feed[0]), clock=pinned_clock()))
        handle = await start_grpc_server(app, GrpcSettings(port=0), interceptors=[recorder])
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
                stub = booking_pb2_grpc.BookingServiceStub(channel)  # type: ignore[no-untyped-call]
                await stub.ListBookings(pb.ListBookingsRequest(user_id="nobody"), timeout=10)
        finally:
            await handle.stop(0)
        return recorder.methods

    methods = asyncio.run(scenario())
    assert methods == ["/ext.maps.booking.partner.v3.BookingService/ListBookings"]


def test_fault_plan_reaches_grpc_without_a_registry(feed: tuple[Path, dict[str, Any]]) -> None:
    """``--fault no-auth`` with credentials: gRPC lets a call without credentials through, because the
    plan's interceptors were handed to the gRPC server (there is no module-level registry any more)."""
    from mock_server.faults import grpc_hooks

    assert not hasattr(grpc_hooks, "_PLANS") and not hasattr(grpc_hooks, "remember")
    config = ServerConfig(
        port=0,
        grpc_port=0,
        feed=str(feed[0]),
        clock=pinned_clock(),
        user="u",
        password="p",
        faults=("no-auth",),
    )
    with serve_in_thread(config) as server:
        target = server.extra_urls[0].removeprefix("grpc://")
        with grpc.insecure_channel(target) as channel:
            stub = booking_pb2_grpc.BookingServiceStub(channel)  # type: ignore[no-untyped-call]
            reply = stub.ListBookings(pb.ListBookingsRequest(user_id="nobody"), timeout=10)
    assert list(reply.bookings) == []


def test_connection_bound_and_idle_timeout(feed: tuple[Path, dict[str, Any]]) -> None:
    """``--max-connections 1``: a second connection is refused; ``--idle-timeout-sec``: an idle connection
    is closed by the server (the client's channel falls back from READY to IDLE)."""
    config = ServerConfig(
        port=0, grpc_port=0, feed=str(feed[0]), clock=pinned_clock(), max_connections=1, idle_timeout_sec=0.5
    )
    own_connection = [("grpc.use_local_subchannel_pool", 1)]
    with serve_in_thread(config) as server:
        target = server.extra_urls[0].removeprefix("grpc://")
        first = grpc.insecure_channel(target, options=own_connection)
        second = grpc.insecure_channel(target, options=own_connection)
        try:
            request = pb.ListBookingsRequest(user_id="nobody")
            booking_pb2_grpc.BookingServiceStub(first).ListBookings(request, timeout=10)  # type: ignore[no-untyped-call]
            code, _ = _code(booking_pb2_grpc.BookingServiceStub(second).ListBookings, request)  # type: ignore[no-untyped-call]
            assert code == grpc.StatusCode.UNAVAILABLE
            states: list[grpc.ChannelConnectivity] = []
            first.subscribe(states.append)
            for _ in range(100):  # at most 10 s
                if grpc.ChannelConnectivity.IDLE in states:
                    break
                time.sleep(0.1)
            assert grpc.ChannelConnectivity.READY in states and grpc.ChannelConnectivity.IDLE in states, (
                states
            )
        finally:
            first.close()
            second.close()
