"""The payment, offer and virtual-session scenarios (``scenarios/payments.yaml``; spec §3.12, §3.13, D32-D54).

Python scenarios, because their requests are built from the feed directory's catalogue (the price, tax and
payment option the partner expects, D46) and their tokens come from the run's token sources (D48), fresh
for every request. Each registers what it needs (``needs``: unmet, the scenario is skipped as not claimed,
never failed) and the money kinds of its slots (``pay``; see :mod:`harness.inventory`). Every booking made
is recorded by the run like any other and cancelled in the cleanup.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from booking_protocol.commerce import (
    MULTI_USE,
    UNLIMITED_USE,
    Catalogue,
    Money,
    PaymentOptionTerms,
    Quote,
    ServiceTerms,
    minor_unit_micros,
)
from booking_protocol.commercefeed import OwnedPaymentOption
from booking_protocol.feed import FeedSlot
from harness.checks import booking_id, failure_cause, is_booking
from harness.normalize import dig
from harness.paytokens import TokenUnavailable
from harness.scenario_base import ScenarioStopped, python_scenario
from harness.templates import slot_json

PARTNER = "PROCESSED_BY_PARTNER"
PAYMENT = ("payments",)
PREPAID = {"a": "prepaid"}


async def _token(run: Any, outcome: str) -> str:
    """A fresh token for ``outcome``; a missing one skips the scenario (not claimed, D48)."""
    if run.config.payments.missing:
        raise ScenarioStopped(run.config.payments.missing, skip=True)
    try:
        return str(await run.config.payments.token(outcome))
    except TokenUnavailable as exc:
        raise ScenarioStopped(str(exc), skip=True) from None


def _quote(catalogue: Catalogue, s: FeedSlot) -> Quote:
    quote = catalogue.quote(s.merchant_id, s.service_id, s.party_size)
    if quote is None:
        raise ScenarioStopped(f"stopped: the services feed gives {s.service_id} no price")
    return quote


def _processing(catalogue: Catalogue, s: FeedSlot, token: str) -> dict[str, Any]:
    """``payment_processing_parameters`` as Google sends them: the token and the merchant's config (P2)."""
    params: dict[str, Any] = {"unparsed_payment_method_token": token}
    tokenization = dict(catalogue.merchant(s.merchant_id).tokenization_parameter)
    if tokenization:
        params["tokenization_config"] = {"tokenization_parameter": tokenization}
    return params


def _prepaid_payment(catalogue: Catalogue, s: FeedSlot, quote: Quote | None = None) -> dict[str, Any]:
    """PaymentInformation of a prepaid booking (PROCESSED_BY_PARTNER, no transaction id, D46 price)."""
    return {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_processed_by": PARTNER,
        **(quote or _quote(catalogue, s)).as_payment_fields(),
    }


async def _payment_for(run: Any, s: FeedSlot, outcome: str = "approved") -> dict[str, Any]:
    """The payment fields a booking of ``s`` needs (none when its service takes no payment): prepaid →
    price and token; deposit / no-show fee / card required → the charge's terms and a token (D34)."""
    catalogue: Catalogue = run.config.catalogue
    terms = catalogue.service(s.merchant_id, s.service_id)
    if terms is None or not terms.takes_payment:
        return {}
    if terms.prepayment_required:
        payment = _prepaid_payment(catalogue, s)
    else:
        payment = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED", "payment_processed_by": PARTNER}
        if terms.deposit is not None:
            payment["deposit"] = terms.deposit.as_deposit(s.party_size)
        if terms.no_show_fee is not None:
            payment["no_show_fee"] = terms.no_show_fee.as_no_show_fee()
    token = await _token(run, outcome)
    return {"payment_information": payment, "payment_processing_parameters": _processing(catalogue, s, token)}


def _body(run: Any, slot: str, step: str, user: str, **extra: Any) -> dict[str, Any]:
    return {
        "slot": slot_json(run.slot(slot)),
        "user_information": run.user(user),
        "idempotency_token": run.token(step),
        **extra,
    }


async def _paid(run: Any, slot: str, step: str, outcome: str, user: str = "payer") -> dict[str, Any]:
    """A prepaid CreateBooking of ``slot`` paying with a token for ``outcome``."""
    s = run.slot(slot)
    token = await _token(run, outcome)
    payment = _prepaid_payment(run.config.catalogue, s)
    return _body(
        run,
        slot,
        step,
        user,
        payment_information=payment,
        payment_processing_parameters=_processing(run.config.catalogue, s, token),
    )


