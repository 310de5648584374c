"""The payment, offer and virtual-session fault profiles (issue 15), one misbehaviour each, at the application
layer: the profile is installed into a real :class:`~mock_server.app.BookingApp` in front of a canned domain
answer, so each test shows exactly what the profile does to an answer (and what it leaves alone), whatever the
state of the payment domain. The self-test matrix (``test_matrix.py``) shows the harness catching each of them
over REST and gRPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from faultrun import feed_slots, inventory

from mock_server.app import AppError, BookingApp, ErrorCode
from mock_server.domain import (
    BookingResult,
    BookingService,
    BookingStatus,
    BookingView,
    CreateBookingCommand,
    Failure,
    FailureCause,
    InventorySlot,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)
from mock_server.faults import FaultPlan, FaultSpecError, parse_faults
from mock_server.faults.chaos import Latency
from mock_server.faults.payments import PaymentLatency
from mock_server.faults.registry import CASES

SLOT = InventorySlot("m1", "s1", 1_900_000_000, 3600, spots_total=5, spots_open=5)
USER = UserInfo("u1")
PRICE = {"price_micros": 20_000_000, "currency_code": "USD"}
PAID = {
    "prepayment_status": "PREPAYMENT_PROVIDED",
    "payment_transaction_id": "bc_pay_1",
    "payment_processed_by": "PROCESSED_BY_PARTNER",
    "price": PRICE,
    "tax_amount": {"price_micros": 2_000_000, "currency_code": "USD"},
}
REFUNDED = {**PAID, "prepayment_status": "PREPAYMENT_REFUNDED", "payment_transaction_id": "bc_ref_1"}
SESSION = {"session_url": "https://meet.bookcheck.invalid/b1", "meeting_id": "b1", "password": "pw"}


def view(
    booking_id: str = "b1",
    payment: Mapping[str, Any] | None = None,
    offer_id: str = "",
    session: Mapping[str, str] | None = None,
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> BookingView:
    return BookingView(booking_id, SLOT, USER, status, payment, offer_id, virtual_session=session)


def create(token: str = "t1", *, offer_id: str = "", processing: Mapping[str, Any] | None = None) -> Any:
    query = SlotQuery("m1", "s1", SLOT.start_sec, 3600)
    return CreateBookingCommand(query, USER, token, offer_id=offer_id, payment_processing=processing)


def failed(cause: FailureCause, **extra: Any) -> BookingResult:
    return BookingResult(failure=Failure(cause, "refused", **extra))


def answer(fault: str, method: str, request: Any, result: Any, app: BookingApp | None = None) -> Any:
    """What a client gets from ``method`` when the domain answers ``result`` and ``fault`` is on."""
    return answers(fault, [(method, request, result)], app)[0]


def answers(fault: str, calls: Sequence[tuple[str, Any, Any]], app: BookingApp | None = None) -> list[Any]:
    """The answers of several calls to one server with ``fault`` on (profiles may remember earlier ones)."""
    app = app or BookingApp(BookingService(inventory()))
    plan = parse_faults([fault])
    plan.install(app)
    canned: list[Any] = []

    async def domain(method: str, request: Any, call_next: Any) -> Any:
        return canned.pop()

    app.add_interceptor(domain)  # innermost: stands in for the domain

    async def run() -> list[Any]:
        out = []
        for method, request, result in calls:
            canned.append(result)
            out.append(await app.call(method, request))
        return out

    return asyncio.run(run())


# -- CreateBooking with payment ---------------------------------------------------------------------------


def test_payment_echo_wrong_price_moves_the_price_and_nothing_else() -> None:
    got = answer("payment-echo-wrong-price", "CreateBooking", create(), BookingResult(view(payment=PAID)))
    assert got.booking.payment["price"] == {"price_micros": 21_000_000, "currency_code": "USD"}
    assert {k: v for k, v in got.booking.payment.items() if k != "price"} == {
        k: v for k, v in PAID.items() if k != "price"
    }
    free = answer("payment-echo-wrong-price=5", "CreateBooking", create(), BookingResult(view()))
    assert free.booking.payment is None
    by_five = answer(
        "payment-echo-wrong-price=5", "CreateBooking", create(), BookingResult(view(payment=PAID))
    )
    assert by_five.booking.payment["price"]["price_micros"] == 20_000_005


def test_payment_no_transaction_id_drops_only_the_id() -> None:
    got = answer("payment-no-transaction-id", "CreateBooking", create(), BookingResult(view(payment=PAID)))
    assert "payment_transaction_id" not in got.booking.payment
    assert got.booking.payment["prepayment_status"] == "PREPAYMENT_PROVIDED"


def test_payment_processed_by_google_claims_the_other_processor() -> None:
    got = answer("payment-processed-by-google", "CreateBooking", create(), BookingResult(view(payment=PAID)))
    assert got.booking.payment["payment_processed_by"] == "PROCESSED_BY_GOOGLE"


def test_payment_status_not_provided_lies_in_every_answer_alike() -> None:
    got = answers(
        "payment-status-not-provided",
        [
            ("CreateBooking", create(), BookingResult(view(payment=PAID))),
            ("GetBookingStatus", "b1", view(payment=PAID)),
            ("ListBookings", "u1", [view(payment=PAID)]),
            ("UpdateBooking", UpdateBookingCommand("b1"), BookingResult(view(payment=REFUNDED))),
        ],
    )
    assert got[0].booking.payment["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert got[1].payment["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert got[2][0].payment["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert got[3].booking.payment == REFUNDED  # a refund is reported as it is


def test_payment_replay_new_charge_changes_the_id_on_each_resend_only() -> None:
    paid = BookingResult(view(payment=PAID))
    got = answers(
        "payment-replay-new-charge",
        [("CreateBooking", create("t1"), paid)] * 3 + [("CreateBooking", create("t2"), paid)],
    )
    ids = [g.booking.payment["payment_transaction_id"] for g in got]
    assert ids == ["bc_pay_1", "bc_pay_1-r1", "bc_pay_1-r2", "bc_pay_1"]
    assert {g.booking.booking_id for g in got} == {"b1"}


def test_payment_status_stale_only_in_the_reads() -> None:
    got = answers(
        "payment-status-stale",
        [
            ("CreateBooking", create(), BookingResult(view(payment=PAID))),
            ("GetBookingStatus", "b1", view(payment=PAID)),
            ("ListBookings", "u1", [view(payment=PAID)]),
        ],
    )
    assert got[0].booking.payment == PAID
    assert got[1].payment["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert got[2][0].payment["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"


def test_price_mismatch_500_turns_only_the_price_check_into_a_server_error() -> None:
    mismatch = BookingResult(failure=Failure(FailureCause.PAYMENT_ERROR, "price mismatch: expected 1 got 2"))
    with pytest.raises(AppError) as err:
        answer("price-mismatch-500", "CreateBooking", create(), mismatch)
    assert err.value.code is ErrorCode.INTERNAL
    other = failed(FailureCause.PAYMENT_ERROR)
    assert answer("price-mismatch-500", "CreateBooking", create(), other) == other


def test_payment_latency_waits_only_for_paid_bookings(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def sleep(self: Any, seconds: float) -> bool:
        waits.append(seconds)
        return True

    monkeypatch.setattr(FaultPlan, "sleep", sleep)
    token = {"unparsed_payment_method_token": "bookcheck:VISA:4242:n1"}
    ok = BookingResult(view(payment=PAID))
    calls = [("CreateBooking", create(), ok)] + [("CreateBooking", create(processing=token), ok)] * 2
    answers("payment-latency", calls)
    assert waits == [15.5, 15.5]
    answers("payment-latency=15.2s,first=1", calls)
    assert waits == [15.5, 15.5, 15.2]
    with pytest.raises(FaultSpecError):
        parse_faults(["payment-latency=15s,last=1"])
    assert issubclass(PaymentLatency, Latency)  # the latency fault, reused (§11's list)


# -- payment failures -------------------------------------------------------------------------------------


def test_card_type_rejected_without_type_clears_the_type() -> None:
    rejected = failed(FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED, rejected_card_type="AMERICAN_EXPRESS")
    got = answer("card-type-rejected-without-type", "CreateBooking", create(), rejected)
    assert got.failure.cause is FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED
    assert got.failure.rejected_card_type == ""


def test_card_declined_500_is_a_server_error() -> None:
    with pytest.raises(AppError) as err:
        answer(
            "card-declined-500", "CreateBooking", create(), failed(FailureCause.PAYMENT_ERROR_CARD_DECLINED)
        )
    assert err.value.code is ErrorCode.INTERNAL


def test_3ds1_without_parameters_drops_all_or_the_named_ones() -> None:
    params = {"acs_url": "https://acs.bookcheck.invalid/3ds1/x", "pa_req": "p", "transaction_id": "t"}
    challenge = failed(FailureCause.PAYMENT_REQUIRES_3DS1, threeds1={**params, "md_merchant_data": "md"})
    assert answer("3ds1-without-parameters", "CreateBooking", create(), challenge).failure.threeds1 is None
    some = answer("3ds1-without-parameters=md_merchant_data", "CreateBooking", create(), challenge)
    assert some.failure.threeds1 == params
    with pytest.raises(FaultSpecError):
        parse_faults(["3ds1-without-parameters=acs"])


def _spots_after(fault: str, causes: Sequence[FailureCause]) -> tuple[int, list[int]]:
    """The slot's open spots before, and after each CreateBooking that the domain refused with ``causes``."""
    app = BookingApp(BookingService(inventory()))
    slot = _open_slot(app)
    query = SlotQuery(slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec)
    request = CreateBookingCommand(query, USER, "t1")
    before, after = slot.spots_open, []
    for cause in causes:
        answer(fault, "CreateBooking", request, failed(cause), app)
        after.append(slot.spots_open)
        app = BookingApp(app.service)  # the next call: a fresh plan on the same domain
    return before, after


