"""Checks of payments (``scenarios/payments.yaml``, payments/*; spec §3.12, D32-D54); offers and virtual
sessions are :mod:`harness.checks.offers` and :mod:`harness.checks.virtual`.

Each check judges the whole of its rule as §11 column 3 states it: every behaviour the spec leaves open is
accepted (a PAYMENT_ERROR for a declined card is info, a cancel that grants no refund may stay PROVIDED,
absent virtual-session info is info), and only what the column calls a deviation fails. Money itself is not
visible over the wire (§3.12.8): these checks read payment_information, failures, pack counts and
availability, never a ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from harness.checks.core import (
    CheckContext,
    Verdict,
    booking_id,
    check,
    describe,
    failure_cause,
    is_booking,
    verdict,
)
from harness.normalize import dig
from harness.target_base import Reply

#: PrepaymentStatus values that mean "not provided" (UNSPECIFIED is NOT_PROVIDED, §2.6)
NOT_PROVIDED = ("PREPAYMENT_NOT_PROVIDED", "PREPAYMENT_STATUS_UNSPECIFIED")
PROVIDED, REFUNDED, CREDITED = "PREPAYMENT_PROVIDED", "PREPAYMENT_REFUNDED", "PREPAYMENT_CREDITED"
#: latency budget of a CreateBooking that carries a payment (D47), and its rule
PAID_BUDGET_MS = 15_000.0
PAID_LATENCY_RULE = "payments/latency-with-payment"
#: the price fields a paid booking echoes (D33)
PRICE_FIELDS = ("price", "tax_amount", "fees")


def payment_of(data: Any, key: str = "booking") -> dict[str, Any]:
    """``<key>.payment_information`` of a normalised body ({} when absent)."""
    got = dig(data if isinstance(data, dict) else {}, f"{key}.payment_information")
    return got if isinstance(got, dict) else {}


def status_of(payment: dict[str, Any]) -> str:
    """The prepayment status, UNSPECIFIED read as NOT_PROVIDED (§2.6)."""
    status = str(payment.get("prepayment_status") or "PREPAYMENT_STATUS_UNSPECIFIED")
    return "PREPAYMENT_NOT_PROVIDED" if status in NOT_PROVIDED else status


def amount(price: Any) -> tuple[int, str] | None:
    """(micros, currency) of a Price, absent fields as proto3 defaults; None for no Price at all."""
    if not isinstance(price, dict) or not price:
        return None
    return int(price.get("price_micros") or 0), str(price.get("currency_code") or "")


def carries_payment(body: Any) -> bool:
    """D47: a CreateBooking with a token, a payment_option_id or a user_payment_option_id."""
    if not isinstance(body, dict):
        return False
    token = dig(body, "payment_processing_parameters.unparsed_payment_method_token")
    pay = body.get("payment_information") or {}
    return bool(token) or bool(pay.get("payment_option_id")) or bool(pay.get("user_payment_option_id"))


def paid_latency(reply: Reply) -> Verdict:
    """The 15 s budget of a CreateBooking that carries a payment (D47), in place of the 4 s one."""
    return verdict(
        PAID_LATENCY_RULE,
        reply.elapsed_ms <= PAID_BUDGET_MS,
        "a CreateBooking with payment answers within 15 s",
        expected=f"<= {PAID_BUDGET_MS:.0f} ms",
        actual=f"{reply.elapsed_ms:.0f} ms",
        evidence=[reply],
    )


def payment_budgets(verdicts: list[Verdict], reply: Reply, body: Any) -> list[Verdict]:
    """D47 applied to the automatic latency verdicts of one reply: a CreateBooking that carries a payment
    has 15 s (payments/latency-with-payment instead of latency/create-booking); a cancel that refunds or
    credits keeps the 4 s budget, but between 4 and 15 s it is not held against the server (D47 asks only
    for a warning there; the note says so)."""
    op = reply.exchange.operation
    if op == "CreateBooking" and carries_payment(body):
        return [paid_latency(reply) if v.rule_id == "latency/create-booking" else v for v in verdicts]
    refunded = status_of(payment_of(reply.data)) in (REFUNDED, CREDITED)
    if op != "UpdateBooking" or not refunded or reply.elapsed_ms > PAID_BUDGET_MS:
        return verdicts
    return [
        verdict(
            v.rule_id,
            True,
            f"{v.message} (note: a cancel that refunds took {reply.elapsed_ms:.0f} ms, within the 15 s D47 "
            "allows with a warning)",
            v.expected,
            evidence=[reply],
        )
        if v.rule_id == "latency/update-booking" and not v.ok
        else v
        for v in verdicts
    ]


def _request_payment(reply: Reply) -> dict[str, Any]:
    body = reply.exchange.request.body if reply.exchange.request is not None else None
    pay = body.get("payment_information") if isinstance(body, dict) else None
    return pay if isinstance(pay, dict) else {}


@check("paid-latency", rules=(PAID_LATENCY_RULE,))
def paid_latency_check(ctx: CheckContext) -> Iterable[Verdict]:
    """The latency budget of the step's paid CreateBookings (the runner applies it to every one)."""
    for r in ctx.replies:
        if r.status is not None:
            yield paid_latency(r)


