"""One state, two transports: book over one, observe (list, status, cancel, availability) over the other."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpcroom_helpers import MERCHANT, SERVICE, Servers, next_start, rest_booking_body, slot, user

from booking_protocol import booking_pb2 as pb


def _grpc_create(stub: Any, start: int, user_id: str, token: str) -> pb.CreateBookingResponse:
    return stub.CreateBooking(
        pb.CreateBookingRequest(slot=slot(start), user_information=user(user_id), idempotency_token=token)
    )


def test_booked_over_rest_is_seen_and_cancelled_over_grpc(servers: Servers, stub: Any) -> None:
    start = next_start()
    status, body = servers.rest_post("CreateBooking", rest_booking_body(start, "u-rest-1", "tok-rest-1"))
    assert status == 200, body
    booking_id = body["booking"]["booking_id"]

    got = stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id=booking_id))
    assert (got.booking_id, got.booking_status) == (booking_id, pb.CONFIRMED)
    assert got.prepayment_status == pb.PREPAYMENT_NOT_PROVIDED

    listed = stub.ListBookings(pb.ListBookingsRequest(user_id="u-rest-1"))
    assert [b.booking_id for b in listed.bookings] == [booking_id]
    only = listed.bookings[0]
    assert (only.slot.merchant_id, only.slot.service_id, only.slot.start_sec) == (MERCHANT, SERVICE, start)
    assert only.user_information.email == "u-rest-1@example.com"
    assert only.payment_information.prepayment_status == pb.PREPAYMENT_NOT_PROVIDED

    cancelled = stub.UpdateBooking(
        pb.UpdateBookingRequest(booking=pb.Booking(booking_id=booking_id, status=pb.CANCELED))
    )
    assert not cancelled.HasField("booking_failure")
    assert cancelled.booking.status == pb.CANCELED

    status, body = servers.rest_post("GetBookingStatus", {"booking_id": booking_id})
    assert (status, body["booking_status"]) == (200, "CANCELED")


def test_booked_over_grpc_is_seen_and_cancelled_over_rest(servers: Servers, stub: Any) -> None:
    start = next_start()
    created = _grpc_create(stub, start, "u-grpc-1", "tok-grpc-1")
    assert created.booking.status == pb.CONFIRMED and not created.HasField("booking_failure")
    booking_id = created.booking.booking_id

    status, body = servers.rest_post("ListBookings", {"user_id": "u-grpc-1"})
    assert status == 200
    assert [b["booking_id"] for b in body["bookings"]] == [booking_id]
    assert int(body["bookings"][0]["slot"]["start_sec"]) == start

    status, body = servers.rest_post("GetBookingStatus", {"booking_id": booking_id})
    assert (status, body["booking_status"]) == (200, "CONFIRMED")

    status, body = servers.rest_post(
        "UpdateBooking", {"booking": {"booking_id": booking_id, "status": "CANCELED"}}
    )
    assert (status, body["booking"]["status"]) == (200, "CANCELED")

    again = stub.UpdateBooking(
        pb.UpdateBookingRequest(booking=pb.Booking(booking_id=booking_id, status=pb.CANCELED))
    )
    assert (
        again.booking_failure.cause == pb.BookingFailure.BOOKING_ALREADY_CANCELLED
    )  # D8, over the other wire
    assert not again.HasField("booking")


def test_capacity_is_shared(servers: Servers, stub: Any) -> None:
    """Capacity 2: one spot taken over REST, one over gRPC; both transports then see the slot full."""
    start = next_start()
    assert servers.rest_post("CreateBooking", rest_booking_body(start, "u-cap-1", "tok-cap-1"))[0] == 200
    assert _grpc_create(stub, start, "u-cap-2", "tok-cap-2").booking.booking_id

    full = _grpc_create(stub, start, "u-cap-3", "tok-cap-3")
    assert full.booking_failure.cause == pb.BookingFailure.SLOT_UNAVAILABLE and not full.HasField("booking")
    status, body = servers.rest_post("CreateBooking", rest_booking_body(start, "u-cap-4", "tok-cap-4"))
    assert (status, body["booking_failure"]["cause"]) == (200, "SLOT_UNAVAILABLE")

    bal = stub.BatchAvailabilityLookup(
        pb.BatchAvailabilityLookupRequest(
            merchant_id=MERCHANT,
            slot_time=[pb.SlotTime(service_id=SERVICE, start_sec=start, duration_sec=3600)],
        )
    )
    assert [a.available for a in bal.slot_time_availability] == [False]
    status, body = servers.rest_post(
        "BatchAvailabilityLookup",
        {"merchant_id": MERCHANT, "slot_time": [{"service_id": SERVICE, "start_sec": str(start)}]},
    )
    assert status == 200 and not body["slot_time_availability"][0].get("available", False)


def test_idempotency_token_is_shared(servers: Servers, stub: Any) -> None:
    """A token first used over REST and replayed over gRPC gives the same booking, and one spot only."""
    start = next_start()
    status, body = servers.rest_post("CreateBooking", rest_booking_body(start, "u-idem", "tok-idem"))
    assert status == 200
    replay = _grpc_create(stub, start, "u-idem", "tok-idem")
    assert replay.booking.booking_id == body["booking"]["booking_id"]
    count = stub.CheckAvailability(pb.CheckAvailabilityRequest(slot=slot(start)))
    assert count.count_available == 1  # capacity 2, used once
    assert count.slot == slot(start)  # echoed


def test_reschedule_over_grpc_moves_capacity_seen_over_rest(servers: Servers, stub: Any) -> None:
    start, later = next_start(), next_start()
    booking_id = _grpc_create(stub, start, "u-move", "tok-move").booking.booking_id
    moved = stub.UpdateBooking(
        pb.UpdateBookingRequest(
            booking=pb.Booking(booking_id=booking_id, slot=pb.Slot(start_sec=later, duration_sec=3600))
        )
    )
    assert moved.booking.slot.start_sec == later and moved.booking.slot.merchant_id == MERCHANT
    status, body = servers.rest_post(
        "CheckAvailability",
        {"slot": {"merchant_id": MERCHANT, "service_id": SERVICE, "start_sec": later, "duration_sec": 3600}},
    )
    assert (status, body.get("count_available")) == (200, 1)
    status, body = servers.rest_post(
        "CheckAvailability",
        {"slot": {"merchant_id": MERCHANT, "service_id": SERVICE, "start_sec": start, "duration_sec": 3600}},
    )
    assert (status, body.get("count_available")) == (200, 2)


def test_lease_over_grpc_is_consumed_by_a_rest_booking(servers: Servers, stub: Any) -> None:
    start = next_start()
    lease = stub.CreateLease(pb.CreateLeaseRequest(lease=pb.Lease(slot=slot(start), user_reference="ref-x")))
    assert lease.lease.lease_id and lease.lease.lease_expiration_time_sec > 0
    body = rest_booking_body(start, "u-lease", "tok-lease")
    body["lease_ref"] = {"lease_id": lease.lease.lease_id}
    status, created = servers.rest_post("CreateBooking", body)
    assert status == 200 and created["booking"]["booking_id"]
    # The lease held one spot and the booking consumed it: one spot of two is still open.
    assert stub.CheckAvailability(pb.CheckAvailabilityRequest(slot=slot(start))).count_available == 1


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_async_slot_is_pending_on_both(servers: Servers, stub: Any, transport: str) -> None:
    s = slot(2_000_000_000, service="s-async", duration=1800)
    token = f"tok-async-{transport}"
    if transport == "rest":
        body = rest_booking_body(0, f"u-async-{transport}", token)
        body["slot"] = {
            "merchant_id": s.merchant_id,
            "service_id": s.service_id,
            "start_sec": s.start_sec,
            "duration_sec": s.duration_sec,
        }
        booking_id = servers.rest_post("CreateBooking", body)[1]["booking"]["booking_id"]
    else:
        booking_id = stub.CreateBooking(
            pb.CreateBookingRequest(
                slot=s, user_information=user(f"u-async-{transport}"), idempotency_token=token
            )
        ).booking.booking_id
    got = stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id=booking_id))
    assert got.booking_status == pb.PENDING_MERCHANT_CONFIRMATION
    assert servers.rest_post("GetBookingStatus", {"booking_id": booking_id})[1]["booking_status"] == (
        "PENDING_MERCHANT_CONFIRMATION"
    )


def test_unknown_booking_is_not_found_on_both(servers: Servers, stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id="no-such-booking"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert servers.rest_post("GetBookingStatus", {"booking_id": "no-such-booking"})[0] == 404


def test_payment_information_is_echoed_across_transports(servers: Servers, stub: Any) -> None:
    """The opaque payment information keeps its shape whichever transport wrote it and which reads it."""
    start = next_start()
    body = rest_booking_body(start, "u-pay-rest", "tok-pay-rest")
    body["payment_information"] = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "tx-1",
        "price": {"price_micros": "1950000", "currency_code": "USD"},
        "payment_option_id": "opt-1",
        "payment_processed_by": "PROCESSED_BY_GOOGLE",
    }
    status, created = servers.rest_post("CreateBooking", body)
    assert status == 200, created
    over_grpc = (
        stub.ListBookings(pb.ListBookingsRequest(user_id="u-pay-rest")).bookings[0].payment_information
    )
    assert over_grpc.price.price_micros == 1950000 and over_grpc.price.currency_code == "USD"
    assert over_grpc.prepayment_status == pb.PREPAYMENT_PROVIDED and over_grpc.payment_option_id == "opt-1"
    assert over_grpc.payment_processed_by == pb.PaymentInformation.PROCESSED_BY_GOOGLE
    got = stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id=created["booking"]["booking_id"]))
    assert got.prepayment_status == pb.PREPAYMENT_PROVIDED

    payment = pb.PaymentInformation(
        prepayment_status=pb.PREPAYMENT_PROVIDED,
        user_payment_option_id="upo-9",
        price=pb.Price(price_micros=2500000, currency_code="EUR"),
    )
    made = stub.CreateBooking(
        pb.CreateBookingRequest(
            slot=slot(next_start()),
            user_information=user("u-pay-grpc"),
            idempotency_token="tok-pay-grpc",
            payment_information=payment,
        )
    )
    assert made.booking.payment_information == payment
    status, listed = servers.rest_post("ListBookings", {"user_id": "u-pay-grpc"})
    echoed = listed["bookings"][0]["payment_information"]
    assert echoed["user_payment_option_id"] == "upo-9" and int(echoed["price"]["price_micros"]) == 2500000
    assert echoed["prepayment_status"] == "PREPAYMENT_PROVIDED"