def test_payment_failure_takes_spot_keeps_spots_on_a_payment_failure_only() -> None:
    causes = (
        FailureCause.SLOT_UNAVAILABLE,  # not a payment failure
        FailureCause.PAYMENT_REQUIRES_3DS1,  # not final: the retry follows
        FailureCause.PAYMENT_ERROR_CARD_DECLINED,
        FailureCause.USER_CANNOT_USE_PAYMENT_OPTION,
    )
    before, after = _spots_after("payment-failure-takes-spot=1", causes)
    assert before > 2 and after == [before, before, before - 1, before - 2]
    before, after = _spots_after("payment-failure-takes-spot", causes)
    assert after == [before, before, 0, 0]  # by default the whole slot stays blocked


def _open_slot(app: BookingApp) -> InventorySlot:
    first = next(s for s in feed_slots() if s.spots_open > 1)
    query = SlotQuery(first.merchant_id, first.service_id, first.start_sec, first.duration_sec)
    return app.service.inventory.candidates(query)[0]


# -- payment state over the booking's life ----------------------------------------------------------------


def test_refund_status_unchanged_reports_the_purchase_wherever_the_booking_shows() -> None:
    cancelled = view(payment=REFUNDED, status=BookingStatus.CANCELED)
    got = answers(
        "refund-status-unchanged",
        [
            ("CreateBooking", create(), BookingResult(view(payment=PAID))),
            ("UpdateBooking", UpdateBookingCommand("b1"), BookingResult(cancelled)),
            ("GetBookingStatus", "b1", cancelled),
            ("ListBookings", "u1", [cancelled]),
            ("GetBookingStatus", "b2", view("b2", payment=REFUNDED)),
        ],
    )
    assert got[1].booking.payment == PAID and got[1].booking.status is BookingStatus.CANCELED
    assert got[2].payment == PAID and got[3][0].payment == PAID
    assert got[4].payment == REFUNDED  # a booking it never saw paid stays as it is


