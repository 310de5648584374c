"""The gRPC codec on its own: proto3 presence rules and the opaque payment mapping."""

from __future__ import annotations

import pytest

from booking_protocol import booking_pb2 as pb
from mock_server.domain import BookingStatus, InvalidArgument
from mock_server.grpc import codec


def test_empty_and_zero_scalars_count_as_not_given() -> None:
    q = codec.slot_query(pb.Slot(merchant_id="m", service_id="", start_sec=0, duration_sec=0))
    assert (q.merchant_id, q.service_id, q.start_sec, q.duration_sec) == ("m", None, None, None)
    cmd = codec.create_booking_command(pb.CreateBookingRequest())
    assert (cmd.slot, cmd.user, cmd.idempotency_token, cmd.lease_id, cmd.payment) == (
        None,
        None,
        None,
        None,
        None,
    )
    present = codec.create_booking_command(
        pb.CreateBookingRequest(slot=pb.Slot(), lease_ref=pb.LeaseReference())
    )
    assert present.slot is not None and present.lease_id is None  # an empty sub-message is there, but empty


def test_update_command_reads_cancel_and_reschedule() -> None:
    cancel = codec.update_booking_command(
        pb.UpdateBookingRequest(booking=pb.Booking(booking_id="b", status=pb.CANCELED))
    )
    assert (cancel.booking_id, cancel.status, cancel.modifies_slot) == ("b", BookingStatus.CANCELED, False)
    move = codec.update_booking_command(
        pb.UpdateBookingRequest(
            booking=pb.Booking(booking_id="b", slot=pb.Slot(start_sec=10, duration_sec=20))
        )
    )
    assert (move.status, move.start_sec, move.duration_sec, move.party_size) == (None, 10, 20, None)
    party = codec.update_booking_command(
        pb.UpdateBookingRequest(
            booking=pb.Booking(booking_id="b", slot=pb.Slot(resources=pb.ResourceIds(party_size=4)))
        )
    )
    assert (party.start_sec, party.party_size) == (None, 4)


def test_unknown_enum_number_names_the_field() -> None:
    with pytest.raises(InvalidArgument, match=r"^booking\.status: unknown BookingStatus value 99$"):
        codec.update_booking_command(pb.UpdateBookingRequest(booking=pb.Booking(booking_id="b", status=99)))  # type: ignore[arg-type]


def test_payment_mapping_round_trip() -> None:
    payment = pb.PaymentInformation(
        prepayment_status=pb.PREPAYMENT_PROVIDED,
        payment_transaction_id="tx",
        price=pb.Price(price_micros=1950000, currency_code="USD"),
        payment_processed_by=pb.PaymentInformation.PROCESSED_BY_PARTNER,
        user_payment_option_id="upo",
        deposit=pb.Deposit(
            deposit=pb.Price(price_micros=5), min_advance_cancellation_sec=3600, deposit_type=pb.PER_PERSON
        ),
    )
    mapping = codec.message_to_mapping(payment)
    assert mapping["price"] == {"price_micros": 1950000, "currency_code": "USD"}  # int64 as int
    assert mapping["payment_processed_by"] == "PROCESSED_BY_PARTNER"  # enums as names
    back = pb.PaymentInformation()
    codec.fill_from_mapping(back, mapping)
    assert back == payment


def test_fill_from_mapping_takes_rest_forms() -> None:
    """lowerCamelCase keys and int64 as strings (proto3 JSON) are accepted; unknown keys are ignored."""
    out = pb.PaymentInformation()
    codec.fill_from_mapping(
        out, {"prepaymentStatus": "PREPAYMENT_REFUNDED", "price": {"priceMicros": "42"}, "no_such_field": 1}
    )
    assert out.prepayment_status == pb.PREPAYMENT_REFUNDED and out.price.price_micros == 42
    config = pb.TokenizationConfig()
    codec.fill_from_mapping(
        config, {"tokenization_parameter": {"gateway": "x"}, "allowed_auth_methods": ["PAN_ONLY"]}
    )
    assert dict(config.tokenization_parameter) == {"gateway": "x"}
    assert list(config.allowed_auth_methods) == [pb.TokenizationConfig.PAN_ONLY]
    assert codec.message_to_mapping(config) == {
        "tokenization_parameter": {"gateway": "x"},
        "allowed_auth_methods": ["PAN_ONLY"],
    }
