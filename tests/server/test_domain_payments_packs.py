"""Domain tests of packs and memberships (UserPaymentOption, §3.12.6, D42–D45, D53): buy, use, refuse, give
back. The world and request helpers are those of ``test_domain_payments``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_domain_payments import NOW, M, T, book, cancel, card, failed, kinds, make, prepaid, q, spots, usd

from mock_server.domain import BookingService, FailureCause, InvalidArgument, UpdateBookingCommand

TAX_ON_100 = 8_880_000  # 8.875 % of 100.00 USD, half-even to the cent


def buying(option_id: str, price: float, tax: float) -> dict[str, Any]:
    return prepaid(usd(price), usd(tax), payment_option_id=option_id)


def using(upo_id: str) -> dict[str, Any]:
    return {"payment_processed_by": "PROCESSED_BY_PARTNER", "user_payment_option_id": upo_id}


def buy_pack(svc: BookingService, user: str = "u1", token: str = "buy") -> dict[str, Any]:
    r = book(svc, q(), user=user, token=token, payment=buying("pack10", 100, 8.88))
    assert r.booking is not None and r.user_payment_option is not None, r
    return dict(r.user_payment_option)


def test_buying_a_pack_charges_its_price_and_returns_the_new_option() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=buying("pack10", 100, 8.88))
    assert r.booking is not None and r.booking.payment is not None
    upo = r.user_payment_option
    assert upo is not None
    assert upo["user_payment_option_id"].startswith("bc_upo_")
    assert (upo["type"], upo["original_count"], upo["current_count"], upo["payment_option_id"]) == (
        "PAYMENT_OPTION_MULTI_USE",
        10,
        9,
        "pack10",
    )
    info = r.booking.payment
    assert info["user_payment_option_id"] == upo["user_payment_option_id"]
    assert "payment_option_id" not in info  # a oneof with user_payment_option_id
    assert info["prepayment_status"] == "PREPAYMENT_PROVIDED" and info["payment_transaction_id"].startswith(
        "bc_pay_"
    )
    assert [(e["kind"], e["amount_micros"]) for e in svc.ledger()] == [("charge", 100_000_000 + TAX_ON_100)]
    replay = book(svc, q(), payment=buying("pack10", 100, 8.88))
    assert replay.user_payment_option == upo and len(svc.ledger()) == 1


def test_a_membership_bought_now_is_valid_for_its_duration_and_never_runs_down() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=buying("member", 150, 13.31))
    upo = r.user_payment_option
    assert upo is not None
    assert (upo["valid_start_time_sec"], upo["valid_end_time_sec"]) == (NOW, NOW + 30 * 86_400)
    used = book(
        svc, q(start=T + 3600), token="t2", payment=using(upo["user_payment_option_id"]), card_token=None
    )
    assert used.user_payment_option is not None
    assert used.user_payment_option["current_count"] == upo["current_count"]
    assert used.booking is not None
    c = cancel(svc, used.booking.booking_id)  # D45: unlimited: no use to give back, no option returned
    assert c.booking is not None and c.user_payment_option is None
    assert c.booking.prepayment_status == "PREPAYMENT_PROVIDED"


def test_using_a_pack_counts_down_and_a_cancel_gives_the_use_back() -> None:
    svc, _ = make()
    upo_id = buy_pack(svc)["user_payment_option_id"]
    used = book(svc, q(start=T + 3600), token="t2", payment=using(upo_id), card_token=None)
    assert used.booking is not None and used.booking.payment is not None
    assert used.user_payment_option is not None and used.user_payment_option["current_count"] == 8
    assert used.booking.payment["user_payment_option_id"] == upo_id
    assert used.booking.prepayment_status == "PREPAYMENT_PROVIDED"
    assert used.booking.payment["payment_transaction_id"].startswith("bc_pay_")
    assert kinds(svc) == ["charge"]  # a use moves no money
    c = cancel(svc, used.booking.booking_id)
    assert c.user_payment_option is not None and c.user_payment_option["current_count"] == 9
    assert c.user_payment_option["user_payment_option_id"] == upo_id
    assert c.booking is not None and c.booking.prepayment_status == "PREPAYMENT_CREDITED"
    assert svc.get_booking(used.booking.booking_id).prepayment_status == "PREPAYMENT_CREDITED"
    assert kinds(svc) == ["charge"] and spots(svc, start=T + 3600) == 1


def test_a_cancelled_single_use_comes_back_as_a_new_option() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=buying("drop-in", 20, 1.78))
    upo = r.user_payment_option
    assert upo is not None and (upo["original_count"], upo["current_count"]) == (1, 0)
    assert r.booking is not None
    c = cancel(svc, r.booking.booking_id)
    back = c.user_payment_option
    assert back is not None and back["user_payment_option_id"] != upo["user_payment_option_id"]
    assert (back["type"], back["current_count"], back["payment_option_id"]) == (
        "PAYMENT_OPTION_SINGLE_USE",
        1,
        "drop-in",
    )
    assert c.booking is not None and c.booking.payment is not None
    assert c.booking.payment["user_payment_option_id"] == back["user_payment_option_id"]
    assert c.booking.prepayment_status == "PREPAYMENT_CREDITED"
    assert kinds(svc) == ["charge"]  # credited, not refunded


def test_unusable_options_are_refused_and_change_no_count() -> None:
    svc, _ = make()
    upo_id = buy_pack(svc)["user_payment_option_id"]
    unknown = book(svc, q(start=T + 3600), token="t2", payment=using("bc_upo_nope"), card_token=None)
    failed(unknown, FailureCause.PAYMENT_OPTION_NOT_VALID)
    theirs = book(svc, q(), user="u2", token="t3", payment=using(upo_id), card_token=None)
    failed(theirs, FailureCause.USER_CANNOT_USE_PAYMENT_OPTION)
    not_listed = book(svc, q("strict"), user="u1", token="t4", payment=using(upo_id), card_token=None)
    failed(not_listed, FailureCause.PAYMENT_OPTION_NOT_VALID)
    empty = svc.seed_user_payment_option("u3", M, "pack10", current_count=0)
    no_uses = book(
        svc, q(), user="u3", token="t5", payment=using(empty["user_payment_option_id"]), card_token=None
    )
    assert "no uses left" in failed(no_uses, FailureCause.PAYMENT_OPTION_NOT_VALID)
    expired = svc.seed_user_payment_option("u4", M, "pack10", valid_start_sec=NOW - 100, valid_end_sec=NOW)
    late = book(
        svc, q(), user="u4", token="t6", payment=using(expired["user_payment_option_id"]), card_token=None
    )
    assert "expired" in failed(late, FailureCause.PAYMENT_OPTION_NOT_VALID)
    [mine] = svc.user_payment_options("u1")
    assert mine["current_count"] == 9 and spots(svc) == 1


def test_purchase_restrictions_refuse_the_user_not_the_option() -> None:
    svc, _ = make()
    assert book(svc, q("free"), user="regular", token="visit", payment=None).booking is not None
    intro = book(svc, q(), user="regular", token="t1", payment=buying("intro", 30, 2.66))
    failed(intro, FailureCause.USER_CANNOT_USE_PAYMENT_OPTION)
    newcomer = book(svc, q(), user="new", token="t2", payment=buying("intro", 30, 2.66))
    assert newcomer.user_payment_option is not None
    assert book(svc, q(start=T + 3600), user="new", token="t3", payment=buying("once", 40, 3.55)).booking
    cancel_first = svc.list_bookings("new")[1].booking_id
    cancel(svc, cancel_first)
    again = book(svc, q(start=T + 3600), user="new", token="t4", payment=buying("once", 40, 3.55))
    failed(again, FailureCause.USER_CANNOT_USE_PAYMENT_OPTION)
    unknown = book(svc, q(), user="y", token="t5", payment=buying("nope", 1, 0.09))
    failed(unknown, FailureCause.PAYMENT_OPTION_NOT_VALID)
    wrong_price = book(svc, q(), user="x", token="t6", payment=buying("pack10", 90, 7.99))
    assert "expected 100.00 USD got 90.00 USD" in failed(wrong_price, FailureCause.PAYMENT_ERROR)
    assert len(svc.user_payment_options("x")) == 0


def test_a_failed_payment_while_buying_creates_no_option() -> None:
    svc, _ = make()
    r = book(svc, q(), payment=buying("pack10", 100, 8.88), card_token=card("0002"))
    failed(r, FailureCause.PAYMENT_ERROR_CARD_DECLINED)
    assert svc.user_payment_options() == [] and svc.ledger() == [] and spots(svc) == 2


def test_a_pack_booking_moves_freely_and_keeps_its_payment() -> None:
    svc, _ = make()
    seeded = svc.seed_user_payment_option("u1", M, "pack10")
    used = book(svc, q(), token="t2", payment=using(seeded["user_payment_option_id"]), card_token=None)
    assert used.booking is not None
    moved = svc.update_booking(UpdateBookingCommand(used.booking.booking_id, start_sec=T + 3600))
    assert moved.booking is not None and moved.booking.payment == used.booking.payment
    assert moved.user_payment_option is None and svc.user_payment_options("u1")[0]["current_count"] == 9


def test_seeding_checks_the_merchant_feed() -> None:
    svc, _ = make()
    seeded = svc.seed_user_payment_option("u9", M, "pack10", user_payment_option_id="fixture-1")
    assert seeded["user_payment_option_id"] == "fixture-1" and seeded["current_count"] == 10
    with pytest.raises(InvalidArgument):
        svc.seed_user_payment_option("u9", M, "pack10", user_payment_option_id="fixture-1")
    with pytest.raises(InvalidArgument):
        svc.seed_user_payment_option("u9", M, "nope")
    bare, _ = make(with_catalogue=False)
    with pytest.raises(InvalidArgument):
        bare.seed_user_payment_option("u9", M, "pack10")
    used = book(svc, q(), user="u9", token="t1", payment=using("fixture-1"), card_token=None)
    assert used.user_payment_option is not None and used.user_payment_option["current_count"] == 9


OUTCOME_CARDS = ("4242", "0002", "9995", "0119", "3063")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["yoga", "strict", "spa", "dine", "online", "async", "tasting"]),
            st.sampled_from(OUTCOME_CARDS + ("AMEX",)),
            st.sampled_from(["quoted", "cheap", "none", "pack10", "intro", "use"]),
            st.sampled_from(["", "happy-hour", "nope"]),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_failed_create_booking_leaves_no_trace(requests: list[tuple[str, str, str, str, int]]) -> None:
    """D53 over random paid requests: a failure changes no ledger, spot, pack count or token record."""
    svc, _ = make()
    seeded = svc.seed_user_payment_option("u0", M, "pack10")["user_payment_option_id"]
    for n, (service, last4, how, offer, user) in enumerate(requests):
        party = 2 if service in ("dine", "tasting") else 0
        network = "AMEX" if last4 == "AMEX" else "VISA"
        payment: dict[str, Any] | None = {
            "quoted": None,
            "cheap": prepaid(usd(1)),
            "none": None,
            "pack10": buying("pack10", 100, 8.88),
            "intro": buying("intro", 30, 2.66),
            "use": using(seeded),
        }[how]
        if how == "quoted" and service not in ("spa", "dine"):
            cat = svc.config.catalogue
            quote = cat.quote(M, service, max(party, 1)) if cat is not None else None
            payment = prepaid(quote.price, quote.tax) if quote is not None else None
        before = (
            svc.ledger(),
            svc.user_payment_options(),
            [spots(svc, s) for s in ("yoga", "spa", "online")],
        )
        r = book(
            svc,
            q(service, party=party),
            user=f"u{user}",
            token=f"t{n}",
            payment=payment,
            card_token=card("0005" if network == "AMEX" else last4, network),
            offer_id=offer,
        )
        after = (svc.ledger(), svc.user_payment_options(), [spots(svc, s) for s in ("yoga", "spa", "online")])
        if r.failure is not None:
            assert after == before, r.failure
            assert book(svc, q("free"), user="probe", token=f"t{n}", payment=None).booking is not None
            cancel(svc, svc.list_bookings("probe")[-1].booking_id)
