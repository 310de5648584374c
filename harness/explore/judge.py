"""The judge: plans each operation's request from the model's state, then judges the target's answer
against the model's prediction and moves the model along (lock-step).

Every judgement is a :class:`harness.checks.Verdict` naming a rule of ``scenarios/rules.yaml``. Where the
spec allows several answers (§11 column 3) every allowed answer passes, the model follows the one the
target took, and the choice is recorded (``choices``) so the run can warn about a target that switches.
Reads (GetBookingStatus, ListBookings, availability) are judged in :mod:`harness.explore.reads`.

Each judged step also gets an :class:`Expect`: the model's prediction in reproducible terms, which the
reproducer writers turn into scenario checks and shell assertions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.checks import (
    auto_checks,
    booking_id,
    describe,
    failure_cause,
    is_booking,
    slot_mismatches,
)
from harness.explore import ops as o
from harness.explore.expect import LEASE_SINGLE_USE, Expect, Judged, Planned, v
from harness.explore.model import Booked, Leased, ModelState
from harness.explore.reads import UNKNOWN_BOOKING, judge_read, plan_read
from harness.explore.updates import judge_cancel, judge_lease, judge_move
from harness.explore.world import cancel_body
from harness.normalize import dig
from harness.targets import Reply
from mock_server.domain import BookingResult, BookingStatus

D10_CAUSES = ("SLOT_ALREADY_BOOKED_BY_USER", "OVERLAPPING_RESERVATION", "SLOT_UNAVAILABLE")
ASYNC = "CONFIRMATION_MODE_ASYNCHRONOUS"


def _roles_of(op: o.Op) -> tuple[int, ...]:
    if isinstance(op, (o.Book, o.Lease, o.Count)):
        return (op.slot,)
    if isinstance(op, o.Bal):
        return op.slots
    return ()


class Judge:
    """Lock-step judge of one example (its model, world and what both sides created)."""

    def __init__(self, model: ModelState, *, has_credentials: bool) -> None:
        self.m = model
        self.w = model.world
        self.has_credentials = has_credentials
        self.step = 0

    # -- planning ---------------------------------------------------------------------------------------

    def plan(self, op: o.Op) -> Planned:
        """The request of ``op`` in this example, or why it cannot run (no booking yet, no target slot)."""

        name = o.operation(op)
        missing = [r for r in _roles_of(op) if not self.w.has(r)]
        if missing:
            return Planned(name, None, f"the feed gave this example no slot {o.ROLE_NAMES[missing[0]]}")
        if isinstance(op, o.Book):
            return Planned(name, self.w.create_booking(op.slot, op.user, op.token))
        if isinstance(op, o.Lease):
            short = int(self.m.service.clock()) + o.SHORT_LEASE_SEC if op.short else None
            return Planned(name, self.w.create_lease(op.slot, op.ref, short))
        if isinstance(op, o.Wait):
            return self._plan_wait(name)
        if isinstance(op, o.BookOnLease):
            lease = self.m.lease(op.lease)
            if lease is None:
                return Planned(name, None, "no lease yet")
            role = self._lease_role(op, lease)
            return Planned(
                name,
                self.w.create_booking(role, op.user, op.token, lease.target_id),
                refs={"lease": lease.step, "role": role},
            )
        if isinstance(op, o.Cancel) and op.booking < 0:
            return Planned(name, cancel_body(f"{UNKNOWN_BOOKING}-{self.w.ids.nonce}"))
        if isinstance(op, (o.Cancel, o.Reschedule, o.PartySize)):
            b = self.m.booking(op.booking)
            if b is None:
                return Planned(name, None, "no booking yet")
            refs: dict[str, int] = {"booking": b.step, "user": b.user}
            if isinstance(op, o.Cancel) and op.whole:
                role = self.m.role_of(self.m.view(b).slot)
                return Planned(name, self._whole_body(b, role, "CANCELED"), refs={**refs, "role": role})
            if isinstance(op, o.Cancel):
                return Planned(name, cancel_body(b.target_id), refs=refs)
            target = self.move_target(op, b)
            if target is None:
                return Planned(name, None, "no such slot for this booking in the example")
            return Planned(name, self._update_body(op, b, target), refs={**refs, "role": target})
        return plan_read(self, op)

    def _plan_wait(self, name: str) -> Planned:
        """How long to wait (model clock) until every short lease the target granted has expired."""
        ends = [le.expires_sec for le in self._short_leases()]
        if not ends:
            return Planned(name, None, "no short lease to outlast")
        return Planned(name, {"seconds": round(max(ends) - self.m.service.clock() + o.EXPIRY_MARGIN_SEC, 2)})

    def _short_leases(self) -> list[Leased]:
        """The short leases the target granted that have not expired yet (by the model's clock)."""
        now = self.m.service.clock()
        return [le for le in self.m.leases.values() if now < le.expires_sec <= now + o.SHORT_LEASE_SEC + 1]

    def expiry_observed(self, later: Sequence[o.Op]) -> str | None:
        """How a later step of the history could see a short lease expire: ``"book"`` when it books on one
        (it must now get LEASE_EXPIRED: the wait is worth most), ``"other"`` when it books on a lease that a
        lease granted before it may stand for, moves a booking (its spot may be the one the lease held), or
        books, leases or reads the availability of a short lease's slot, None when no step could (the
        wait is skipped: in real time it would only cost seconds)."""
        short = self._short_leases()
        roles = {le.role for le in short}
        seen, more_leases = None, False
        for op in later:
            if isinstance(op, o.BookOnLease):
                if not more_leases and any(self.m.lease(op.lease) is le for le in short):
                    return "book"
                seen = "other"
            elif isinstance(op, o.Lease):
                more_leases = True
                seen = "other" if op.slot in roles else seen
            elif (
                isinstance(op, (o.Reschedule, o.PartySize))
                or (isinstance(op, (o.Book, o.Count)) and op.slot in roles)
                or (isinstance(op, o.Bal) and roles.intersection(op.slots))
            ):
                seen = "other"
        return seen

    def _lease_role(self, op: o.BookOnLease, lease: Leased) -> int:
        if not op.mismatch:
            return lease.role
        other = o.ROLE_B if lease.role != o.ROLE_B else o.ROLE_A
        return other if self.w.has(other) else lease.role

    def move_target(self, op: o.Reschedule | o.PartySize, b: Booked) -> int | None:
        role = self.m.role_of(self.m.view(b).slot)
        if isinstance(op, o.Reschedule) and op.repeat:
            return role if role in (o.ROLE_A, o.ROLE_A2) else None
        pairs = (
            {o.ROLE_A: o.ROLE_A2, o.ROLE_A2: o.ROLE_A}
            if isinstance(op, o.Reschedule)
            else {o.ROLE_A: o.ROLE_P, o.ROLE_P: o.ROLE_A}
        )
        target = pairs.get(role)
        return target if target in self.w.slots else None

    def _update_body(self, op: o.Reschedule | o.PartySize, b: Booked, role: int) -> dict[str, Any]:
        new = self.w.slots[role]
        if op.whole:
            return self._whole_body(b, role)
        if isinstance(op, o.PartySize):
            return {
                "booking": {"booking_id": b.target_id, "slot": {"resources": {"party_size": new.party_size}}}
            }
        slot = {"start_sec": str(new.start_sec), "duration_sec": str(new.duration_sec)}
        return {"booking": {"booking_id": b.target_id, "slot": slot}}

    def _whole_body(self, b: Booked, role: int, status: str | None = None) -> dict[str, Any]:
        """D27: the whole booking sent back (slot of ``role``, user, status) with the changes applied;
        ``status`` None keeps the booking's current status."""
        booking: dict[str, Any] = {
            "booking_id": b.target_id,
            "slot": self.w.slot_json(role),
            "user_information": self.w.user(b.user),
        }
        current = self.m.view(b).status
        if status is not None:
            booking["status"] = status
        elif current in (BookingStatus.CONFIRMED, BookingStatus.PENDING_MERCHANT_CONFIRMATION):
            booking["status"] = "CONFIRMED" if b.confirmed else current.name
        return {"booking": booking}

    # -- judging ----------------------------------------------------------------------------------------

    def judge(self, op: o.Op, body: Any, reply: Reply, step: int) -> Judged:
        """Judge ``reply`` to ``op`` and move the model along."""

        self.step = step
        out = Judged(verdicts=list(auto_checks(reply, auth="default", has_credentials=self.has_credentials)))
        if isinstance(op, o.Book):
            self._book(op.slot, op.user, op.token, None, reply, out)
        elif isinstance(op, o.BookOnLease):
            lease = self.m.lease(op.lease)
            assert lease is not None
            self._book(self._lease_role(op, lease), op.user, op.token, lease, reply, out)
        elif isinstance(op, o.Lease):
            judge_lease(self, op, reply, out)
        elif isinstance(op, o.Cancel):
            judge_cancel(self, op, reply, out)
        elif isinstance(op, (o.Reschedule, o.PartySize)):
            judge_move(self, op, body, reply, out)
        else:
            judge_read(self, op, body, reply, out)
        return out

    # CreateBooking ---------------------------------------------------------------------------------------

    def _book(
        self, role: int, user: int, token: int, lease: Leased | None, reply: Reply, out: Judged
    ) -> None:
        m = self.m
        known = m.by_token.get(token)
        if known is not None:
            self._replay(known, (role, user, lease.step if lease else -1), reply, out)
            return
        if role == o.ROLE_UNKNOWN:
            self._invalid_slot(reply, out)
            m.failed_tokens.add(token)
            return
        earlier = m.holds_live(user, role)
        d10_cause = failure_cause(reply) in D10_CAUSES[:2]
        if earlier is not None and not is_booking(reply) and (lease is None or d10_cause):
            # on a lease, the lease's own checks come first: only a D10 answer is a D10 refusal
            self._d10_refusal(earlier, role, reply, out)
            m.failed_tokens.add(token)
            return
        if earlier is not None and booking_id(reply) == earlier.target_id:
            out.verdicts.append(
                v(
                    "create-booking/new-token-not-earlier-booking",
                    False,
                    "a new idempotency token never gets the earlier booking back",
                    "a new booking, or SLOT_ALREADY_BOOKED_BY_USER / OVERLAPPING_RESERVATION",
                    f"the earlier booking {earlier.target_id!r} was returned",
                )
            )
            return
        result = m.create_booking(role, user, token, lease)
        if result.booking is not None:
            if earlier is not None:
                out.choices.append(("D10", "a new booking"))
            self._new_booking(role, user, token, lease, result, reply, out)
            return
        assert result.failure is not None
        m.failed_tokens.add(token)
        self._refused(role, lease, result.failure.cause.name, reply, out)

    def _replay(self, known: Booked, body: tuple[int, int, int], reply: Reply, out: Judged) -> None:
        """A token that made a booking, resent: the same request must get that booking (§3.2); with another
        body (slot, user or lease) the booking, a 4xx or a booking_failure (D24)."""
        m = self.m
        same_body = m.first_body.get(known.token) == body
        if body[0] != o.ROLE_UNKNOWN:  # a resend that wrongly took a spot took it on the slot it names
            log = m.slot_log(body[0])
            log.replayed, log.last = True, "replay"
        got = booking_id(reply) if is_booking(reply) else ""
        if same_body:
            rule = self._replay_rule(known)
            out.expect = Expect(
                "same-booking",
                {"step": known.step, "rule": rule, "update": known.updated_step},
                f"the same booking {known.target_id}",
            )
            ok = got == known.target_id
            out.verdicts.append(
                v(
                    rule,
                    ok,
                    "the same request (same idempotency token) gets the same booking",
                    f"booking_id {known.target_id!r}",
                    describe(reply),
                )
            )
            return
        out.expect = Expect(
            "d24", {"step": known.step}, "the token's booking, a 4xx or a booking_failure (D24)"
        )
        ok = not got or got == known.target_id
        out.verdicts.append(
            v(
                "create-booking/token-other-body",
                ok,
                "a token resent with another body makes no second booking (D24)",
                f"booking_id {known.target_id!r}, a 4xx or a booking_failure",
                f"a second booking {got!r}",
            )
        )
        out.choices.append(
            ("D24", "the booking" if got else ("4xx" if (reply.status or 0) >= 400 else "failure"))
        )

    def _replay_rule(self, known: Booked) -> str:
        """D26: a resend after the booking was cancelled or moved has rules of its own."""
        view = self.m.view(known)
        if view.status is BookingStatus.CANCELED:
            return "create-booking/replay-after-cancel"
        if self.m.role_of(view.slot) != self.m.first_body[known.token][0]:
            return "create-booking/replay-after-reschedule"
        return "create-booking/idempotent-replay"

    def _invalid_slot(self, reply: Reply, out: Judged) -> None:
        out.expect = Expect(
            "refusal",
            {"rule": "create-booking/invalid-slot", "codes": [400], "causes": ["SLOT_UNAVAILABLE"]},
            "400 or SLOT_UNAVAILABLE (D9)",
        )
        cause = failure_cause(reply)
        ok = reply.status == 400 or (
            reply.status == 200 and cause == "SLOT_UNAVAILABLE" and not is_booking(reply)
        )
        out.verdicts.append(
            v(
                "create-booking/invalid-slot",
                ok,
                "CreateBooking on a slot the feed does not have makes no booking",
                "HTTP 400, or HTTP 200 with SLOT_UNAVAILABLE",
                describe(reply),
            )
        )
        if ok:
            out.choices.append(("D9", "400" if reply.status == 400 else "SLOT_UNAVAILABLE"))

    def _d10_refusal(self, earlier: Booked, role: int, reply: Reply, out: Judged) -> None:
        """D10: the same user books the same slot under a new token and the target refuses. Accepted:
        SLOT_ALREADY_BOOKED_BY_USER or OVERLAPPING_RESERVATION, and SLOT_UNAVAILABLE when the slot is full
        anyway (the order of the two checks is the partner's)."""
        out.expect = Expect(
            "not-earlier",
            {"step": earlier.step},
            "a new booking, SLOT_ALREADY_BOOKED_BY_USER or OVERLAPPING_RESERVATION (D10)",
        )
        cause = failure_cause(reply)
        if reply.status is not None and reply.status >= 400:
            out.verdicts.append(
                v(
                    "failure/http-200",
                    False,
                    "a business failure is answered HTTP 200",
                    "HTTP 200 with booking_failure",
                    describe(reply),
                )
            )
            return
        full = self.m.service.check_availability(self.m.query(role)) == 0
        accepted = D10_CAUSES if full else D10_CAUSES[:2]
        ok = reply.status == 200 and cause in accepted
        out.verdicts.append(
            v(
                "create-booking/new-token-not-earlier-booking",
                ok,
                "the same user booking the same slot again gets a new booking or a refusal",
                "a new booking, SLOT_ALREADY_BOOKED_BY_USER or OVERLAPPING_RESERVATION",
                describe(reply),
            )
        )
        if ok and cause and cause != "SLOT_UNAVAILABLE":
            out.choices.append(("D10", cause))

    def _new_booking(
        self,
        role: int,
        user: int,
        token: int,
        lease: Leased | None,
        result: BookingResult,
        reply: Reply,
        out: Judged,
    ) -> None:
        m = self.m
        assert result.booking is not None
        s = self.w.slots[role]
        rule = self._success_rule(role, token, lease)
        out.expect = Expect("booking", {"role": role, "user": user, "rule": rule}, "a new booking")
        if not is_booking(reply):
            out.verdicts.append(
                v(
                    rule,
                    False,
                    "CreateBooking on an available slot succeeds",
                    "HTTP 200 with a booking",
                    describe(reply),
                )
            )
            return
        got = booking_id(reply)
        out.verdicts.append(
            v(
                "create-booking/booking-id",
                bool(got),
                "the booking has a booking_id",
                "a non-empty booking_id",
                describe(reply),
            )
        )
        out.verdicts.append(
            v(
                "create-booking/unique-booking-id",
                got not in m.target_ids,
                "distinct bookings get distinct booking_ids",
                "a booking_id not seen before",
                f"{got!r} was already given to another booking",
            )
        )
        mism = slot_mismatches(dig(reply.data, "booking.slot"), s)
        out.verdicts.append(
            v(
                "create-booking/echo-slot",
                not mism,
                "the booking echoes the requested slot",
                "the requested slot",
                "; ".join(mism),
            )
        )
        uid = self.w.user(user)["user_id"]
        got_uid = dig(reply.data, "booking.user_information.user_id")
        out.verdicts.append(
            v(
                "create-booking/echo-user",
                got_uid == uid,
                "the booking echoes the user",
                f"user_id {uid!r}",
                f"user_id {got_uid!r}",
            )
        )
        want = "PENDING_MERCHANT_CONFIRMATION" if s.confirmation_mode == ASYNC else "CONFIRMED"
        status = dig(reply.data, "booking.status", "BOOKING_STATUS_UNSPECIFIED")
        srule = (
            "create-booking/status-async" if s.confirmation_mode == ASYNC else "create-booking/status-sync"
        )
        out.verdicts.append(
            v(srule, status == want, f"a new booking on this slot is {want}", want, str(status))
        )
        booked = Booked(result.booking.booking_id, got, token, user, self.step)
        m.bookings.append(booked)
        m.by_token[token] = booked
        m.first_body[token] = (role, user, lease.step if lease else -1)
        m.target_ids.add(got)
        m.slot_log(role).booked += 1

    def _success_rule(self, role: int, token: int, lease: Leased | None) -> str:
        log = self.m.slot_log(role)
        if token in self.m.failed_tokens:  # a retry of a refused token: the retry explains it, lease or not
            return "create-booking/failed-retry"
        if lease is not None:
            return "lease/book-on-lease"
        freed = self.m.freed_by(role)
        if freed is not None:
            return freed
        return "create-booking/fill-to-capacity" if log.booked else "create-booking/succeeds"

    def _refused(self, role: int, lease: Leased | None, cause: str, reply: Reply, out: Judged) -> None:
        log = self.m.slot_log(role)
        if lease is not None and cause == "LEASE_EXPIRED":
            used = self._lease_used(lease)
            rule = LEASE_SINGLE_USE if used else "lease/expired"
            self.expect_refusal(rule, ["LEASE_EXPIRED"], reply, out, strict=not used)
            return
        if lease is not None:
            self.expect_refusal("lease/slot-mismatch-refused", [cause], reply, out, strict=False)
            return
        if log.leased:
            rule = "lease/holds-spot"
        elif log.moved_in:
            rule = "update-booking/reschedule-takes-new"
        else:
            rule = "create-booking/full-slot-unavailable"
        self.expect_refusal(rule, [cause], reply, out, strict=True)

    def _lease_used(self, lease: Leased) -> bool:
        return bool(self.m.service._s.leases[lease.model_id].used_by)  # noqa: SLF001 (the model's own state)

    def expect_refusal(
        self, rule: str, causes: list[str], reply: Reply, out: Judged, *, strict: bool
    ) -> None:
        """``strict``: HTTP 200 with one of ``causes``; else any booking_failure or 4xx (no booking)."""
        cause = failure_cause(reply)
        if strict:
            out.expect = Expect(
                "failure", {"rule": rule, "causes": causes}, f"HTTP 200 with {'/'.join(causes)}"
            )
            if reply.status is not None and reply.status >= 400:
                out.verdicts.append(
                    v(
                        "failure/http-200",
                        False,
                        "a business failure is answered HTTP 200",
                        "HTTP 200 with booking_failure",
                        describe(reply),
                    )
                )
                return
            ok = reply.status == 200 and cause in causes and not is_booking(reply)
            out.verdicts.append(
                v(
                    rule,
                    ok,
                    f"fails with {' or '.join(causes)}",
                    f"HTTP 200 with booking_failure.cause {'/'.join(causes)}",
                    describe(reply),
                )
            )
            return
        out.expect = Expect("refusal", {"rule": rule, "codes": [400, 404, 409], "causes": []}, "no booking")
        ok = (
            not is_booking(reply)
            and reply.status is not None
            and ((reply.status == 200 and cause is not None) or 400 <= reply.status < 500)
        )
        out.verdicts.append(v(rule, ok, "no booking is made", "a booking_failure or a 4xx", describe(reply)))