# ------------------------------------------------------------------------------------------------------
# a paid booking (D32, D33, D34)
# ------------------------------------------------------------------------------------------------------


@check(
    "paid-booking",
    rules=(
        "payments/processed-by",
        "payments/prepaid-status",
        "payments/transaction-id",
        "payments/price-echo",
    ),
)
def paid_booking(ctx: CheckContext, prepaid: bool = True) -> Iterable[Verdict]:
    """The payment_information of the step's booking (judged only when a booking was made: whether it
    should have been is create-booking/succeeds). ``prepaid``: a full prepayment (PROVIDED expected);
    otherwise a deposit or a stored card (NOT_PROVIDED expected, PROVIDED accepted as info, D34)."""
    good = [r for r in ctx.replies if is_booking(r)]
    if not good:
        return
    r = good[0]
    got, sent = payment_of(r.data), _request_payment(r)
    yield _processed_by(r, got, sent)
    yield _prepaid_status(r, got, prepaid)
    if prepaid:
        yield _transaction_id(r, got)
    yield _price_echo(r, got, sent)


def _processed_by(r: Reply, got: dict[str, Any], sent: dict[str, Any]) -> Verdict:
    want = sent.get("payment_processed_by") or "PAYMENT_PROCESSED_BY_UNSPECIFIED"
    have = got.get("payment_processed_by") or "PAYMENT_PROCESSED_BY_UNSPECIFIED"
    return verdict(
        "payments/processed-by",
        have == want,
        "the booking reports the payment processor the request named",
        expected=f"payment_processed_by {want}",
        actual=None if have == want else f"payment_processed_by {have}",
        evidence=[r],
    )


def _prepaid_status(r: Reply, got: dict[str, Any], prepaid: bool) -> Verdict:
    status = status_of(got)
    if prepaid:
        ok, want = status == PROVIDED, PROVIDED
        msg = "a prepaid booking reports PREPAYMENT_PROVIDED"
    else:
        ok, want = status in ("PREPAYMENT_NOT_PROVIDED", PROVIDED), "PREPAYMENT_NOT_PROVIDED (or unset)"
        msg = "a deposit or stored-card booking reports no prepayment"
        if status == PROVIDED:
            msg += " (info: PROVIDED, a deposit charged at booking, D34)"
    return verdict(
        "payments/prepaid-status",
        ok,
        msg,
        expected=want,
        actual=None if ok else f"prepayment_status {status}",
        evidence=[r],
    )


def _transaction_id(r: Reply, got: dict[str, Any]) -> Verdict:
    tid = got.get("payment_transaction_id") or ""
    return verdict(
        "payments/transaction-id",
        bool(tid),
        "a prepaid booking carries the purchase id in payment_transaction_id",
        expected="a non-empty payment_transaction_id",
        actual=None if tid else "payment_transaction_id empty or absent",
        evidence=[r],
    )


def _price_echo(r: Reply, got: dict[str, Any], sent: dict[str, Any]) -> Verdict:
    diffs = [
        f"{f} {amount(got.get(f))} (sent {amount(sent.get(f))})"
        for f in PRICE_FIELDS
        if f in sent and amount(got.get(f)) != amount(sent.get(f))
    ]
    return verdict(
        "payments/price-echo",
        not diffs,
        "the booking repeats the request's price, tax and fees",
        expected="price, tax_amount and fees equal in micros and currency to the request's",
        actual="; ".join(diffs) or None,
        evidence=[r],
    )


