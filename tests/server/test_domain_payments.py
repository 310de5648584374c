"""Domain tests of payments, offers and virtual sessions (§3.12, §3.13, D32–D54): BookingService with a
catalogue, a pinned FakeClock and no transport. Money moved is read from the simulated processor's ledger.

The world (:func:`make`) is one merchant that accepts VISA and MASTERCARD only, with an 8.875 % tax rate,
and one service per payment flow; the helpers build requests the way Google would (price and tax from the
feed, a fresh shorthand token per request). ``test_domain_payments_packs`` reuses them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking_protocol.commerce import (
    MULTI_USE,
    PER_PERSON,
    SINGLE_USE,
    UNLIMITED_USE,
    Catalogue,
    Charge,
    MerchantTerms,
    Money,
    OfferTerms,
    PaymentOptionTerms,
    RefundCondition,
    ServiceTerms,
)
from mock_server.domain import (
    THREEDS_FAIL,
    THREEDS_PASS,
    BookingResult,
    BookingService,
    BookingStatus,
    ConfirmationMode,
    CreateBookingCommand,
    DomainConfig,
    FailureCause,
    FakeClock,
    Inventory,
    SequentialIds,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
    threeds1_parameters,
)
from mock_server.domain.processor import booking_key
from mock_server.domain.tokens import parse_card
from mock_server.paytoken import decode_payment_token

NOW = 1_800_000_000
T = NOW + 3 * 86_400  # slots start three days ahead
M = "m1"
USD = "USD"
TAX = 8_875_000  # 8.875 %


def usd(amount: float) -> Money:
    return Money(round(amount * 1_000_000), USD)


def catalogue(*, offers: bool = True) -> Catalogue:
    options = (
        PaymentOptionTerms("pack10", MULTI_USE, usd(100), session_count=10),
        PaymentOptionTerms("drop-in", SINGLE_USE, usd(20)),
        PaymentOptionTerms("member", UNLIMITED_USE, usd(150), valid_duration_sec=30 * 86_400),
        PaymentOptionTerms("intro", MULTI_USE, usd(30), session_count=3, new_to_merchant=True),
        PaymentOptionTerms("once", MULTI_USE, usd(40), session_count=2, new_to_payment_option=True),
    )
    all_options = tuple(o.payment_option_id for o in options)
    services = [
        ServiceTerms(M, "yoga", usd(25), prepayment_required=True, payment_option_ids=all_options),
        ServiceTerms(M, "tasting", usd(50), price_type=PER_PERSON, prepayment_required=True),
        ServiceTerms(M, "spa", usd(80), deposit=Charge(usd(10), min_advance_cancellation_sec=3600)),
        ServiceTerms(M, "dine", usd(30), no_show_fee=Charge(usd(15), PER_PERSON)),
        ServiceTerms(M, "card", card_required=True),
        ServiceTerms(M, "online", usd(10), prepayment_required=True, online=True),
        ServiceTerms(
            M,
            "strict",
            usd(40),
            prepayment_required=True,
            refund_conditions=(RefundCondition(2 * 86_400, 100), RefundCondition(3600, 50)),
        ),
        ServiceTerms(M, "async", usd(25), prepayment_required=True),
    ]
    merchant = MerchantTerms(
        M, accepted_card_types=("VISA", "MASTERCARD"), tax_micro_percent=TAX, payment_options=options
    )
    offer = OfferTerms("happy-hour", M, ("dine",), ((T, T + 3600),))
    return Catalogue(services, [merchant], [offer] if offers else [])


def make(
    *, config: DomainConfig | None = None, with_catalogue: bool = True, **options: Any
) -> tuple[BookingService, FakeClock]:
    inv = Inventory()
    for service in ("yoga", "spa", "card", "online", "strict", "free"):
        inv.add(M, service, T, 3600, spots_total=2, spots_open=2)
    inv.add(M, "yoga", T + 3600, 3600, spots_total=1, spots_open=1)
    inv.add(M, "yoga", T + 7200, 3600, spots_total=1, spots_open=0)
    for party in (2, 4):
        inv.add(M, "tasting", T, 5400, spots_total=1, spots_open=1, party_size=party)
        inv.add(M, "dine", T, 5400, spots_total=1, spots_open=1, party_size=party)
    inv.add(M, "dine", T + 7200, 5400, spots_total=1, spots_open=1, party_size=2)
    inv.add(M, "dine", T + 9000, 5400, spots_total=1, spots_open=0, party_size=2)
    mode = ConfirmationMode.CONFIRMATION_MODE_ASYNCHRONOUS
    inv.add(M, "async", T, 3600, spots_total=1, spots_open=1, confirmation_mode=mode)
    clock = FakeClock(NOW)
    cfg = config or DomainConfig(catalogue=catalogue() if with_catalogue else None, **options)
    svc = BookingService(inv, config=cfg, clock=clock, booking_ids=SequentialIds("b"))
    return svc, clock


def q(service: str = "yoga", start: int = T, party: int = 0, duration: int | None = None) -> SlotQuery:
    if duration is None:
        duration = 5400 if service in ("tasting", "dine") else 3600
    return SlotQuery(M, service, start, duration, party_size=party)


def card(last4: str = "4242", network: str = "VISA", nonce: str = "") -> str:
    return f"bookcheck:{network}:{last4}:{nonce or f'n-{network}-{last4}-{next(_NONCES)}'}"


_NONCES = iter(range(10**9))


def prepaid(price: Money, tax: Money | None = None, **extra: Any) -> dict[str, Any]:
    """PaymentInformation as Google sends it for a partner-processed prepayment (field-name form)."""
    out: dict[str, Any] = {
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
        "payment_processed_by": "PROCESSED_BY_PARTNER",
        "price": price.as_price(),
    }
    if tax is not None:
        out["tax_amount"] = tax.as_price()
    return out | extra


def quoted(svc: BookingService, service: str = "yoga", party: int = 1, **extra: Any) -> dict[str, Any]:
    cat = svc.config.catalogue
    assert cat is not None
    quote = cat.quote(M, service, party)
    assert quote is not None
    return prepaid(quote.price, quote.tax, **extra)


def book(
    svc: BookingService,
    slot: SlotQuery,
    *,
    user: str = "u1",
    token: str = "t1",
    payment: dict[str, Any] | None = None,
    card_token: str | None = "",
    offer_id: str = "",
) -> BookingResult:
    """A CreateBooking; ``card_token=""`` → a fresh approved VISA token, ``None`` → no token at all."""
    processing = None
    if card_token is not None:
        processing = decode_payment_token({"unparsed_payment_method_token": card_token or card()})
    return svc.create_booking(
        CreateBookingCommand(
            slot, UserInfo(user), token, payment=payment, offer_id=offer_id, payment_processing=processing
        )
    )


def cancel(svc: BookingService, booking_id: str) -> BookingResult:
    return svc.update_booking(UpdateBookingCommand(booking_id, status=BookingStatus.CANCELED))


def spots(svc: BookingService, service: str = "yoga", start: int = T, party: int = 0) -> int:
    duration = 5400 if service in ("tasting", "dine") else 3600
    slot = svc.inventory.exact((M, service, start, duration, "", "", party))
    assert slot is not None
    return slot.spots_open


def kinds(svc: BookingService) -> list[str]:
    return [e["kind"] for e in svc.ledger()]


def failed(r: BookingResult, cause: FailureCause) -> str:
    assert r.booking is None and r.failure is not None, r
    assert r.failure.cause is cause, r.failure
    return r.failure.description


# -- prepayment: success, replay, declines (D33, D37, D39, D53) -------------------------------------------


def test_prepaid_booking_reports_provided_with_purchase_id_and_the_request_price() -> None:
    svc, _ = make()
    payment = quoted(svc)
    r = book(svc, q(), payment=payment)
    assert r.booking is not None
    info = r.booking.payment
    assert info is not None
    key = booking_key(M, "t1")
    assert info["prepayment_status"] == "PREPAYMENT_PROVIDED" == r.booking.prepayment_status
    assert info["payment_transaction_id"] == f"bc_pay_{key}"
    assert info["payment_processed_by"] == "PROCESSED_BY_PARTNER"
    assert info["price"] == {"price_micros": 25_000_000, "currency_code": USD}
    assert info["tax_amount"] == {"price_micros": 2_220_000, "currency_code": USD}  # 2.21875 → 2.22
    [entry] = svc.ledger(M)
    assert entry["kind"] == "charge" and entry["amount_micros"] == 27_220_000 and entry["currency"] == USD
    assert entry["booking_id"] == r.booking.booking_id and entry["at"] == NOW
    assert svc.get_booking(r.booking.booking_id).payment == info


def test_paid_booking_resent_with_its_token_charges_once() -> None:
    svc, _ = make()
    payment, token = quoted(svc), card()
    first = book(svc, q(), payment=payment, card_token=token)
    again = book(svc, q(), payment=payment, card_token=token)
    assert first.booking is not None and again.booking is not None
    assert again.booking.booking_id == first.booking.booking_id
    assert again.booking.payment == first.booking.payment
    assert kinds(svc) == ["charge"]
    assert spots(svc) == 1


def test_the_same_card_token_under_a_new_idempotency_token_is_refused() -> None:
    svc, _ = make()
    token = card()
    assert book(svc, q(), payment=quoted(svc), card_token=token).booking is not None
    r = book(svc, q(), user="u2", token="t2", payment=quoted(svc), card_token=token)
    assert failed(r, FailureCause.PAYMENT_ERROR) == "payment token already used"
    assert kinds(svc) == ["charge"] and spots(svc) == 1


@pytest.mark.parametrize(
    ("last4", "cause", "why"),
    [
        ("0002", FailureCause.PAYMENT_ERROR_CARD_DECLINED, "generic decline"),
        ("9995", FailureCause.PAYMENT_ERROR_CARD_DECLINED, "insufficient funds"),
        ("0119", FailureCause.PAYMENT_ERROR, "processing error"),
    ],
)
def test_a_declined_payment_leaves_no_trace_and_the_slot_bookable(
    last4: str, cause: FailureCause, why: str
) -> None:
    svc, _ = make()
    r = book(svc, q(), payment=quoted(svc), card_token=card(last4))
    assert failed(r, cause) == why
    assert svc.ledger() == [] and spots(svc) == 2 and svc.list_bookings("u1") == []
    retry = book(svc, q(), payment=quoted(svc), card_token=card("4242"))  # D11: the token was not spent
    assert retry.booking is not None and retry.booking.prepayment_status == "PREPAYMENT_PROVIDED"
    assert spots(svc) == 1


def gpay(network: str, last4: str, gateway_token: str) -> str:
    """A Google Pay PaymentData object, as ``unparsed_payment_method_token`` carries it (JSON text)."""
    return json.dumps(
        {
            "apiVersion": 2,
            "paymentMethodData": {
                "type": "CARD",
                "info": {"cardNetwork": network, "cardDetails": last4},
                "tokenizationData": {"type": "PAYMENT_GATEWAY", "token": gateway_token},
            },
        }
    )


def test_a_google_pay_payment_data_token_is_read() -> None:
    svc, _ = make()
    gateway_token = json.dumps({"id": "tok_\u00e9 1"})
    r = book(svc, q(), payment=quoted(svc), card_token=gpay("MASTERCARD", "4444", gateway_token))
    assert r.booking is not None and r.booking.prepayment_status == "PREPAYMENT_PROVIDED"
    assert svc.ledger()[0]["token_fingerprint"] == gateway_token
    r2 = book(svc, q(), user="u2", token="t2", payment=quoted(svc), card_token=gpay("VISA", "0002", "tok_2"))
    failed(r2, FailureCause.PAYMENT_ERROR_CARD_DECLINED)
    r3 = book(svc, q(), user="u2", token="t2", payment=quoted(svc), card_token=gpay("AMEX", "0005", "tok_3"))
    assert r3.failure is not None and r3.failure.rejected_card_type == "AMERICAN_EXPRESS"


def test_the_adapters_decode_a_json_token_and_the_domain_reads_shorthand_and_mappings_only() -> None:
    params = {"unparsed_payment_method_token": gpay("VISA", "4242", "tok_1"), "other": 1}
    decoded = decode_payment_token(params)
    assert decoded is not None and decoded["other"] == 1
    c = parse_card(decoded["unparsed_payment_method_token"])
    assert c is not None and (c.network, c.last4, c.fingerprint) == ("VISA", "4242", "tok_1")
    assert parse_card(params["unparsed_payment_method_token"]) is None  # JSON text never reaches the domain
    for kept in ("bookcheck:VISA:4242:n", "{not json", "[1]", "tok_visa"):
        assert decode_payment_token({"unparsed_payment_method_token": kept}) == {
            "unparsed_payment_method_token": kept
        }
    c = parse_card("bookcheck:amex:0005:abc:def")
    assert c is not None and (c.network, c.last4, c.fingerprint, c.card_type) == (
        "AMEX",
        "0005",
        "abc:def",
        "AMERICAN_EXPRESS",
    )
    for bad_token in ("bookcheck:VISA:42:n", "tok_visa", {}, {"paymentMethodData": 3}, 7, None):
        assert parse_card(bad_token) is None


# -- card type, 3DS1 (D37, D38) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "card_type"), [("AMEX", "AMERICAN_EXPRESS"), ("INTERAC", "CREDIT_CARD_TYPE_UNSPECIFIED")]
)
def test_an_unaccepted_network_is_rejected_with_its_card_type(network: str, card_type: str) -> None:
    svc, _ = make()
    r = book(svc, q(), payment=quoted(svc), card_token=card("0005", network))
    failed(r, FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED)
    assert r.failure is not None and r.failure.rejected_card_type == card_type
    assert svc.ledger() == [] and spots(svc) == 2


def test_3ds1_is_asked_for_then_a_passing_retry_books() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=quoted(svc), card_token=card("3063"))
    failed(r, FailureCause.PAYMENT_REQUIRES_3DS1)
    assert r.failure is not None and r.failure.threeds1 == threeds1_parameters(booking_key(M, "t1"))
    params = dict(r.failure.threeds1)
    assert all(params.values()) and params["acs_url"].startswith("https://acs.bookcheck.invalid/")
    assert svc.ledger() == [] and spots(svc) == 2
    retry_payment = quoted(svc, pa_response=THREEDS_PASS, md_merchant_data=params["md_merchant_data"])
    ok = book(svc, q(), token="t1-3ds", payment=retry_payment, card_token=card("3063"))
    assert ok.booking is not None and ok.booking.prepayment_status == "PREPAYMENT_PROVIDED"
    assert ok.booking.payment is not None and "pa_response" not in ok.booking.payment
    assert kinds(svc) == ["charge"]
    again = book(svc, q(), user="u2", token="t3", payment=retry_payment, card_token=card())
    assert "already completed" in failed(again, FailureCause.PAYMENT_ERROR)


def test_3ds1_failing_or_unknown_retry_is_refused_without_side_effects() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=quoted(svc), card_token=card("3063"))
    assert r.failure is not None and r.failure.threeds1 is not None
    md = r.failure.threeds1["md_merchant_data"]
    fail = book(
        svc, q(), payment=quoted(svc, pa_response=THREEDS_FAIL, md_merchant_data=md), card_token=card("3063")
    )
    failed(fail, FailureCause.PAYMENT_ERROR_CARD_DECLINED)
    unknown = book(
        svc, q(), payment=quoted(svc, pa_response=THREEDS_PASS, md_merchant_data="bc_md_x"), card_token=card()
    )
    assert failed(unknown, FailureCause.PAYMENT_ERROR) == "unknown 3DS1 transaction"
    assert svc.ledger() == [] and spots(svc) == 2
    # the same idempotency token may still pass (failures are not stored under it, D11)
    ok = book(svc, q(), payment=quoted(svc, pa_response=THREEDS_PASS, md_merchant_data=md), card_token=card())
    assert ok.booking is not None


# -- prices and tokens (D35, D36, D46) -----------------------------------------------------------------


def test_a_price_that_differs_from_the_feed_fails_with_payment_error_and_books_nothing() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=prepaid(usd(24), usd(2.22)))
    assert failed(r, FailureCause.PAYMENT_ERROR) == "price mismatch: expected 25.00 USD got 24.00 USD"
    r = book(svc, q(), payment=prepaid(usd(25), usd(2.21)))
    assert failed(r, FailureCause.PAYMENT_ERROR) == "price mismatch: expected tax 2.22 USD got 2.21 USD"
    r = book(svc, q(), payment=prepaid(usd(25)))
    assert failed(r, FailureCause.PAYMENT_ERROR) == "price mismatch: expected tax 2.22 USD got none"
    r = book(svc, q(), payment=prepaid(Money(25_000_000, "EUR"), usd(2.22)))
    assert "expected 25.00 USD got 25.00 EUR" in failed(r, FailureCause.PAYMENT_ERROR)
    assert svc.ledger() == [] and spots(svc) == 2


def test_per_person_prices_use_the_slots_party_size() -> None:
    svc, _ = make()
    two = book(svc, q("tasting", party=2), payment=quoted(svc, "tasting", party=2))
    assert two.booking is not None
    assert svc.ledger()[0]["amount_micros"] == 100_000_000 + 8_880_000  # 2 × 50 + 8.875 %
    r = book(svc, q("tasting", party=4), user="u2", token="t2", payment=quoted(svc, "tasting", party=2))
    assert "expected 200.00 USD got 100.00 USD" in failed(r, FailureCause.PAYMENT_ERROR)


def test_a_paid_service_without_a_usable_token_is_refused() -> None:
    svc, _ = make()
    assert (
        failed(book(svc, q(), payment=None, card_token=None), FailureCause.PAYMENT_ERROR)
        == "payment required"
    )
    assert (
        failed(book(svc, q(), payment=quoted(svc), card_token=None), FailureCause.PAYMENT_ERROR)
        == "payment required"
    )
    r = book(svc, q(), payment=quoted(svc), card_token="tok_visa")
    assert failed(r, FailureCause.PAYMENT_ERROR) == "unusable payment token"
    r = book(svc, q("card"), payment=None, card_token=None)
    assert failed(r, FailureCause.PAYMENT_ERROR) == "payment required"
    assert svc.ledger() == [] and spots(svc) == 2


def test_a_free_service_ignores_the_token_and_echoes_the_payment_information() -> None:
    svc, _ = make()
    on_arrival = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    r = book(svc, q("free"), payment=on_arrival, card_token="garbage")
    assert r.booking is not None and r.booking.payment == on_arrival and svc.ledger() == []


def test_processed_by_google_is_echoed_and_nothing_is_charged() -> None:
    svc, _ = make()
    payment = quoted(
        svc,
        payment_processed_by="PROCESSED_BY_GOOGLE",
        prepayment_status="PREPAYMENT_PROVIDED",
        payment_transaction_id="g-1",
    )
    r = book(svc, q(), payment=payment, card_token=None)
    assert r.booking is not None and r.booking.payment == payment and svc.ledger() == []


def test_a_payment_on_an_asynchronous_slot_is_refused() -> None:
    svc, _ = make()
    r = book(svc, q("async"), payment=quoted(svc, "async"))
    assert "asynchronous" in failed(r, FailureCause.PAYMENT_ERROR)
    assert spots(svc, "async") == 1 and svc.ledger() == []


# -- deposits, no-show fees, cards on file (D34) --------------------------------------------------------


def test_a_deposit_is_held_and_released_on_an_early_cancel() -> None:
    svc, clock = make()
    r = book(svc, q("spa"), payment={"payment_processed_by": "PROCESSED_BY_PARTNER"})
    assert r.booking is not None and r.booking.payment is not None
    info = r.booking.payment
    assert info["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert info["payment_transaction_id"] == f"bc_hold_{booking_key(M, 't1')}"
    assert info["deposit"]["deposit"] == usd(10).as_price()
    assert cancel(svc, r.booking.booking_id).booking is not None
    assert kinds(svc) == ["hold", "void"]
    late = book(svc, q("spa"), token="t2", payment={"payment_processed_by": "PROCESSED_BY_PARTNER"})
    assert late.booking is not None
    clock.advance(T - NOW - 1800)  # half an hour before: inside the deposit's hour
    assert cancel(svc, late.booking.booking_id).booking is not None
    assert kinds(svc) == ["hold", "void", "hold"]
    wrong = book(svc, q("spa"), token="t3", payment={"deposit": {"deposit": usd(9).as_price()}})
    assert "expected deposit 10.00 USD got 9.00 USD" in failed(wrong, FailureCause.PAYMENT_ERROR)


def test_a_no_show_fee_or_required_card_stores_the_card_and_charges_nothing() -> None:
    svc, _ = make()
    r = book(svc, q("dine", party=2), payment=None)
    assert r.booking is not None and r.booking.payment is not None
    info = r.booking.payment
    assert info["payment_transaction_id"].startswith("bc_cof_")
    assert info["no_show_fee"] == {"fee": usd(15).as_price(), "fee_type": PER_PERSON}
    assert r.booking.prepayment_status == "PREPAYMENT_NOT_PROVIDED"
    r2 = book(svc, q("card"), token="t2", payment=None)
    assert r2.booking is not None and r2.booking.prepayment_status == "PREPAYMENT_NOT_PROVIDED"
    assert [(e["kind"], e["amount_micros"]) for e in svc.ledger()] == [("card_on_file", 0)] * 2


# -- cancel and refund (D40, D41), reschedule (D54) ------------------------------------------------------


def test_a_cancelled_prepaid_booking_reports_refunded_everywhere() -> None:
    svc, _ = make()
    made = book(svc, q(), payment=quoted(svc))
    assert made.booking is not None and made.booking.payment is not None
    purchase = made.booking.payment["payment_transaction_id"]
    r = cancel(svc, made.booking.booking_id)
    assert r.booking is not None and r.booking.payment is not None
    assert r.booking.status is BookingStatus.CANCELED
    assert r.booking.prepayment_status == "PREPAYMENT_REFUNDED"
    refund_id = r.booking.payment["payment_transaction_id"]
    assert refund_id.startswith("bc_ref_") and refund_id != purchase
    assert svc.get_booking(made.booking.booking_id).prepayment_status == "PREPAYMENT_REFUNDED"
    assert [v.prepayment_status for v in svc.list_bookings("u1")] == ["PREPAYMENT_REFUNDED"]
    assert [(e["kind"], e["amount_micros"], e["id"]) for e in svc.ledger()] == [
        ("charge", 27_220_000, purchase),
        ("refund", 27_220_000, refund_id),
    ]
    replay = book(svc, q(), payment=quoted(svc))  # D26/D39: the booking as it is now, nothing charged
    assert replay.booking is not None and replay.booking.prepayment_status == "PREPAYMENT_REFUNDED"
    assert len(svc.ledger()) == 2
    # D26 "original": the first answer, with the purchase id
    original_svc, _ = make(replay_state="original")
    first = book(original_svc, q(), payment=quoted(original_svc))
    assert first.booking is not None
    cancel(original_svc, first.booking.booking_id)
    assert book(original_svc, q(), payment=quoted(original_svc)).booking == first.booking


@pytest.mark.parametrize(
    ("policy", "before_start", "status", "refunded"),
    [
        ("feed", 3 * 86_400, "PREPAYMENT_REFUNDED", 43_550_000),  # ≥ 2 days: 100 %
        ("feed", 86_400, "PREPAYMENT_REFUNDED", 21_780_000),  # ≥ 1 h: 50 % of 43.55 → 21.775 → 21.78
        ("feed", 1800, "PREPAYMENT_PROVIDED", None),  # under an hour: nothing back
        ("full", 1800, "PREPAYMENT_REFUNDED", 43_550_000),
        ("none", 3 * 86_400, "PREPAYMENT_PROVIDED", None),
    ],
)
def test_refund_policy(policy: str, before_start: int, status: str, refunded: int | None) -> None:
    svc, clock = make(refund_policy=policy)
    made = book(svc, q("strict"), payment=quoted(svc, "strict"))
    assert made.booking is not None
    clock.advance(T - NOW - before_start)
    r = cancel(svc, made.booking.booking_id)
    assert r.booking is not None and r.booking.prepayment_status == status
    refunds = [e["amount_micros"] for e in svc.ledger() if e["kind"] == "refund"]
    assert refunds == ([refunded] if refunded is not None else [])


def test_a_reschedule_keeps_the_payment_and_a_price_change_is_refused() -> None:
    svc, _ = make()
    made = book(svc, q(), payment=quoted(svc))
    assert made.booking is not None
    moved = svc.update_booking(UpdateBookingCommand(made.booking.booking_id, start_sec=T + 3600))
    assert moved.booking is not None and moved.booking.slot.start_sec == T + 3600
    assert moved.booking.payment == made.booking.payment and kinds(svc) == ["charge"]
    dinner = book(svc, q("tasting", party=2), token="t2", payment=quoted(svc, "tasting", party=2))
    assert dinner.booking is not None
    bigger = svc.update_booking(UpdateBookingCommand(dinner.booking.booking_id, party_size=4))
    assert failed(bigger, FailureCause.PAYMENT_ERROR) == "price differs; cancel and rebook"
    assert spots(svc, "tasting", party=4) == 1 and spots(svc, "tasting", party=2) == 0


# -- offers (D49) and virtual sessions (D50) -------------------------------------------------------------


def test_offers_are_checked_after_the_slot_and_kept_on_replay_and_reschedule() -> None:
    svc, _ = make()
    full = book(svc, q("dine", start=T + 9000, party=2), offer_id="nope", payment=None)
    failed(full, FailureCause.SLOT_UNAVAILABLE)  # the slot wins over the offer
    failed(book(svc, q("dine", party=2), offer_id="nope", payment=None), FailureCause.OFFER_UNAVAILABLE)
    outside = book(svc, q("dine", start=T + 7200, party=2), offer_id="happy-hour", payment=None)
    failed(outside, FailureCause.OFFER_UNAVAILABLE)
    other_service = book(svc, q("free"), offer_id="happy-hour", payment=None)
    failed(other_service, FailureCause.OFFER_UNAVAILABLE)
    assert svc.ledger() == [] and spots(svc, "dine", party=2) == 1
    ok = book(svc, q("dine", party=2), offer_id="happy-hour", payment=None)
    assert ok.booking is not None and ok.booking.offer_id == "happy-hour"
    again = book(svc, q("dine", party=2), offer_id="happy-hour", payment=None)
    assert again.booking is not None and again.booking.offer_id == "happy-hour"
    moved = svc.update_booking(UpdateBookingCommand(ok.booking.booking_id, start_sec=T + 7200))
    assert moved.booking is not None and moved.booking.offer_id == "happy-hour"
    assert book(svc, q("free"), token="t9", payment=None).booking.offer_id == ""  # type: ignore[union-attr]


def test_the_offer_is_checked_before_the_payment() -> None:
    svc, _ = make()
    declined = card("0002")
    r = book(svc, q("dine", party=2), offer_id="nope", payment=None, card_token=declined)
    failed(r, FailureCause.OFFER_UNAVAILABLE)
    r = book(svc, q("dine", party=2), offer_id="happy-hour", payment=None, card_token=declined)
    failed(r, FailureCause.PAYMENT_ERROR_CARD_DECLINED)
    assert svc.ledger() == [] and spots(svc, "dine", party=2) == 1


def test_without_an_offers_file_the_offer_is_echoed_as_before() -> None:
    svc, _ = make(config=DomainConfig(catalogue=catalogue(offers=False)))
    r = book(svc, q("free"), offer_id="anything", payment=None)
    assert r.booking is not None and r.booking.offer_id == "anything"


def test_an_online_service_gets_a_stable_virtual_session() -> None:
    svc, _ = make()
    r = book(svc, q("online"), payment=quoted(svc, "online"))
    assert r.booking is not None and r.booking.virtual_session is not None
    session = dict(r.booking.virtual_session)
    assert session["session_url"] == f"https://meet.bookcheck.invalid/{r.booking.booking_id}"
    assert session["meeting_id"] and session["password"]
    replay = book(svc, q("online"), payment=quoted(svc, "online"))
    assert replay.booking is not None and replay.booking.virtual_session == session
    assert svc.get_booking(r.booking.booking_id).virtual_session == session
    assert [v.virtual_session for v in svc.list_bookings("u1")] == [session]
    in_person = book(svc, q(), token="t2", payment=quoted(svc))
    assert in_person.booking is not None and in_person.booking.virtual_session is None


# -- without a catalogue: as before D32 ------------------------------------------------------------------


@pytest.mark.parametrize("config", [DomainConfig(), DomainConfig(catalogue=Catalogue())])
def test_without_a_catalogue_payment_information_is_echoed_and_nothing_charged(config: DomainConfig) -> None:
    svc, _ = make(config=config)
    payment = prepaid(usd(1), payment_transaction_id="x", pa_response="p")
    r = book(svc, q(), payment=payment, card_token=card("0002"), offer_id="any")
    assert r.booking is not None and r.booking.payment == payment and r.booking.offer_id == "any"
    assert r.booking.virtual_session is None and r.user_payment_option is None
    r2 = book(svc, q("async"), token="t2", payment=payment)
    assert r2.booking is not None and r2.booking.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION
    c = cancel(svc, r.booking.booking_id)
    assert c.booking is not None and c.booking.payment == payment
    assert svc.ledger() == [] and svc.user_payment_options() == []
