"""Payments, packs and online sessions over gRPC, against a real reference server (issue 15).

The same feed directory as the REST tests (``paymentfeed``); the ledger (D52) is REST-only, so it is read
from the REST endpoint of the same server (one app, one state).
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpcroom_helpers import PASSWORD, USER, AuthStub, Servers, serve_both
from paymentfeed import (
    FREE,
    MERCHANT,
    OFFER,
    ONLINE,
    PACK,
    PACK_CLASS,
    PACK_PRICE_MICROS,
    PACK_SESSIONS,
    PREPAID,
    PRICE_MICROS,
    TAX_MICROS,
    card_token,
    next_start,
    user_json,
    write_payment_feed,
)
from timebase import pinned_clock

from booking_protocol import booking_pb2 as pb
from booking_protocol import booking_pb2_grpc
from mock_server.server import ServerConfig

HOUR = 3600


@pytest.fixture(scope="module")
def pay_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_payment_feed(tmp_path_factory.mktemp("payfeed"))


@contextlib.contextmanager
def _servers(feed: Path, **options: Any) -> Iterator[Servers]:
    config = ServerConfig(
        port=0, feed=str(feed), user=USER, password=PASSWORD, clock=pinned_clock(), **options
    )
    yield from serve_both(config)


@pytest.fixture(scope="module")
def servers(pay_feed: Path) -> Iterator[Servers]:
    with _servers(pay_feed) as running:
        yield running


@pytest.fixture
def stub(servers: Servers) -> Iterator[Any]:
    with servers.channel() as channel:
        yield AuthStub(booking_pb2_grpc.BookingServiceStub(channel), servers.auth_metadata)


def _price(micros: int) -> pb.Price:
    return pb.Price(price_micros=micros, currency_code="USD")


def _request(
    service: str,
    start: int,
    user_id: str,
    idem: str,
    *,
    payment: pb.PaymentInformation | None = None,
    token: str | None = None,
) -> pb.CreateBookingRequest:
    u = user_json(user_id)
    request = pb.CreateBookingRequest(
        slot=pb.Slot(merchant_id=MERCHANT, service_id=service, start_sec=start, duration_sec=HOUR),
        user_information=pb.UserInformation(**u),
        idempotency_token=idem,
    )
    if payment is not None:
        request.payment_information.CopyFrom(payment)
    if token is not None:
        request.payment_processing_parameters.unparsed_payment_method_token = token
    return request


def _prepaid_payment(**extra: Any) -> pb.PaymentInformation:
    return pb.PaymentInformation(
        prepayment_status=pb.PREPAYMENT_PROVIDED,
        payment_processed_by=pb.PaymentInformation.PROCESSED_BY_PARTNER,
        price=_price(PRICE_MICROS),
        tax_amount=_price(TAX_MICROS),
        **extra,
    )


def _prepaid(user_id: str, idem: str, token: str, start: int | None = None) -> pb.CreateBookingRequest:
    return _request(PREPAID, start or next_start(), user_id, idem, payment=_prepaid_payment(), token=token)


def _ledger(servers: Servers) -> list[dict[str, Any]]:
    credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"{servers.rest.rest_url}/_bookcheck/ledger?merchant_id={MERCHANT}",
        headers={"Authorization": f"Basic {credentials}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        entries = json.loads(response.read())["entries"]
    assert isinstance(entries, list)
    return entries


def _cancel(stub: Any, booking_id: str) -> pb.UpdateBookingResponse:
    response: pb.UpdateBookingResponse = stub.UpdateBooking(
        pb.UpdateBookingRequest(booking=pb.Booking(booking_id=booking_id, status=pb.CANCELED))
    )
    return response


def _bookable(stub: Any, service: str, start: int) -> bool:
    response = stub.BatchAvailabilityLookup(
        pb.BatchAvailabilityLookupRequest(
            merchant_id=MERCHANT,
            slot_time=[pb.SlotTime(service_id=service, start_sec=start, duration_sec=HOUR)],
        )
    )
    return bool(response.slot_time_availability[0].available)


def test_paid_create_resent_with_its_token_charges_once(stub: Any, servers: Servers) -> None:
    request = _prepaid("g-replay", "g-idem-replay", card_token("4242", "g-n-replay"))
    first = stub.CreateBooking(request)
    info = first.booking.payment_information
    assert info.prepayment_status == pb.PREPAYMENT_PROVIDED
    assert info.payment_processed_by == pb.PaymentInformation.PROCESSED_BY_PARTNER
    assert info.payment_transaction_id
    assert info.price == _price(PRICE_MICROS) and info.tax_amount == _price(TAX_MICROS)

    again = stub.CreateBooking(request)
    assert again.booking.booking_id == first.booking.booking_id
    assert again.booking.payment_information.payment_transaction_id == info.payment_transaction_id
    charges = [
        e
        for e in _ledger(servers)
        if e.get("booking_id") == first.booking.booking_id and e["kind"] == "charge"
    ]
    assert len(charges) == 1 and charges[0]["amount_micros"] == PRICE_MICROS + TAX_MICROS


def test_cancelled_prepaid_booking_reports_refunded(stub: Any) -> None:
    made = stub.CreateBooking(_prepaid("g-refund", "g-idem-refund", card_token("4242", "g-n-refund"))).booking
    cancelled = _cancel(stub, made.booking_id)
    payment = cancelled.booking.payment_information
    assert cancelled.booking.status == pb.CANCELED
    assert payment.prepayment_status == pb.PREPAYMENT_REFUNDED
    assert payment.payment_transaction_id not in ("", made.payment_information.payment_transaction_id)
    status = stub.GetBookingStatus(pb.GetBookingStatusRequest(booking_id=made.booking_id))
    assert (status.booking_status, status.prepayment_status) == (pb.CANCELED, pb.PREPAYMENT_REFUNDED)


def test_declined_payment_leaves_the_slot_bookable(stub: Any, servers: Servers) -> None:
    start = next_start()
    before = _ledger(servers)
    failed = stub.CreateBooking(_prepaid("g-dec", "g-idem-dec", card_token("0002", "g-n-dec"), start))
    assert not failed.HasField("booking")
    assert failed.booking_failure.cause == pb.BookingFailure.PAYMENT_ERROR_CARD_DECLINED
    assert _ledger(servers) == before
    assert _bookable(stub, PREPAID, start)


def test_card_type_rejection_and_3ds1_parameters_on_the_wire(stub: Any) -> None:
    amex = stub.CreateBooking(_prepaid("g-amex", "g-idem-amex", card_token("0005", "g-n-amex", "AMEX")))
    assert amex.booking_failure.cause == pb.BookingFailure.PAYMENT_ERROR_CARD_TYPE_REJECTED
    assert amex.booking_failure.rejected_card_type == pb.AMERICAN_EXPRESS

    start = next_start()
    challenged = stub.CreateBooking(_prepaid("g-3ds", "g-idem-3ds", card_token("3063", "g-n-3ds"), start))
    failure = challenged.booking_failure
    assert failure.cause == pb.BookingFailure.PAYMENT_REQUIRES_3DS1
    params = failure.payment_failure.threeds1_parameters
    assert params.acs_url.startswith("https://") and params.pa_req and params.transaction_id
    assert params.md_merchant_data

    retry = _request(
        PREPAID,
        start,
        "g-3ds",
        "g-idem-3ds-retry",
        payment=_prepaid_payment(pa_response="bookcheck-3ds1:pass", md_merchant_data=params.md_merchant_data),
        token=card_token("3063", "g-n-3ds"),
    )
    assert stub.CreateBooking(retry).booking.payment_information.prepayment_status == pb.PREPAYMENT_PROVIDED


def test_pack_bought_used_and_credited(stub: Any) -> None:
    buy = _request(
        PACK_CLASS,
        next_start(),
        "g-pack",
        "g-idem-pack-buy",
        payment=pb.PaymentInformation(
            prepayment_status=pb.PREPAYMENT_PROVIDED,
            payment_processed_by=pb.PaymentInformation.PROCESSED_BY_PARTNER,
            payment_option_id=PACK,
            price=_price(PACK_PRICE_MICROS),
        ),
        token=card_token("4242", "g-n-pack"),
    )
    bought = stub.CreateBooking(buy)
    upo = bought.user_payment_option
    assert (upo.payment_option_id, upo.type) == (PACK, pb.PAYMENT_OPTION_MULTI_USE)
    assert (upo.original_count, upo.current_count) == (PACK_SESSIONS, PACK_SESSIONS - 1)
    assert bought.booking.payment_information.user_payment_option_id == upo.user_payment_option_id

    use = _request(
        PACK_CLASS,
        next_start(),
        "g-pack",
        "g-idem-pack-use",
        payment=pb.PaymentInformation(
            payment_processed_by=pb.PaymentInformation.PROCESSED_BY_PARTNER,
            user_payment_option_id=upo.user_payment_option_id,
        ),
    )
    used = stub.CreateBooking(use)
    assert used.user_payment_option.current_count == PACK_SESSIONS - 2
    credited = _cancel(stub, used.booking.booking_id)
    assert credited.user_payment_option.user_payment_option_id == upo.user_payment_option_id
    assert credited.user_payment_option.current_count == PACK_SESSIONS - 1
    assert credited.booking.payment_information.prepayment_status == pb.PREPAYMENT_CREDITED


def test_online_service_carries_virtual_session_info(stub: Any) -> None:
    request = _request(ONLINE, next_start(), "g-online", "g-idem-online")
    session = stub.CreateBooking(request).booking.virtual_session_info
    assert session.session_url.startswith("https://")
    assert stub.CreateBooking(request).booking.virtual_session_info == session
    listed = stub.ListBookings(pb.ListBookingsRequest(user_id="g-online")).bookings
    assert [b.virtual_session_info for b in listed] == [session]
    in_person = stub.CreateBooking(_request(FREE, next_start(), "g-online", "g-idem-in-person"))
    assert not in_person.booking.HasField("virtual_session_info")


def test_applied_offer_and_an_unavailable_one(stub: Any) -> None:
    request = _request(FREE, next_start(), "g-offer", "g-idem-offer")
    request.offer_id = OFFER
    assert stub.CreateBooking(request).booking.offer_info.offer_id == OFFER
    listed = stub.ListBookings(pb.ListBookingsRequest(user_id="g-offer")).bookings
    assert [b.offer_info.offer_id for b in listed] == [OFFER]
    unknown = _request(FREE, next_start(), "g-offer", "g-idem-no-offer")
    unknown.offer_id = "no-such-offer"
    assert stub.CreateBooking(unknown).booking_failure.cause == pb.BookingFailure.OFFER_UNAVAILABLE


def test_client_that_gives_up_during_the_processor_delay_is_not_charged(pay_feed: Path) -> None:
    """D47: the simulated processor's delay comes before the domain decides, so a deadline that passes
    during it leaves no booking and no charge; the resent request then books once."""
    with _servers(pay_feed, payment_latency_ms=1500) as servers:
        with servers.channel() as channel:
            stub = AuthStub(booking_pb2_grpc.BookingServiceStub(channel), servers.auth_metadata)
            start = next_start()
            request = _prepaid("g-slow", "g-idem-slow", card_token("4242", "g-n-slow"), start)
            with pytest.raises(grpc.RpcError) as caught:
                stub.CreateBooking(request, timeout=0.2)
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert _ledger(servers) == []
            assert _bookable(stub, PREPAID, start)
            unpaid = stub.CreateBooking(_request(FREE, next_start(), "g-slow", "g-idem-free"), timeout=10)
            assert unpaid.HasField("booking")
            booked = stub.CreateBooking(request, timeout=10)
            assert booked.booking.payment_information.prepayment_status == pb.PREPAYMENT_PROVIDED
            assert len(_ledger(servers)) == 1


@pytest.mark.parametrize(
    ("field", "fill"),
    [
        (
            "payment_processing_parameters.tokenization_config.allowed_auth_methods[1]",
            lambda r: r.payment_processing_parameters.tokenization_config.allowed_auth_methods.extend(
                [1, 77]
            ),
        ),
        (
            "payment_information.deposit.deposit_type",
            lambda r: setattr(r.payment_information.deposit, "deposit_type", 9),
        ),
        (
            "payment_information.payment_processed_by",
            lambda r: setattr(r.payment_information, "payment_processed_by", 5),
        ),
    ],
)
def test_an_enum_number_the_proto_lacks_is_refused_naming_the_field(stub: Any, field: str, fill: Any) -> None:
    request = _prepaid("g-enum", f"g-idem-enum-{field}", card_token("4242", f"g-n-enum-{field}"))
    fill(request)
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateBooking(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(f"{field}: unknown ")