@check("paid-replay", rules=("payments/replay-same-transaction",))
def paid_replay(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """A resend of paid CreateBooking ``step`` under its token: the same booking and transaction id (D39)."""
    first = ctx.earlier(step)
    want_id, want_tx = booking_id(first), payment_of(first.data).get("payment_transaction_id") or ""
    bad = [
        r
        for r in ctx.replies
        if not is_booking(r)
        or booking_id(r) != want_id
        or (payment_of(r.data).get("payment_transaction_id") or "") != want_tx
    ]
    actual = None
    if bad:
        r = bad[0]
        actual = (
            describe(r)
            if not is_booking(r)
            else f"booking {booking_id(r)!r}, transaction "
            f"{payment_of(r.data).get('payment_transaction_id')!r}"
        )
    yield verdict(
        "payments/replay-same-transaction",
        not bad,
        "a paid CreateBooking resent with its token returns the same booking and transaction id",
        expected=f"booking {want_id!r} with payment_transaction_id {want_tx!r}",
        actual=actual,
        evidence=[first, *bad[:2]] if bad else None,
        related=(step,),
    )


# ------------------------------------------------------------------------------------------------------
# failures (D35, D37, D38) and their side effects (D53)
# ------------------------------------------------------------------------------------------------------


def refusal(rule: str, replies: list[Reply], accept: dict[str, str], what: str, want: str) -> Verdict:
    """HTTP 200 with a booking_failure whose cause is a key of ``accept`` (its value: the note shown for an
    accepted but not preferred cause); anything else (a booking, 4xx, 5xx, another cause) fails."""
    bad = [r for r in replies if not (r.status == 200 and failure_cause(r) in accept)]
    notes = sorted({accept[c] for r in replies if (c := failure_cause(r)) in accept and accept[c]})
    return verdict(
        rule,
        not bad,
        what + (f" ({'; '.join(notes)})" if notes else ""),
        expected=want,
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )


@check("card-declined", rules=("payments/card-declined",))
def card_declined(ctx: CheckContext) -> Iterable[Verdict]:
    """D37: a declining card gets CARD_DECLINED (PAYMENT_ERROR: info), HTTP 200, never a booking."""
    yield refusal(
        "payments/card-declined",
        ctx.replies,
        {"PAYMENT_ERROR_CARD_DECLINED": "", "PAYMENT_ERROR": "info: PAYMENT_ERROR for a declined card"},
        "a declined card is refused with PAYMENT_ERROR_CARD_DECLINED",
        "HTTP 200 with booking_failure PAYMENT_ERROR_CARD_DECLINED (or PAYMENT_ERROR)",
    )


@check("processing-error", rules=("payments/card-declined",))
def processing_error(ctx: CheckContext) -> Iterable[Verdict]:
    """D37: a processor error is a payment failure (PAYMENT_ERROR, or CARD_DECLINED), never a booking."""
    yield refusal(
        "payments/card-declined",
        ctx.replies,
        {"PAYMENT_ERROR": "", "PAYMENT_ERROR_CARD_DECLINED": ""},
        "a processor error is refused with a payment failure",
        "HTTP 200 with booking_failure PAYMENT_ERROR (or PAYMENT_ERROR_CARD_DECLINED)",
    )


@check("card-type-rejected", rules=("payments/card-type-rejected-type",))
def card_type_rejected(ctx: CheckContext, card_type: str) -> Iterable[Verdict]:
    """D37: CARD_TYPE_REJECTED with ``rejected_card_type`` naming the network (missing: deviation)."""
    bad = [
        r
        for r in ctx.replies
        if not (
            r.status == 200
            and failure_cause(r) == "PAYMENT_ERROR_CARD_TYPE_REJECTED"
            and dig(r.data, "booking_failure.rejected_card_type") == card_type
        )
    ]
    got = dig(bad[0].data, "booking_failure.rejected_card_type") if bad else None
    yield verdict(
        "payments/card-type-rejected-type",
        not bad,
        f"a {card_type} card the merchant does not accept is rejected, naming the card type",
        expected=f"HTTP 200, PAYMENT_ERROR_CARD_TYPE_REJECTED with rejected_card_type {card_type}",
        actual=(f"{describe(bad[0])} (rejected_card_type {got!r})" if bad else None),
        evidence=bad[:3] or None,
    )


@check("price-mismatch", rules=("payments/price-mismatch",))
def price_mismatch(ctx: CheckContext) -> Iterable[Verdict]:
    """D35: a refusal (any booking_failure, HTTP 200), or a booking that echoes exactly the request's price
    (accepted: the partner may charge what Google showed). A booking at another price, or 4xx/5xx, fails."""
    for r in ctx.replies:
        if r.status == 200 and failure_cause(r) is not None and not r.data.get("booking"):
            ok, note = True, f"refused with {failure_cause(r)}"
        elif is_booking(r):
            sent, got = _request_payment(r), payment_of(r.data)
            ok = amount(got.get("price")) == amount(sent.get("price"))
            note = "booked at exactly the request's price (the feed may be stale, D35)"
        else:
            ok, note = False, ""
        yield verdict(
            "payments/price-mismatch",
            ok,
            "a price that differs from the feed is refused, or booked at exactly that price"
            + (f": {note}" if ok else ""),
            expected="HTTP 200 with a booking_failure (PAYMENT_ERROR), or a booking at the request's price",
            actual=None if ok else describe(r),
            evidence=[r],
        )


@check("still-bookable", rules=("payments/no-side-effects",))
def still_bookable(ctx: CheckContext, after: list[str]) -> Iterable[Verdict]:
    """D53: the booking of the same slot after the failed attempts ``after`` succeeds (the failures took
    no spot). Judged only when those attempts did fail: a booking made there is the earlier step's
    deviation, and the slot is then rightly taken."""
    if not _failed_only(ctx, after):
        return
    bad = [r for r in ctx.replies if not is_booking(r)]
    yield verdict(
        "payments/no-side-effects",
        not bad,
        "after a failed payment the slot is still bookable",
        expected="the next CreateBooking of the same slot (a good token) succeeds",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:1] or None,
        related=tuple(after),
    )


