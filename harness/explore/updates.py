"""Judging CreateLease and UpdateBooking (cancel, reschedule, party-size change) answers against the model:
the writes besides CreateBooking (:mod:`harness.explore.judge`)."""

from __future__ import annotations

from typing import Any

from harness.checks import booking_id, describe, failure_cause, is_booking, slot_mismatches
from harness.explore import ops as o
from harness.explore.expect import CONSISTENT, Expect, Judged, v
from harness.explore.judging import JudgeState
from harness.explore.model import Booked, Leased
from harness.normalize import dig
from harness.targets import Reply
from mock_server.domain import BookingStatus, InvalidArgument, NotFound

# CreateLease ---------------------------------------------------------------------------------------


def judge_lease(j: JudgeState, op: o.Lease, reply: Reply, out: Judged) -> None:
    m = j.m
    lease = dig(reply.data, "lease", {}) if failure_cause(reply) is None else {}
    got = str(lease.get("lease_id") or "") if isinstance(lease, dict) else ""
    known = m.leases.get(op.ref)
    if known is not None:
        out.expect = Expect("same-lease", {"step": known.step}, f"the same lease {known.target_id}")
        same_slot = known.role == op.slot
        ok = got == known.target_id if same_slot else (not got or got == known.target_id)
        out.verdicts.append(
            v(
                "lease/idempotent-user-reference",
                ok,
                "CreateLease again with the same user_reference returns the same lease",
                f"lease_id {known.target_id!r}",
                describe(reply),
            )
        )
        return
    expires = dig(lease, "lease_expiration_time_sec", 0) if got else 0
    now = int(m.service.clock())
    result = m.create_lease(op.slot, op.ref, expires if isinstance(expires, int) and expires > now else None)
    if result.lease is None:
        assert result.failure is not None
        j.expect_refusal("lease/unavailable-slot", [result.failure.cause.name], reply, out, strict=True)
        return
    out.expect = Expect("lease", {"role": op.slot}, "a lease")
    # refused for want of a spot: what should have freed one explains it best
    refused = not got and failure_cause(reply) == "SLOT_UNAVAILABLE"
    out.verdicts.append(
        v(
            (m.freed_by(op.slot) if refused else None) or "lease/created",
            bool(got),
            "CreateLease on an available slot returns a lease",
            "HTTP 200 with lease.lease_id",
            describe(reply),
        )
    )
    if not got:
        return
    out.verdicts.append(
        v(
            "lease/expiration-set",
            isinstance(expires, int) and expires > now,
            "lease_expiration_time_sec is set, in the future",
            f"> {now}",
            str(expires),
        )
    )
    problems = slot_mismatches(lease.get("slot"), j.w.slots[op.slot])
    if lease.get("user_reference") != j.w.lease_ref(op.ref):
        problems.append(f"user_reference={lease.get('user_reference')!r}")
    out.verdicts.append(
        v(
            "lease/echo",
            not problems,
            "the lease echoes the slot and user_reference",
            "slot and user_reference as requested",
            "; ".join(problems),
        )
    )
    m.leases[op.ref] = Leased(
        result.lease.lease_id, got, op.slot, j.step, expires if isinstance(expires, int) else 0
    )
    m.slot_log(op.slot).leased = True


# UpdateBooking ---------------------------------------------------------------------------------------


def judge_cancel(j: JudgeState, op: o.Cancel, reply: Reply, out: Judged) -> None:
    m = j.m
    if op.booking < 0:  # D5: an id the target never issued
        out.expect = Expect(
            "http", {"rule": "update-booking/unknown-booking", "codes": [400, 404]}, "HTTP 400 or 404"
        )
        ok = reply.status in (400, 404)
        out.verdicts.append(
            v(
                "update-booking/unknown-booking",
                ok,
                "UpdateBooking of an unknown booking_id is answered 400 or 404",
                "HTTP 400 or 404",
                describe(reply),
            )
        )
        if ok:
            out.choices.append(("D5", str(reply.status)))
        return
    b = m.booking(op.booking)
    assert b is not None
    if failure_cause(reply) == "OUTSIDE_CANCELLATION_WINDOW":
        out.choices.append(("D21", "OUTSIDE_CANCELLATION_WINDOW"))
        return  # the target's cutoff is its policy: the model does not cancel either
    role = m.role_of(m.view(b).slot)
    result = m.update(b, status=BookingStatus.CANCELED)
    if result.booking is not None:
        out.expect = Expect("cancelled", {"step": b.step}, "the booking, CANCELED")
        ok = (
            is_booking(reply)
            and booking_id(reply) == b.target_id
            and dig(reply.data, "booking.status") == "CANCELED"
        )
        out.verdicts.append(
            v(
                "update-booking/whole-booking-cancel" if op.whole else "update-booking/cancel",
                ok,
                "the cancel returns the booking with status CANCELED",
                f"booking {b.target_id!r} with status CANCELED",
                describe(reply),
            )
        )
        log = m.slot_log(role)
        log.released, log.last = True, "cancel"
        b.updated_step = j.step
        return
    assert result.failure is not None
    if b.declined:
        j.expect_refusal(CONSISTENT, [], reply, out, strict=False)
        return
    out.expect = Expect(
        "recancel", {"step": b.step}, "BOOKING_ALREADY_CANCELLED or the booking still CANCELED"
    )
    echoed = (
        is_booking(reply)
        and booking_id(reply) == b.target_id
        and dig(reply.data, "booking.status") == "CANCELED"
    )
    ok = echoed or (reply.status == 200 and failure_cause(reply) == "BOOKING_ALREADY_CANCELLED")
    out.verdicts.append(
        v(
            "update-booking/recancel",
            ok,
            "a second cancel is refused or echoes the cancelled booking",
            "HTTP 200 with BOOKING_ALREADY_CANCELLED, or the booking still CANCELED",
            describe(reply),
        )
    )
    if ok:
        out.choices.append(("D8", "echo" if echoed else "BOOKING_ALREADY_CANCELLED"))