def test_refund_status_reset_reports_not_provided_after_the_refund() -> None:
    cancelled = view(payment=REFUNDED, status=BookingStatus.CANCELED)
    got = answers(
        "refund-status-reset",
        [
            ("CreateBooking", create(), BookingResult(view(payment=PAID))),
            ("UpdateBooking", UpdateBookingCommand("b1"), BookingResult(cancelled)),
            ("GetBookingStatus", "b1", cancelled),
        ],
    )
    assert got[0].booking.payment == PAID
    assert got[1].booking.payment == {**REFUNDED, "prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    assert got[2].payment == got[1].booking.payment


# -- packs and memberships ---------------------------------------------------------------------------------


def _upo(count: int, upo_id: str = "bc_upo_1", kind: str = "PAYMENT_OPTION_MULTI_USE") -> dict[str, Any]:
    return {
        "user_payment_option_id": upo_id,
        "type": kind,
        "original_count": 5,
        "current_count": count,
        "payment_option_id": "pack-5",
    }


def _pack_paid(booking_id: str, upo: dict[str, Any]) -> BookingResult:
    payment = {**PAID, "user_payment_option_id": upo["user_payment_option_id"]}
    return BookingResult(view(booking_id, payment=payment), user_payment_option=upo)


def test_upo_id_mismatch_names_another_option_in_the_payment() -> None:
    got = answer("upo-id-mismatch", "CreateBooking", create(), _pack_paid("b1", _upo(4)))
    assert got.user_payment_option["user_payment_option_id"] == "bc_upo_1"
    assert got.booking.payment["user_payment_option_id"] == "bc_upo_1-other"


def test_upo_count_unchanged_hides_every_use_but_shows_credits() -> None:
    got = answers(
        "upo-count-unchanged",
        [
            ("CreateBooking", create("t1"), _pack_paid("b1", _upo(4))),  # bought with this booking
            ("CreateBooking", create("t1"), _pack_paid("b1", _upo(4))),  # a replay: no new use
            ("CreateBooking", create("t2"), _pack_paid("b2", _upo(3))),  # used again
            ("UpdateBooking", UpdateBookingCommand("b2"), _pack_paid("b2", _upo(4))),  # cancel: +1
            ("CreateBooking", create("t3"), _pack_paid("b3", _upo(0, "u9", "PAYMENT_OPTION_UNLIMITED_USE"))),
        ],
    )
    assert [g.user_payment_option["current_count"] for g in got] == [5, 5, 5, 6, 0]


def test_upo_no_credit_on_cancel_drops_the_option_from_the_cancel_only() -> None:
    cancelled = answer(
        "upo-no-credit-on-cancel", "UpdateBooking", UpdateBookingCommand("b1"), _pack_paid("b1", _upo(5))
    )
    assert cancelled.user_payment_option is None and cancelled.booking is not None


# -- offers and virtual sessions --------------------------------------------------------------------------


def test_offer_info_wrong_id_names_another_offer() -> None:
    got = answer(
        "offer-info-wrong-id", "CreateBooking", create(offer_id="o1"), BookingResult(view(offer_id="o1"))
    )
    assert got.booking.offer_id not in ("", "o1")
    plain = answer("offer-info-wrong-id", "CreateBooking", create(), BookingResult(view()))
    assert plain.booking.offer_id == ""


def test_offer_unavailable_as_deal_uses_the_deprecated_cause() -> None:
    got = answer(
        "offer-unavailable-as-deal",
        "CreateBooking",
        create(offer_id="o1"),
        failed(FailureCause.OFFER_UNAVAILABLE),
    )
    assert got.failure.cause is FailureCause.DEAL_UNAVAILABLE


def test_offer_before_slot_blames_the_offer_for_a_missing_slot() -> None:
    slot_gone = failed(FailureCause.SLOT_UNAVAILABLE)
    got = answer("offer-before-slot", "CreateBooking", create(offer_id="o1"), slot_gone)
    assert got.failure.cause is FailureCause.OFFER_UNAVAILABLE
    assert answer("offer-before-slot", "CreateBooking", create(), slot_gone) == slot_gone


def test_virtual_url_relative_is_relative_in_every_answer() -> None:
    got = answers(
        "virtual-url-relative",
        [
            ("CreateBooking", create(), BookingResult(view(session=SESSION))),
            ("ListBookings", "u1", [view(session=SESSION)]),
        ],
    )
    assert got[0].booking.virtual_session == {**SESSION, "session_url": "/join/b1"}
    assert got[1][0].virtual_session == got[0].booking.virtual_session


def test_virtual_url_changes_on_replay_only() -> None:
    online = BookingResult(view(session=SESSION))
    got = answers("virtual-url-changes-on-replay", [("CreateBooking", create("t1"), online)] * 2)
    assert got[0].booking.virtual_session == SESSION
    assert got[1].booking.virtual_session["session_url"] != SESSION["session_url"]
    assert got[1].booking.virtual_session["session_url"].startswith("https://")


# -- the registry ------------------------------------------------------------------------------------------


def test_every_payment_profile_has_a_payment_case_over_both_transports() -> None:
    from mock_server.faults import PROFILES

    names = {n for n, cls in PROFILES.items() if cls.__module__ == "mock_server.faults.payments"}
    cased = {c.profile for c in CASES if c.payments}
    assert names == cased
    assert all(PROFILES[n].transports == ("rest", "grpc") for n in names)