def _failed_only(ctx: CheckContext, after: list[str]) -> bool:
    """Did every attempt of steps ``after`` fail (and was there one)? A booking made there is the earlier
    step's deviation, and the slot is then rightly taken."""
    earlier = [r for s in after for r in ctx.scenario.step_replies(s)]
    return bool(earlier) and not any(is_booking(r) for r in earlier)


def _count_available(reply: Reply | None) -> int | None:
    count = reply.data.get("count_available") if reply is not None and reply.ok else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


@check("spots-unchanged", rules=("payments/no-side-effects",))
def spots_unchanged(ctx: CheckContext, before: str, after: list[str]) -> Iterable[Verdict]:
    """D53 by count: CheckAvailability's count_available after the failed attempts ``after`` is what it was
    at step ``before`` (one spot kept per failure is invisible to a rebooking of a slot with several spots).
    Judged only when the attempts failed and both answers carry a count (else nothing to compare)."""
    replies = ctx.scenario.step_replies(before)
    was, now = _count_available(replies[0] if replies else None), _count_available(ctx.reply)
    if was is None or now is None or not _failed_only(ctx, after):
        return
    yield verdict(
        "payments/no-side-effects",
        now >= was,
        "after a failed payment the slot has as many spots open as before",
        expected=f"count_available {was} (as before the failed attempts)",
        actual=None if now >= was else f"count_available {now}",
        evidence=[replies[0], ctx.reply] if now < was else None,
        related=(before, *after),
    )


@check("threeds1-challenge", rules=("payments/3ds1-parameters",))
def threeds1_challenge(ctx: CheckContext) -> Iterable[Verdict]:
    """D38: asking for 3DS1 is optional; when a partner does, all four parameters are non-empty and
    ``acs_url`` is an absolute https URL. Other answers are not judged here."""
    for r in ctx.replies:
        if failure_cause(r) != "PAYMENT_REQUIRES_3DS1":
            continue
        params = dig(r.data, "booking_failure.payment_failure.threeds1_parameters")
        params = params if isinstance(params, dict) else {}
        keys = ("acs_url", "pa_req", "transaction_id", "md_merchant_data")
        missing = [k for k in keys if not params.get(k)]
        url = urlsplit(str(params.get("acs_url") or ""))
        if "acs_url" not in missing and not (url.scheme == "https" and url.netloc):
            missing.append("acs_url (not an absolute https URL)")
        yield verdict(
            "payments/3ds1-parameters",
            not missing,
            "a 3DS1 challenge carries acs_url (https), pa_req, transaction_id and md_merchant_data",
            expected="all four threeds1_parameters set",
            actual=f"missing or wrong: {', '.join(missing)}" if missing else None,
            evidence=[r],
        )