async def _book(run: Any, step: str, body: dict[str, Any], slot: str, user: str) -> None:
    """CreateBooking that must succeed; the scenario stops when it does not (the deviation is reported)."""
    await run.call(step, "CreateBooking", body)
    run.expect(step, "booking-created", slot=slot, user=user)
    if not is_booking(run.step_reply(step)):
        raise ScenarioStopped(f"stopped: the booking of step {step!r} failed")


async def _cancel(run: Any, step: str, of: str) -> None:
    bid = booking_id(run.step_reply(of))
    await run.call(step, "UpdateBooking", {"booking": {"booking_id": bid, "status": "CANCELED"}})
    run.expect(step, "cancelled", step=of)


async def _payment_state(run: Any, tag: str, of: str) -> None:
    """GetBookingStatus and ListBookings after step ``of`` agree with its payment state (D41)."""
    profile = run.config.profile
    if profile.get_booking_status:
        await run.call(f"status-{tag}", "GetBookingStatus", {"booking_id": booking_id(run.step_reply(of))})
        run.expect(f"status-{tag}", "payment-status", step=of)
    if profile.list_bookings:
        await run.call(f"list-{tag}", "ListBookings", {"user_id": run.user("payer")["user_id"]})
        run.expect(f"list-{tag}", "list-payment-status", step=of)


#: how far the harness and the target's clocks may disagree (plus the cancel call's own time): a cancel this
#: close to a refund threshold of the feed is not judged on whether a refund was due
CLOCK_MARGIN_SEC = 600


def refund_due(terms: ServiceTerms | None, start_sec: int, now: float) -> bool | None:
    """Does the feed grant a refund (any percent) to a cancel at ``now`` of a booking starting at
    ``start_sec``? None when the harness cannot tell: no terms, a slot already started, or a cancel within
    :data:`CLOCK_MARGIN_SEC` of a threshold (the target's clock may put it on the other side)."""
    notice = int(start_sec - now)
    if terms is None or notice <= CLOCK_MARGIN_SEC:
        return None
    early = terms.refund_percent(notice + CLOCK_MARGIN_SEC) > 0
    late = terms.refund_percent(notice - CLOCK_MARGIN_SEC) > 0
    return early if early == late else None


@python_scenario("payments-prepaid", needs=(*PAYMENT, "kind:prepaid"), pay=PREPAID)
async def prepaid_lifecycle(run: Any) -> None:
    """Prepaid booking → replay under its token → status and list → cancel (refund) → status and list."""
    body = await _paid(run, "a", "book", "approved")
    await _book(run, "book", body, "a", "payer")
    run.expect("book", "paid-booking", prepaid=True)
    await run.call("replay", "CreateBooking", body)
    run.expect("replay", "paid-replay", step="book")
    await _payment_state(run, "paid", "book")
    s = run.slot("a")
    due = refund_due(run.config.catalogue.service(s.merchant_id, s.service_id), s.start_sec, run.now())
    await _cancel(run, "cancel", "book")
    run.expect("cancel", "refund-on-cancel", refund_due=due)
    await _payment_state(run, "cancelled", "cancel")


@python_scenario(
    "payments-reschedule", needs=(*PAYMENT, "kind:prepaid"), pay={"a": "prepaid", "b": "prepaid"}
)
async def reschedule(run: Any) -> None:
    """A prepaid booking moved to another start of its service keeps its payment (D54): the same status
    and transaction id, whatever the price rule of the move (a refusal is accepted)."""
    body = await _paid(run, "a", "book", "approved")
    await _book(run, "book", body, "a", "payer")
    a, b = run.slot("a"), run.slot("b")
    catalogue: Catalogue = run.config.catalogue
    same = catalogue.quote(a.merchant_id, a.service_id, a.party_size) == catalogue.quote(
        b.merchant_id, b.service_id, b.party_size
    )
    new_time = {"start_sec": str(b.start_sec), "duration_sec": str(b.duration_sec)}
    await run.call(
        "move",
        "UpdateBooking",
        {"booking": {"booking_id": booking_id(run.step_reply("book")), "slot": new_time}},
    )
    run.expect("move", "paid-reschedule", step="book", same_price=same)


@python_scenario("payments-deposit", needs=(*PAYMENT, "kind:deposit"), pay={"a": "deposit"})
async def deposit(run: Any) -> None:
    """A deposit booking: the token holds the deposit, nothing is prepaid (D34); the deposit is echoed."""
    s = run.slot("a")
    body = _body(run, "a", "book", "payer", **await _payment_for(run, s))
    await _book(run, "book", body, "a", "payer")
    run.expect("book", "paid-booking", prepaid=False)
    await _payment_state(run, "held", "book")


