"""Checks of the create_booking family (``scenarios/create_booking.yaml``): a booking is made and echoes what
was asked, idempotent replays, concurrent copies, capacity, unique booking ids."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.core import (
    ASYNC,
    CONFLICT,
    CheckContext,
    Verdict,
    booking_id,
    check,
    describe,
    expect_business_failure,
    failure_cause,
    is_booking,
    slot_mismatches,
    verdict,
)
from harness.normalize import dig


@check(
    "booking-created",
    rules=(
        "create-booking/succeeds",
        "create-booking/booking-id",
        "create-booking/echo-slot",
        "create-booking/echo-user",
        "create-booking/status-sync",
        "create-booking/status-async",
        "create-booking/fill-to-capacity",
        "create-booking/failed-retry",
        "update-booking/cancel-frees-spot",
        "update-booking/reschedule-frees-old",
        "create-booking/idempotent-capacity",
        "lease/book-on-lease",
        "http/bad-request-no-effect",
    ),
)
def booking_created(
    ctx: CheckContext, slot: str, user: str | None = None, rule: str = "create-booking/succeeds"
) -> Iterable[Verdict]:
    """Every reply of the step is a booking on ``slot`` (for ``user``, when given)."""
    s = ctx.scenario.slot(slot)
    failed = [r for r in ctx.replies if not is_booking(r)]
    yield verdict(
        rule,
        not failed,
        "CreateBooking on an available slot succeeds",
        expected="HTTP 200 with a booking and no booking_failure",
        actual=describe(failed[0]) if failed else None,
        evidence=failed[:3] or None,
    )
    good = [r for r in ctx.replies if is_booking(r)]
    if not good:
        return
    no_id = [r for r in good if not booking_id(r)]
    yield verdict(
        "create-booking/booking-id",
        not no_id,
        "the booking has a booking_id",
        expected="a non-empty booking_id",
        actual=describe(no_id[0]) if no_id else None,
        evidence=no_id[:1] or None,
    )
    bad_slot = [(r, m) for r in good if (m := slot_mismatches(dig(r.data, "booking.slot"), s))]
    yield verdict(
        "create-booking/echo-slot",
        not bad_slot,
        "the booking echoes the requested slot",
        expected="the requested slot",
        actual="; ".join(bad_slot[0][1]) if bad_slot else None,
        evidence=[bad_slot[0][0]] if bad_slot else None,
    )
    if user is not None:
        want_uid = ctx.scenario.user(user)["user_id"]
        bad_user = [r for r in good if dig(r.data, "booking.user_information.user_id") != want_uid]
        # copies of a ``times``/``concurrent`` step use distinct users: compare each with its own request
        if "${copy}" in user or len(ctx.replies) > 1:
            bad_user = [
                r
                for r in good
                if dig(r.data, "booking.user_information.user_id")
                != dig(r.exchange.request.body or {}, "user_information.user_id")
            ]
        yield verdict(
            "create-booking/echo-user",
            not bad_user,
            "the booking echoes the user",
            expected=f"user_information.user_id {want_uid!r}",
            actual=describe(bad_user[0]) if bad_user else None,
            evidence=bad_user[:1] or None,
        )
    want_status = "PENDING_MERCHANT_CONFIRMATION" if s.confirmation_mode == ASYNC else "CONFIRMED"
    status_rule = (
        "create-booking/status-async" if s.confirmation_mode == ASYNC else "create-booking/status-sync"
    )
    bad_status = [
        r for r in good if dig(r.data, "booking.status", "BOOKING_STATUS_UNSPECIFIED") != want_status
    ]
    yield verdict(
        status_rule,
        not bad_status,
        f"a new booking on this slot is {want_status}",
        expected=want_status,
        actual=str(dig(bad_status[0].data, "booking.status", "BOOKING_STATUS_UNSPECIFIED"))
        if bad_status
        else None,
        evidence=bad_status[:1] or None,
    )


@check("same-booking-as", rules=("create-booking/idempotent-replay",))
def same_booking_as(
    ctx: CheckContext, step: str, rule: str = "create-booking/idempotent-replay"
) -> Iterable[Verdict]:
    first = ctx.earlier(step)
    want = booking_id(first)
    bad = [r for r in ctx.replies if not is_booking(r) or booking_id(r) != want]
    detail = None
    if not bad:
        keys = ("booking.slot", "booking.status", "booking.user_information.user_id")
        diffs = [k for k in keys for r in ctx.replies if dig(r.data, k) != dig(first.data, k)]
        if diffs:
            bad, detail = list(ctx.replies[:1]), f"differs in {sorted(set(diffs))}"
    yield verdict(
        rule,
        not bad,
        "the same request gets the same response",
        expected=f"booking_id {want!r}",
        actual=detail or (describe(bad[0]) if bad else None),
        evidence=bad[:3] or None,
        related=(step,),
    )


@check("all-same-booking", rules=("create-booking/concurrent-replay",))
def all_same_booking(ctx: CheckContext) -> Iterable[Verdict]:
    """Every copy names the same booking. A copy answered 409 (ABORTED, "a concurrency problem", §4) while
    the first was in flight is tolerated: Google retries it; the capacity steps that follow show that only
    one spot was taken."""
    ids = {booking_id(r) for r in ctx.replies if is_booking(r)}
    failed = [r for r in ctx.replies if not is_booking(r) and r.status != CONFLICT]
    ok = len(ids) == 1 and not failed
    yield verdict(
        "create-booking/concurrent-replay",
        ok,
        f"{len(ctx.replies)} concurrent copies of one request name one booking",
        expected="every copy answers the same booking_id (409 tolerated)",
        actual=None if ok else f"{len(ids)} distinct booking_ids, {len(failed)} copies without a booking",
        evidence=(failed[:2] + [r for r in ctx.replies if is_booking(r)][:2]) if not ok else None,
    )


@check("not-earlier-booking", rules=("create-booking/new-token-not-earlier-booking",))
def not_earlier_booking(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D10 judges one thing: whether the earlier booking comes back. Any other answer (a new booking, one of
    the refusals D10 allows, or a failure such as SLOT_UNAVAILABLE) is not this rule's symptom: a wrong
    capacity is reported by the capacity scenarios, a wrong status code by the automatic checks."""
    earlier = booking_id(ctx.earlier(step))
    r = ctx.reply
    ok = not (is_booking(r) and booking_id(r) == earlier)
    actual = None if ok else f"the earlier booking {earlier!r} was returned"
    yield verdict(
        "create-booking/new-token-not-earlier-booking",
        ok,
        "a new idempotency token never gets the earlier booking back",
        expected="a new booking, or SLOT_ALREADY_BOOKED_BY_USER / OVERLAPPING_RESERVATION",
        actual=actual,
        related=(step,),
    )