@check("threeds1-retry", rules=("payments/3ds1-parameters",))
def threeds1_retry(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D38: the retry carrying the passing pa_response (and the challenge's md_merchant_data) books."""
    bad = [r for r in ctx.replies if not is_booking(r)]
    yield verdict(
        "payments/3ds1-parameters",
        not bad,
        "the CreateBooking retried with a passing pa_response books",
        expected="a booking",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:1] or None,
        related=(step,),
    )


# ------------------------------------------------------------------------------------------------------
# payment state over the booking's life (D40, D41)
# ------------------------------------------------------------------------------------------------------


@check("refund-on-cancel", rules=("payments/refund-status",))
def refund_on_cancel(ctx: CheckContext, refund_due: bool | None = None) -> Iterable[Verdict]:
    """D40: the cancel of a prepaid booking reports REFUNDED, or PROVIDED when the feed grants no refund
    (info); PROVIDED when the feed grants one (``refund_due``: worked out by the scenario from the services
    feed and the harness clock at the cancel, None when it cannot tell: then PROVIDED is accepted),
    NOT_PROVIDED after PROVIDED, or CREDITED without user_payment_option fails."""
    for r in ctx.replies:
        if not is_booking(r):
            continue  # the cancel itself failing is update-booking/cancel's business
        status = status_of(payment_of(r.data))
        credited = status == CREDITED and bool(r.data.get("user_payment_option"))
        kept = status == PROVIDED and refund_due is not True
        ok = status == REFUNDED or kept or credited
        yield verdict(
            "payments/refund-status",
            ok,
            "the cancel of a prepaid booking reports the refund" + _kept_note(status, refund_due),
            expected=_refund_expected(refund_due),
            actual=None if ok else f"prepayment_status {status}" + _due_note(status, refund_due),
            evidence=[r],
        )


def _kept_note(status: str, due: bool | None) -> str:
    if status != PROVIDED or due is True:
        return ""
    if due is False:
        return " (info: still PROVIDED; the services feed grants no refund this close to the start)"
    return " (info: still PROVIDED; whether the feed grants a refund could not be told, so it is accepted)"


def _due_note(status: str, due: bool | None) -> str:
    if status == PROVIDED and due:
        return " (the services feed grants a refund for a cancel this far ahead of the start)"
    return ""


def _refund_expected(due: bool | None) -> str:
    if due:
        return (
            "prepayment_status PREPAYMENT_REFUNDED (the feed grants a refund; CREDITED with "
            "user_payment_option)"
        )
    return "prepayment_status PREPAYMENT_REFUNDED (or PROVIDED; CREDITED with user_payment_option)"


@check("payment-status", rules=("payments/status-consistent",))
def payment_status(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D41: GetBookingStatus reports the prepayment_status the last Create/UpdateBooking (``step``) did."""
    want = status_of(payment_of(ctx.earlier(step).data))
    for r in ctx.replies:
        have = status_of({"prepayment_status": r.data.get("prepayment_status")}) if r.ok else None
        yield verdict(
            "payments/status-consistent",
            have == want,
            "GetBookingStatus reports the same prepayment_status as the booking's last answer",
            expected=f"prepayment_status {want}",
            actual=None if have == want else (f"prepayment_status {have}" if have else describe(r)),
            evidence=[r],
            related=(step,),
        )


@check("list-payment-status", rules=("payments/status-consistent",))
def list_payment_status(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D41: a ListBookings entry of the booking that carries payment_information agrees with ``step``."""
    last = ctx.earlier(step)
    want, bid = status_of(payment_of(last.data)), booking_id(last)
    for r in ctx.replies:
        entries = r.data.get("bookings") if r.ok else None
        mine = [b for b in entries or [] if isinstance(b, dict) and b.get("booking_id") == bid]
        paid = [b for b in mine if isinstance(b.get("payment_information"), dict)]
        if not paid:
            continue  # nothing to compare (a cancelled booking may be absent, D7)
        have = status_of(paid[0]["payment_information"])
        yield verdict(
            "payments/status-consistent",
            have == want,
            "ListBookings reports the same prepayment_status as the booking's last answer",
            expected=f"prepayment_status {want} for booking {bid!r}",
            actual=None if have == want else f"prepayment_status {have}",
            evidence=[r],
            related=(step,),
        )


@check("paid-reschedule", rules=("payments/reschedule-keeps-payment",))
def paid_reschedule(ctx: CheckContext, step: str, same_price: bool = True) -> Iterable[Verdict]:
    """D54: a reschedule of the paid booking of ``step`` to a slot of the same price keeps its payment
    (same prepayment_status and payment_transaction_id: no new charge, no refund); a warning-level rule.
    A refusal (any booking_failure) is not judged here; nor, for a slot of another price, is anything."""
    first = payment_of(ctx.earlier(step).data)
    tid = first.get("payment_transaction_id") or ""  # none: already payments/transaction-id's deviation
    want = (status_of(first), tid)
    for r in ctx.replies:
        if not is_booking(r) or not same_price:
            continue
        got = payment_of(r.data)
        have = (status_of(got), (got.get("payment_transaction_id") or "") if tid else "")
        yield verdict(
            "payments/reschedule-keeps-payment",
            have == want,
            "a paid booking moved to a slot of the same price keeps its payment",
            expected=f"prepayment_status {want[0]}, payment_transaction_id {want[1]!r}",
            actual=None
            if have == want
            else f"prepayment_status {have[0]}, payment_transaction_id {have[1]!r}",
            evidence=[r, ctx.earlier(step)],
            related=(step,),
        )
