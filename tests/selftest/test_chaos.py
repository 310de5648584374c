"""Transport chaos and the ``--fault`` grammar: what a client developer relies on.

Timing is asserted only as a lower bound (a delay of at least the injected time); speed figures live in
bench/. Every server here is bounded: a hung request is released by its client going away or by the
server's shutdown, which must leave no task behind.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

import grpc
import pytest
from faultrun import PASSWORD, USER, feed_slots, serve

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc
from mock_server.faults import FaultSpecError, parse_faults

AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
GRPC_AUTH = (("authorization", AUTH),)


def post(url: str, method: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/v3/{method}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def _slot() -> Any:
    return next(
        s
        for s in feed_slots()
        if s.spots_open > 1 and s.confirmation_mode != "CONFIRMATION_MODE_ASYNCHRONOUS"
    )


def _booking_request(token: str) -> dict[str, Any]:
    s = _slot()
    slot: dict[str, Any] = {
        "merchant_id": s.merchant_id,
        "service_id": s.service_id,
        "start_sec": str(s.start_sec),
        "duration_sec": str(s.duration_sec),
    }
    resources = {
        k: v for k, v in (("staff_id", s.staff_id), ("room_id", s.room_id), ("party_size", s.party_size)) if v
    }
    if resources:
        slot["resources"] = resources
    return {
        "slot": slot,
        "idempotency_token": token,
        "user_information": {
            "user_id": f"u-{token}",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "telephone": "+1 415-555-0100",
            "email": "ada@example.com",
        },
    }


def _bal(merchant: str = "m") -> dict[str, Any]:
    return {"merchant_id": merchant, "slot_time": []}


# ---------------------------------------------------------------------------------------------------------
# the grammar
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "latency=fixed:200ms@BatchAvailabilityLookup",
        "latency=200ms",
        "latency=uniform:100ms..2s",
        "latency=lognormal:median=100ms,sigma=0.5",
        "latency=lognormal:median=1s,sigma=1,max=5s",
        "error-rate=0.1@CreateBooking",
        "error-rate=10%:500",
        "drop@CreateBooking",
        "drop=0.5",
        "hang@UpdateBooking",
        "overbook",
        "slow-bal=2s",
        "no-auth=missing",
        "bal-truncate=3",
        "unknown-booking-500@UpdateBooking,GetBookingStatus",
        "error-rate=0.1@createbooking",
    ],
)
def test_valid_fault_values_parse(text: str) -> None:
    plan = parse_faults([text])
    assert len(plan.faults) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nope", "unknown profile 'nope'; valid: "),
        ("latency", "give a delay"),
        ("latency=fast", "not a duration"),
        ("latency=uniform:2s..1s", "shorter than"),
        ("error-rate=2", "between 0 and 1"),
        ("error-rate=0.1:418", "status must be one of"),
        ("drop@NoSuchMethod", "unknown method 'NoSuchMethod'"),
        ("overbook=3", "takes no arguments"),
        ("latency=200ms@", "nothing after '@'"),
        ("", "empty"),
        ("no-auth=sometimes", "no-auth=missing"),
    ],
)
def test_bad_fault_values_are_one_line_errors(text: str, needle: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse_faults([text])
    message = str(info.value)
    assert needle in message and "\n" not in message
    if needle.startswith("unknown profile"):
        assert "overbook" in message and "latency" in message


# ---------------------------------------------------------------------------------------------------------
# behaviour on the wire
# ---------------------------------------------------------------------------------------------------------


def test_latency_delays_the_named_method() -> None:
    with serve(["latency=fixed:300ms@BatchAvailabilityLookup"]) as s:
        t0 = time.perf_counter()
        status, _ = post(s.rest_url, "BatchAvailabilityLookup", _bal())
        assert status == 200
        assert time.perf_counter() - t0 >= 0.3


def test_error_rate_one_fails_every_call_of_the_method_over_both_transports() -> None:
    with serve(["error-rate=1@CreateBooking"], grpc=True) as s:
        status, body = post(s.rest_url, "CreateBooking", _booking_request("t1"))
        assert status == 503 and body["error"]["status"] == "UNAVAILABLE"
        assert post(s.rest_url, "BatchAvailabilityLookup", _bal())[0] == 200
        assert s.grpc_url is not None
        with grpc.insecure_channel(s.grpc_url.removeprefix("grpc://")) as channel:
            stub = booking_pb2_grpc.BookingServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.CreateBooking(
                    pb.CreateBookingRequest(idempotency_token="t2"), metadata=GRPC_AUTH, timeout=10
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def _error_pattern(seed: int) -> list[int]:
    with serve(["error-rate=0.5@BatchAvailabilityLookup"], seed=seed) as s:
        return [post(s.rest_url, "BatchAvailabilityLookup", _bal())[0] for _ in range(24)]


def test_error_rate_is_reproducible_with_the_seed() -> None:
    first, again, other = _error_pattern(3), _error_pattern(3), _error_pattern(4)
    assert first == again
    assert set(first) == {200, 503}
    assert other != first


def test_drop_closes_the_connection_and_books_nothing() -> None:
    with serve(["drop@CreateBooking"], grpc=True) as s:
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            post(s.rest_url, "CreateBooking", _booking_request("dropped"))
        status, body = post(s.rest_url, "ListBookings", {"user_id": "u-dropped"})
        assert status == 200 and not body.get("bookings")
        assert s.grpc_url is not None
        with grpc.insecure_channel(s.grpc_url.removeprefix("grpc://")) as channel:
            stub = booking_pb2_grpc.BookingServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.CreateBooking(
                    pb.CreateBookingRequest(idempotency_token="t"), metadata=GRPC_AUTH, timeout=10
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_hang_holds_until_the_client_gives_up_and_shutdown_leaves_no_task() -> None:
    with serve(["hang@GetBookingStatus"], grpc=True) as s:
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            post(s.rest_url, "GetBookingStatus", {"booking_id": "b"}, timeout=0.5)
        assert s.grpc_url is not None
        with grpc.insecure_channel(s.grpc_url.removeprefix("grpc://")) as channel:
            stub = booking_pb2_grpc.BookingServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.GetBookingStatus(
                    pb.GetBookingStatusRequest(booking_id="b"), metadata=GRPC_AUTH, timeout=0.5
                )
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert post(s.rest_url, "ListBookings", {"user_id": "nobody"})[0] == 200
    assert s.leftover_tasks == []


def test_answer_rewrites_follow_the_servers_json_names() -> None:
    """REST answer-shape faults rewrite camelCase answers too (``serve --json-names camel``)."""
    from faultrun import fired, run_harness

    with serve(["bal-omit-unavailable"], json_names="camel", int64_json="number") as s:
        result = run_harness(s.rest_url, only=("bal/unknown-slot", "bal/shape-echo-order"))
    assert fired(result) == {
        "bal/one-entry-per-slot-time",
        "bal/echo-slot-time",
        "bal/unknown-slot-unavailable",
    }