async def _spots(run: Any, step: str, slot: str, before: str = "", after: tuple[str, ...] = ()) -> None:
    """CheckAvailability of ``slot`` when the target claims it (its count shows one spot kept by a failed
    payment, D53); with ``before``, judged against that step's count after the failed steps ``after``."""
    if run.config.profile.availability not in ("check", "both"):
        return
    await run.call(step, "CheckAvailability", {"slot": slot_json(run.slot(slot))})
    if before:
        run.expect(step, "spots-unchanged", before=before, after=list(after))


#: failing outcomes of the declined scenario: (outcome, step, check)
DECLINES = (
    ("declined", "declined", "card-declined"),
    ("insufficient_funds", "insufficient-funds", "card-declined"),
    ("processing_error", "processing-error", "processing-error"),
)


@python_scenario("payments-declined", needs=(*PAYMENT, "kind:prepaid", "token:declined"), pay=PREPAID)
async def declined(run: Any) -> None:
    """Each failing fixture is refused (D37); then the same slot is still bookable (D53)."""
    tried: list[str] = []
    await _spots(run, "spots-before", "a")
    for outcome, step, name in DECLINES:
        if run.config.payments.has(outcome):
            await run.call(step, "CreateBooking", await _paid(run, "a", step, outcome))
            run.expect(step, name)
            tried.append(step)
    await _spots(run, "spots-after", "a", "spots-before", tuple(tried))
    await run.call("book-after", "CreateBooking", await _paid(run, "a", "book-after", "approved"))
    run.expect("book-after", "still-bookable", after=tried)


@python_scenario(
    "payments-card-type",
    needs=(*PAYMENT, "token:rejected_network", "rejected-card-type"),
    pay={"a": "prepaid+rejects:{rejected}"},
)
async def card_type(run: Any) -> None:
    """A card of a network the merchant does not accept: CARD_TYPE_REJECTED naming it (D37); no spot taken."""
    card = run.config.payments.rejected_card_type
    await _spots(run, "spots-before", "a")
    await run.call("rejected", "CreateBooking", await _paid(run, "a", "rejected", "rejected_network"))
    run.expect("rejected", "card-type-rejected", card_type=card)
    await _spots(run, "spots-after", "a", "spots-before", ("rejected",))
    await run.call("book-after", "CreateBooking", await _paid(run, "a", "book-after", "approved"))
    run.expect("book-after", "still-bookable", after=["rejected"])


@python_scenario("payments-3ds1", needs=(*PAYMENT, "kind:prepaid", "token:requires_3ds1"), pay=PREPAID)
async def threeds1(run: Any) -> None:
    """A 3DS1 card: the challenge's four parameters, then the retry with pa_response books (D38)."""
    body = await _paid(run, "a", "challenge", "requires_3ds1")
    reply = await run.call("challenge", "CreateBooking", body)
    run.expect("challenge", "threeds1-challenge")
    cause = failure_cause(reply)
    if is_booking(reply) or cause != "PAYMENT_REQUIRES_3DS1":
        what = "booked without a challenge" if is_booking(reply) else f"answered {cause or reply.status}"
        raise ScenarioStopped(
            f"the target {what} for the 3DS1 test card: asking for 3DS1 is optional (D38), nothing to judge",
            skip=True,
        )
    pa_response = run.config.payments.pa_response_pass
    if not pa_response:
        raise ScenarioStopped(
            "3DS1 retry not run (inconclusive, not a failure): --payment-fixtures gives no "
            "three_ds1.pa_response_pass for this target's test ACS (D38)",
            skip=True,
        )
    md = str(dig(reply.data, "booking_failure.payment_failure.threeds1_parameters.md_merchant_data") or "")
    retry = dict(body, idempotency_token=run.token("retry"))
    retry["payment_information"] = {**body["payment_information"], "pa_response": pa_response}
    if md:
        retry["payment_information"]["md_merchant_data"] = md
    await run.call("retry", "CreateBooking", retry)
    run.expect("retry", "threeds1-retry", step="challenge")
    run.expect("retry", "paid-booking", prepaid=True)


@python_scenario("payments-price-mismatch", needs=(*PAYMENT, "kind:prepaid"), pay=PREPAID)
async def price_mismatch(run: Any) -> None:
    """A price one minor unit above the feed's (a stale feed, D35); then the right price still books."""
    s = run.slot("a")
    quote = _quote(run.config.catalogue, s)
    price = quote.price
    more = Money(price.micros + minor_unit_micros(price.currency), price.currency)
    wrong = Quote(more, quote.tax, quote.fees)
    body = await _paid(run, "a", "mismatch", "approved")
    body["payment_information"] = _prepaid_payment(run.config.catalogue, s, wrong)
    await _spots(run, "spots-before", "a")
    await run.call("mismatch", "CreateBooking", body)
    run.expect("mismatch", "price-mismatch")
    if is_booking(run.step_reply("mismatch")):
        return
    await _spots(run, "spots-after", "a", "spots-before", ("mismatch",))
    await run.call("book-after", "CreateBooking", await _paid(run, "a", "book-after", "approved"))
    run.expect("book-after", "still-bookable", after=["mismatch"])


