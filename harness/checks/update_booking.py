"""Checks of the update_booking family (``scenarios/update_booking.yaml``): cancel, cancel again, reschedule,
party-size change, and the same update repeated."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.core import (
    CheckContext,
    Verdict,
    booking_id,
    check,
    describe,
    failure_cause,
    is_booking,
    slot_mismatches,
    verdict,
)
from harness.normalize import dig


@check("cancelled", rules=("update-booking/cancel", "update-booking/whole-booking-cancel"))
def cancelled(ctx: CheckContext, step: str, rule: str = "update-booking/cancel") -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    ok = is_booking(r) and booking_id(r) == want and dig(r.data, "booking.status") == "CANCELED"
    yield verdict(
        rule,
        ok,
        "the cancel returns the booking with status CANCELED",
        expected=f"HTTP 200, booking {want!r} with status CANCELED",
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("recancel", rules=("update-booking/recancel",))
def recancel(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    if r.status == 200 and failure_cause(r) == "BOOKING_ALREADY_CANCELLED":
        ok = True
    else:
        ok = is_booking(r) and booking_id(r) == want and dig(r.data, "booking.status") == "CANCELED"
    yield verdict(
        "update-booking/recancel",
        ok,
        "a second cancel is refused or echoes the cancelled booking",
        expected="HTTP 200 with BOOKING_ALREADY_CANCELLED, or the booking still CANCELED",
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("rescheduled", rules=("update-booking/reschedule", "update-booking/whole-booking-reschedule"))
def rescheduled(
    ctx: CheckContext, step: str, slot: str, rule: str = "update-booking/reschedule"
) -> Iterable[Verdict]:
    first = ctx.earlier(step)
    s = ctx.scenario.slot(slot)
    r = ctx.reply
    problems: list[str] = []
    if not is_booking(r):
        problems.append(describe(r))
    else:
        if booking_id(r) != booking_id(first):
            problems.append(f"booking_id {booking_id(r)!r} (want {booking_id(first)!r})")
        problems += slot_mismatches(dig(r.data, "booking.slot"), s)
        want_status = dig(first.data, "booking.status")
        allowed = {want_status}
        if want_status == "PENDING_MERCHANT_CONFIRMATION":
            allowed.add("CONFIRMED")  # an asynchronous booking may have been confirmed meanwhile (D18)
        if dig(r.data, "booking.status") not in allowed:
            problems.append(f"status {dig(r.data, 'booking.status')!r} (want {want_status!r})")
    yield verdict(
        rule,
        not problems,
        "the rescheduled booking keeps its id and status and shows the new slot",
        expected=f"booking {booking_id(first)!r} at start_sec {s.start_sec}, status unchanged",
        actual="; ".join(problems) or None,
        related=(step,),
    )


@check("party-size-changed", rules=("update-booking/party-size", "update-booking/whole-booking-party-size"))
def party_size_changed(
    ctx: CheckContext, step: str, party_size: int, rule: str = "update-booking/party-size"
) -> Iterable[Verdict]:
    r = ctx.reply
    want = booking_id(ctx.earlier(step))
    got = dig(r.data, "booking.slot.resources.party_size", 0)
    ok = is_booking(r) and booking_id(r) == want and got == party_size
    yield verdict(
        rule,
        ok,
        "the booking shows the new party size",
        expected=f"booking {want!r} with party_size {party_size}",
        actual=None if ok else describe(r),
        related=(step,),
    )


@check("repeated-update", rules=("update-booking/idempotent",))
def repeated_update(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """The same UpdateBooking again: the same booking back, or a business failure (HTTP 200) that changed
    nothing. Whether nothing changed is shown by the capacity steps that follow in the scenario."""
    first = ctx.earlier(step)
    r = ctx.reply
    if is_booking(r):
        keys = ("booking.booking_id", "booking.slot.start_sec", "booking.slot.duration_sec", "booking.status")
        diffs = [k for k in keys if dig(r.data, k) != dig(first.data, k)]
        ok, actual = not diffs, (f"differs in {diffs}" if diffs else None)
    else:
        ok, actual = r.status == 200 and failure_cause(r) is not None, describe(r)
    yield verdict(
        "update-booking/idempotent",
        ok,
        "the same update repeated has no different effect",
        expected="the same booking, or HTTP 200 with a booking_failure",
        actual=None if ok else actual,
        related=(step,),
    )