def judge_move(j: JudgeState, op: o.Reschedule | o.PartySize, body: Any, reply: Reply, out: Judged) -> None:
    m = j.m
    b = m.booking(op.booking)
    assert b is not None
    old_role = m.role_of(m.view(b).slot)
    role = j.move_target(op, b)
    assert role is not None
    new = j.w.slots[role]
    try:
        if isinstance(op, o.PartySize):
            result = m.update(b, party_size=new.party_size)
        else:
            result = m.update(b, start_sec=new.start_sec, duration_sec=new.duration_sec)
    except (InvalidArgument, NotFound):
        out.expect = Expect("http", {"rule": CONSISTENT, "codes": [400]}, "HTTP 400")
        out.verdicts.append(
            v(
                CONSISTENT,
                reply.status == 400,
                "an update the model refuses as invalid",
                "HTTP 400",
                describe(reply),
            )
        )
        return
    rule = "update-booking/party-size" if isinstance(op, o.PartySize) else "update-booking/reschedule"
    if op.whole:  # D27: the whole booking sent back with changes
        rule = (
            "update-booking/whole-booking-party-size"
            if isinstance(op, o.PartySize)
            else "update-booking/whole-booking-reschedule"
        )
    if role == old_role:
        rule = "update-booking/idempotent"  # the same reschedule again: no further effect
    if result.booking is not None and role == old_role and reply.status == 200 and failure_cause(reply):
        out.expect = Expect("any", {}, "the booking, or a business failure")
        return  # §3.2: a repeated update may also be answered with a business failure that changes nothing
    if result.booking is not None:
        _moved(j, op, b, role, rule, reply, out)
        if role == old_role:
            return
        log_old, log_new = m.slot_log(old_role), m.slot_log(role)
        b.updated_step = j.step
        log_old.released = log_old.moved_out = True
        log_old.last = "move-out"
        log_new.moved_in = True
        return
    assert result.failure is not None
    cause = result.failure.cause.name
    if cause == "SLOT_UNAVAILABLE":  # a reschedule or party-size change into a full slot
        log = m.slot_log(role)  # why the new slot is full names the rule an accepted move breaks
        full_rule = (
            "update-booking/reschedule-takes-new"
            if log.moved_in
            else "lease/holds-spot"
            if log.leased
            else "update-booking/reschedule-full-slot"
        )
        j.expect_refusal(full_rule, [cause], reply, out, strict=True)
    else:
        j.expect_refusal(
            CONSISTENT if cause != "SLOT_UNAVAILABLE" else rule, [cause], reply, out, strict=False
        )


def _moved(
    j: JudgeState, op: o.Reschedule | o.PartySize, b: Booked, role: int, rule: str, reply: Reply, out: Judged
) -> None:
    new = j.w.slots[role]
    problems: list[str] = [] if is_booking(reply) else [describe(reply)]
    if not problems:
        if booking_id(reply) != b.target_id:
            problems.append(f"booking_id {booking_id(reply)!r} (want {b.target_id!r})")
        if isinstance(op, o.PartySize):
            got = dig(reply.data, "booking.slot.resources.party_size", 0)
            if got != new.party_size:
                problems.append(f"party_size {got!r} (want {new.party_size})")
        else:
            problems += slot_mismatches(dig(reply.data, "booking.slot"), new)
        status = dig(reply.data, "booking.status")
        if status not in ("CONFIRMED", j.m.view(b).status.name):
            problems.append(f"status {status!r} (want {j.m.view(b).status.name})")
    if failure_cause(reply) == "SLOT_UNAVAILABLE":  # what should have freed a spot explains it best
        rule = j.m.freed_by(role) or rule
    kind = "party" if isinstance(op, o.PartySize) else "rescheduled"
    out.expect = Expect(
        kind, {"step": b.step, "role": role, "party_size": new.party_size}, "the moved booking"
    )
    out.verdicts.append(
        v(
            rule,
            not problems,
            "the booking keeps its id and status and shows the new slot",
            f"booking {b.target_id!r} at start_sec {new.start_sec}",
            "; ".join(problems),
        )
    )