def _pack(catalogue: Catalogue, s: FeedSlot) -> Any:
    terms = catalogue.service(s.merchant_id, s.service_id)
    ids = set(terms.payment_option_ids) if terms else set()
    for option in catalogue.merchant(s.merchant_id).payment_options:
        if option.type == MULTI_USE and option.payment_option_id in ids:
            return option
    raise ScenarioStopped(f"stopped: no multi-use pack pays for {s.service_id}")


@python_scenario(
    "payments-pack", needs=(*PAYMENT, "kind:pack"), pay={"a": "pack", "b": "pack"}, differ={"b": "start-day"}
)
async def pack(run: Any) -> None:
    """Buy a pack with a booking (D43), pay a second booking with it (D42), cancel that one: the use comes
    back (D45)."""
    catalogue: Catalogue = run.config.catalogue
    s = run.slot("a")
    option = _pack(catalogue, s)
    quote = catalogue.quote_option(s.merchant_id, option.payment_option_id)
    token = await _token(run, "approved")
    buy = _body(
        run,
        "a",
        "buy",
        "payer",
        payment_information={
            "prepayment_status": "PREPAYMENT_PROVIDED",
            "payment_processed_by": PARTNER,
            "payment_option_id": option.payment_option_id,
            **(quote.as_payment_fields() if quote else {}),
        },
        payment_processing_parameters=_processing(catalogue, s, token),
    )
    await _book(run, "buy", buy, "a", "payer")
    sold = {"payment_option_id": option.payment_option_id, "type": option.type}
    run.expect("buy", "upo-bought", sessions=option.session_count, **sold)
    upo_id = run.step_reply("buy").data.get("user_payment_option", {}).get("user_payment_option_id")
    if not upo_id:
        raise ScenarioStopped("stopped: the purchase returned no user_payment_option to use")
    use = _body(
        run,
        "b",
        "use",
        "payer",
        payment_information={"payment_processed_by": PARTNER, "user_payment_option_id": upo_id},
    )
    await _book(run, "use", use, "b", "payer")
    run.expect("use", "upo-used", step="buy")
    await _cancel(run, "cancel-use", "use")
    run.expect("cancel-use", "upo-credited", step="use")


#: the BookingFailure causes of an option that cannot pay (D44)
UNUSABLE = ("PAYMENT_OPTION_NOT_VALID", "USER_CANNOT_USE_PAYMENT_OPTION")


def _owned(run: Any, s: FeedSlot) -> tuple[OwnedPaymentOption, PaymentOptionTerms]:
    """The first pack the fixtures say a test user owns that pays for ``s`` (an entry without merchant_id
    counts for every merchant selling its option, ``{merchant_id}`` in its id replaced); none: not claimed."""
    catalogue: Catalogue = run.config.catalogue
    terms = catalogue.service(s.merchant_id, s.service_id)
    listed = set(terms.payment_option_ids) if terms else set()
    fixtures = run.config.payments.fixtures
    for o in fixtures.user_payment_options if fixtures is not None else ():
        option = catalogue.payment_option(s.merchant_id, o.payment_option_id)
        if o.merchant_id in ("", s.merchant_id) and option is not None and o.payment_option_id in listed:
            upo_id = o.user_payment_option_id.replace("{merchant_id}", s.merchant_id)
            return replace(o, user_payment_option_id=upo_id, merchant_id=s.merchant_id), option
    raise ScenarioStopped(
        f"owned packs not claimed: the payment fixtures list no user_payment_options entry for a pack of "
        f"{s.merchant_id} that pays for {s.service_id} (D42/D44)",
        skip=True,
    )


def _with_owned(run: Any, slot: str, step: str, user: dict[str, Any], upo_id: str) -> dict[str, Any]:
    return {
        "slot": slot_json(run.slot(slot)),
        "user_information": user,
        "idempotency_token": run.token(step),
        "payment_information": {"payment_processed_by": PARTNER, "user_payment_option_id": upo_id},
    }