@check("count-booked", rules=("create-booking/concurrent-last-spots", "lease/holds-spot"))
def count_booked(
    ctx: CheckContext, exactly: int, rule: str = "create-booking/concurrent-last-spots"
) -> Iterable[Verdict]:
    """Exactly ``exactly`` distinct bookings; the others SLOT_UNAVAILABLE. Copies answered 409 (ABORTED, a
    concurrency conflict, §4) are tolerated and may leave spots unbooked, but never more than ``exactly``."""
    booked = [r for r in ctx.replies if is_booking(r)]
    ids = {booking_id(r) for r in booked}
    refused = [r for r in ctx.replies if not is_booking(r)]
    aborted = [r for r in refused if r.status == CONFLICT]
    refused = [r for r in refused if r.status != CONFLICT]
    bad_refusals = [r for r in refused if not (r.status == 200 and failure_cause(r) == "SLOT_UNAVAILABLE")]
    ok = len(ids) == len(booked) and (len(booked) == exactly or (bool(aborted) and len(booked) < exactly))
    yield verdict(
        rule,
        ok,
        f"exactly {exactly} of {len(ctx.replies)} concurrent bookings succeed",
        expected=f"{exactly} bookings, the rest SLOT_UNAVAILABLE",
        actual=None
        if ok
        else f"{len(booked)} bookings ({len(ids)} distinct ids), {len(aborted)} answered 409",
        evidence=(booked[:3] + refused[:1]) if not ok else None,
    )
    if refused:
        yield from expect_business_failure(
            "create-booking/full-slot-unavailable",
            bad_refusals or refused[:1],
            ("SLOT_UNAVAILABLE",),
            "the refused bookings fail with SLOT_UNAVAILABLE",
        )


@check("unique-booking-ids", rules=("create-booking/unique-booking-id",))
def unique_booking_ids(ctx: CheckContext, steps: list[str]) -> Iterable[Verdict]:
    ids: list[str] = []
    for st in steps:
        ids += [booking_id(r) for r in ctx.scenario.step_replies(st) if is_booking(r)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    yield verdict(
        "create-booking/unique-booking-id",
        not dup,
        "distinct bookings have distinct booking_ids",
        expected="no repeated booking_id",
        actual=f"repeated: {dup[:3]}" if dup else None,
        related=tuple(steps),
    )
