"""Checks of offers in the booking flow (``scenarios/payments.yaml``, offers/*; spec §3.13.2, D49): the offer
is reported when applied, an unavailable one is refused with OFFER_UNAVAILABLE, and slot problems win."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.core import CheckContext, Verdict, check, describe, failure_cause, is_booking, verdict
from harness.checks.payments import refusal
from harness.normalize import dig


@check("offer-applied", rules=("offers/applied",))
def offer_applied(ctx: CheckContext, offer_id: str | None = None) -> Iterable[Verdict]:
    """D49: a booking made with ``offer_id`` reports it in offer_info; one made without reports none."""
    for r in ctx.replies:
        if not is_booking(r):
            continue
        have = dig(r.data, "booking.offer_info.offer_id") or None
        yield verdict(
            "offers/applied",
            have == offer_id,
            "the booking reports the offer applied" if offer_id else "a booking without an offer has none",
            expected=f"offer_info.offer_id {offer_id!r}" if offer_id else "no offer_info",
            actual=None if have == offer_id else f"offer_info.offer_id {have!r}",
            evidence=[r],
        )


@check("offer-unavailable", rules=("offers/unavailable",))
def offer_unavailable(ctx: CheckContext) -> Iterable[Verdict]:
    """O4: an unknown offer, or one that does not apply to the slot: OFFER_UNAVAILABLE, nothing booked."""
    yield refusal(
        "offers/unavailable",
        ctx.replies,
        {"OFFER_UNAVAILABLE": ""},
        "an offer that does not apply is refused with OFFER_UNAVAILABLE",
        "HTTP 200 with booking_failure OFFER_UNAVAILABLE",
    )


@check("offer-slot-precedence", rules=("offers/slot-precedence",))
def offer_slot_precedence(ctx: CheckContext) -> Iterable[Verdict]:
    """O5 with D9: a slot that does not exist gets 400 or SLOT_UNAVAILABLE, whatever the offer."""
    bad = [r for r in ctx.replies if not (r.status == 400 or failure_cause(r) == "SLOT_UNAVAILABLE")]
    yield verdict(
        "offers/slot-precedence",
        not bad,
        "a slot that does not exist is refused as such before the offer is looked at",
        expected="HTTP 200 with booking_failure SLOT_UNAVAILABLE, or HTTP 400",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )
