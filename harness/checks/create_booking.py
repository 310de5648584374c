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
        "create-booking/token-other-body",
        "update-booking/whole-booking-cancel",
        "update-booking/whole-booking-reschedule",
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
        evidence=([first] + [r for r in bad if r is not first][:2]) if bad else None,  # both answers
        related=(step,),
    )


#: Transient answers a server may give a copy of an in-flight CreateBooking (D25): 409 ABORTED, 429
#: RESOURCE_EXHAUSTED, 503 UNAVAILABLE (the gRPC codes arrive mapped to these HTTP statuses).
TRANSIENT = (CONFLICT, 429, 503)


@check(
    "all-same-booking",
    rules=("create-booking/concurrent-replay", "create-booking/in-flight-copy-transient"),
)
def all_same_booking(ctx: CheckContext) -> Iterable[Verdict]:
    """D25: concurrent copies of one request make at most one booking, and every copy that got a booking
    names it. A copy answered with a transient 409/429/503 is a warning (Google counts it as an error); the
    resend that follows in the scenario (``converged``) shows whether the server converges."""
    booked = [r for r in ctx.replies if is_booking(r)]
    ids = sorted({booking_id(r) for r in booked})
    transient = [r for r in ctx.replies if not is_booking(r) and r.status in TRANSIENT]
    failed = [r for r in ctx.replies if not is_booking(r) and r.status not in TRANSIENT]
    ok = len(ids) <= 1 and not failed
    symptom = f"{len(ctx.replies)} concurrent copies of one CreateBooking gave {len(ids)} distinct bookings"
    if failed:
        symptom += f" and {len(failed)} answers without a booking ({describe(failed[0])})"
    yield verdict(
        "create-booking/concurrent-replay",
        ok,
        "concurrent copies of one request name one booking",
        expected="every copy answers the same booking_id (a transient 409/429/503 is judged separately)",
        actual=None if ok else f"{symptom}: {ids[:3]}",
        evidence=(failed[:2] + booked[:2]) if not ok else None,
    )
    codes = sorted({r.status for r in transient if r.status is not None})
    yield verdict(
        "create-booking/in-flight-copy-transient",
        not transient,
        "copies of an in-flight CreateBooking are served, not refused as transient",
        expected="each copy gets the booking (copies serialised)",
        actual=f"{len(transient)} of {len(ctx.replies)} copies answered HTTP {codes}" if transient else None,
        evidence=transient[:2] or None,
    )


@check("converged", rules=("create-booking/in-flight-copies-converge",))
def converged(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """The resend after the copies of ``step`` returns a booking, the one booking those copies made (if any
    copy got one). Judged when a copy got a booking or a transient answer (D25), not when all failed."""
    copies = ctx.scenario.step_replies(step)
    made = sorted({booking_id(r) for r in copies if is_booking(r)})
    if not made and not any(r.status in TRANSIENT for r in copies):
        return  # the copies failed outright: create-booking/concurrent-replay reports it, nothing converges
    r = ctx.reply
    actual: str | None = None
    if not is_booking(r):
        actual = f"the resend after the concurrent copies got no booking: {describe(r)}"
    elif len(made) > 1 or (made and booking_id(r) != made[0]):
        actual = f"the resend got booking {booking_id(r)!r} where the copies made {made}"
    ok = actual is None
    yield verdict(
        "create-booking/in-flight-copies-converge",
        ok,
        "a resend after in-flight copies returns their booking",
        expected=f"the booking {made[0]!r}" if made else "the one booking of the token",
        actual=actual,
        related=(step,),
    )


@check("token-reused", rules=("create-booking/token-other-body",))
def token_reused(ctx: CheckContext, step: str, what: str = "a different body") -> Iterable[Verdict]:
    """D24: a used token with ``what`` changed: the token's booking, a 4xx or a booking_failure are all
    accepted (CAUSE_UNSPECIFIED is judged by failure/cause-specified); a different booking is a deviation,
    and so is a 5xx or no answer, which column 3 of D24 does not allow."""
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    if is_booking(r):
        ok = booking_id(r) == want
        actual = None if ok else f"the token resent with {what} made a second booking {booking_id(r)!r}"
    else:
        four_xx = r.status is not None and 400 <= r.status < 500
        ok = four_xx or (r.status == 200 and failure_cause(r) is not None)
        actual = None if ok else f"the token resent with {what} was answered {describe(r)}"
    yield verdict(
        "create-booking/token-other-body",
        ok,
        f"a used idempotency token with {what} makes no second booking",
        expected=f"the token's booking {want!r}, a 4xx, or HTTP 200 with a booking_failure",
        actual=actual,
        related=(step,),
    )


@check(
    "token-replayed",
    rules=("create-booking/replay-after-cancel", "create-booking/replay-after-reschedule"),
)
def token_replayed(ctx: CheckContext, step: str, update: str, rule: str) -> Iterable[Verdict]:
    """D26: the token of booking ``step`` resent after the update ``update`` returns that booking (in its
    current or original state: which state is not judged here, the echo rules judge the fields). A new
    booking, or no booking, is a deviation; a spot taken again is shown by the scenario's full slot (the
    resend then either overbooks, with a new booking_id, or fails)."""
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    if not is_booking(r):
        actual: str | None = f"the token resent after the update got no booking: {describe(r)}"
    elif booking_id(r) != want:
        actual = f"the token resent after the update made a new booking {booking_id(r)!r}"
    else:
        actual = None
    yield verdict(
        rule,
        actual is None,
        "a token resent after a cancel or reschedule returns its booking",
        expected=f"booking {want!r} in its current or original state",
        actual=actual,
        related=(step, update),
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