@python_scenario(
    "payments-owned-pack",
    needs=(*PAYMENT, "kind:pack"),
    pay={"a": "pack", "b": "pack"},
    differ={"b": "start-day"},
)
async def owned_pack(run: Any) -> None:
    """A pack the user already owns pays for a booking (D42); it cannot pay for another user's booking,
    nor once it shows no use left (D44); the cancel gives the use back, so the refusals took none (D53)."""
    if run.config.payments.missing:
        raise ScenarioStopped(run.config.payments.missing, skip=True)
    owned, option = _owned(run, run.slot("a"))
    upo_id, owner = owned.user_payment_option_id, dict(run.user("owner"), user_id=owned.user_id)
    reply = await run.call("use", "CreateBooking", _with_owned(run, "a", "use", owner, upo_id))
    if failure_cause(reply) in UNUSABLE:
        raise ScenarioStopped(
            f"the target refused the owned pack {upo_id!r} of user {owned.user_id!r} "
            f"({failure_cause(reply)}): is the fixture still valid at the target, with a use left?",
            skip=True,
        )
    run.expect("use", "booking-created", slot="a")
    if not is_booking(reply):
        raise ScenarioStopped("stopped: the booking paid with the owned pack failed")
    run.expect("use", "upo-owned-used", payment_option_id=owned.payment_option_id, type=option.type,
               sessions=option.session_count)  # fmt: skip
    stranger = run.user("stranger")
    await run.call("foreign", "CreateBooking", _with_owned(run, "b", "foreign", stranger, upo_id))
    run.expect("foreign", "unusable-option", why="another user's")
    upo = reply.data.get("user_payment_option")
    used_up = isinstance(upo, dict) and bool(upo) and not upo.get("current_count")  # proto3: 0 is absent
    if option.type != UNLIMITED_USE and used_up:
        await run.call("used-up", "CreateBooking", _with_owned(run, "b", "used-up", owner, upo_id))
        run.expect("used-up", "unusable-option", why="no uses left")
    await _cancel(run, "cancel-use", "use")
    if option.type != UNLIMITED_USE:
        run.expect("cancel-use", "upo-credited", step="use")


#: an offer id no partner has (O4)
NO_SUCH_OFFER = "bookcheck-no-such-offer"


@python_scenario("offers-flow", needs=("offers",), pay={"a": "offer+free|offer", "b": "free|any"})
async def offers(run: Any) -> None:
    """An applicable offer is applied and reported (O3); an unknown one gets OFFER_UNAVAILABLE and takes
    nothing (O4, D53); a slot that does not exist wins over the offer (O5)."""
    s = run.slot("a")
    offer = next(
        o.offer_id
        for o in run.config.catalogue.offers()
        if o.applies_to(s.merchant_id, s.service_id, s.start_sec)
    )
    with_offer = _body(run, "a", "with-offer", "guest", offer_id=offer, **await _payment_for(run, s))
    await _book(run, "with-offer", with_offer, "a", "guest")
    run.expect("with-offer", "offer-applied", offer_id=offer)
    b = run.slot("b")
    no_such = f"{NO_SUCH_OFFER}-{run.token('offer')[-8:]}"
    unknown = _body(run, "b", "unknown-offer", "guest2", offer_id=no_such, **await _payment_for(run, b))
    await run.call("unknown-offer", "CreateBooking", unknown)
    run.expect("unknown-offer", "offer-unavailable")
    plain = _body(run, "b", "no-offer", "guest2", **await _payment_for(run, b))
    await run.call("no-offer", "CreateBooking", plain)
    run.expect("no-offer", "still-bookable", after=["unknown-offer"])
    run.expect("no-offer", "offer-applied", offer_id=None)
    gone = _body(run, "a", "no-slot", "guest3", offer_id=offer, **await _payment_for(run, s))
    gone["slot"] = slot_json(s, start_sec=run.unknown_start("a"))
    await run.call("no-slot", "CreateBooking", gone)
    run.expect("no-slot", "offer-slot-precedence")


@python_scenario("virtual-session", needs=("kind:online",), pay={"a": "online+free|online"})
async def virtual(run: Any) -> None:
    """An online service's booking: its session info's shape, the same on replay and in ListBookings (D50)."""
    s = run.slot("a")
    body = _body(run, "a", "book", "attendee", **await _payment_for(run, s))
    await _book(run, "book", body, "a", "attendee")
    run.expect("book", "virtual-session")
    await run.call("replay", "CreateBooking", body)
    run.expect("replay", "virtual-stable", step="book")
    if run.config.profile.list_bookings:
        await run.call("list", "ListBookings", {"user_id": run.user("attendee")["user_id"]})
        run.expect("list", "virtual-stable", step="book")
