"""Judging the read operations of an explored history: GetBookingStatus, ListBookings,
BatchAvailabilityLookup and CheckAvailability, each against the model's state at that step.

Availability is predicted exactly (an open spot or not, per SlotTime), so a capacity that went wrong shows
up at the step that reads it; the rule named is the most specific one the slot's history explains (a spot
freed by a cancel, a SlotTime of another service, a SlotTime the feed does not have, ...).
"""

from __future__ import annotations

from typing import Any

from harness.checks import CheckContext, Verdict, describe, slot_mismatches
from harness.checks.availability import bal_shape
from harness.explore import ops as o
from harness.explore.expect import CONSISTENT, Expect, Judged, Planned
from harness.explore.judging import JudgeState
from harness.normalize import dig
from harness.targets import Reply
from mock_server.domain import BookingStatus, BookingView

UNKNOWN_BOOKING = "bookcheck-explore-unknown-booking"
RELEASED = ("CANCELED", "DECLINED_BY_MERCHANT", "FAILED")


def plan_read(j: JudgeState, op: o.Op) -> Planned:
    name = o.operation(op)
    if isinstance(op, o.Status):
        if op.booking < 0:
            return Planned(name, {"booking_id": f"{UNKNOWN_BOOKING}-{j.w.ids.nonce}"})
        b = j.m.booking(op.booking)
        if b is None:
            return Planned(name, None, "no booking yet")
        return Planned(name, {"booking_id": b.target_id}, refs={"booking": b.step})
    if isinstance(op, o.ListUser):
        return Planned(name, {"user_id": j.w.user(op.user)["user_id"]})
    if isinstance(op, o.Bal):
        return Planned(name, j.w.bal(op.slots))
    assert isinstance(op, o.Count)
    return Planned(name, {"slot": j.w.slot_json(op.slot)})


def judge_read(j: JudgeState, op: o.Op, body: Any, reply: Reply, out: Judged) -> None:
    if isinstance(op, o.Status):
        _status(j, op, reply, out)
    elif isinstance(op, o.ListUser):
        _list(j, op, reply, out)
    elif isinstance(op, o.Bal):
        _bal(j, op, body, reply, out)
    elif isinstance(op, o.Count):
        _count(j, op, reply, out)


def _v(rule: str, ok: bool, message: str, expected: str, actual: str) -> Verdict:
    return Verdict(rule, ok, message, expected, None if ok else actual)


def _accepted_status(j: JudgeState, b: Any, view: BookingView, got: Any) -> set[str]:
    """Statuses the target may report for a booking the model holds as ``view`` (D18: an asynchronous
    booking may have been confirmed or declined by the merchant meanwhile)."""
    want = {view.status.name}
    if b.declined:
        want = {"DECLINED_BY_MERCHANT"}
    elif b.confirmed and view.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION:
        want = {"CONFIRMED"}
    elif view.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION:
        want |= {"CONFIRMED", "DECLINED_BY_MERCHANT"}
    return want


def follow_async(j: JudgeState, b: Any, view: BookingView, got: Any) -> None:
    """The target reported the merchant's decision on an asynchronous booking: the model follows."""
    if view.status is not BookingStatus.PENDING_MERCHANT_CONFIRMATION or b.declined:
        return
    if got == "CONFIRMED":
        b.confirmed = True
    elif got == "DECLINED_BY_MERCHANT":
        b.declined = True
        j.m.update(b, status=BookingStatus.CANCELED)  # frees the spot, as the decline did on the target
        log = j.m.slot_log(j.m.role_of(view.slot))
        log.released, log.last = True, "cancel"


def _status(j: JudgeState, op: o.Status, reply: Reply, out: Judged) -> None:
    if op.booking < 0:
        out.expect = Expect(
            "http", {"rule": "get-booking-status/unknown", "codes": [400, 404]}, "HTTP 400 or 404"
        )
        ok = reply.status in (400, 404)
        out.verdicts.append(
            _v(
                "get-booking-status/unknown",
                ok,
                "an unknown booking_id is answered 400 or 404",
                "HTTP 400 or 404",
                describe(reply),
            )
        )
        if ok:
            out.choices.append(("D5", str(reply.status)))
        return
    b = j.m.booking(op.booking)
    assert b is not None
    view = j.m.view(b)
    got = dig(reply.data, "booking_status", "BOOKING_STATUS_UNSPECIFIED")
    want = _accepted_status(j, b, view, got)
    rule = (
        "get-booking-status/after-cancel"
        if view.status is BookingStatus.CANCELED and not b.declined
        else (
            "get-booking-status/async"
            if view.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION
            else "get-booking-status/known"
        )
    )
    out.expect = Expect(
        "status", {"step": b.step, "statuses": sorted(want), "rule": rule}, " or ".join(sorted(want))
    )
    ok = reply.status == 200 and dig(reply.data, "booking_id") == b.target_id and got in want
    out.verdicts.append(
        _v(
            rule,
            ok,
            "GetBookingStatus reports the booking's current status",
            f"HTTP 200, booking_id {b.target_id!r}, booking_status in {sorted(want)}",
            describe(reply),
        )
    )
    if ok:
        follow_async(j, b, view, got)


def _list(j: JudgeState, op: o.ListUser, reply: Reply, out: Judged) -> None:
    m = j.m
    uid = j.w.user(op.user)["user_id"]
    mine = [b for b in m.bookings if b.user == op.user]
    if not mine:
        out.expect = Expect("list-unknown", {}, "an empty list or 404")
        listed = dig(reply.data, "bookings", []) or []
        ok = reply.status == 404 or (reply.status == 200 and not listed)
        out.verdicts.append(
            _v(
                "list-bookings/unknown-user",
                ok,
                "a user without bookings has an empty list (or 404)",
                "HTTP 200 with no bookings, or HTTP 404",
                describe(reply),
            )
        )
        if ok:
            out.choices.append(("D6", "404" if reply.status == 404 else "empty list"))
        return
    now = m.service.clock()
    views = {b.target_id: (b, m.view(b)) for b in mine}
    active = [
        t
        for t, (b, vw) in views.items()
        if vw.status.name not in RELEASED and not b.declined and vw.slot.start_sec > now
    ]
    cancelled = [t for t, (b, vw) in views.items() if vw.status is BookingStatus.CANCELED and not b.declined]
    out.expect = Expect(
        "list",
        {
            "user": op.user,
            "active": [views[t][0].step for t in active],
            "cancelled": [views[t][0].step for t in cancelled],
            "others": [b.step for b in m.bookings if b.user != op.user],
        },
        f"{len(active)} active booking(s)",
    )
    if reply.status != 200:
        out.verdicts.append(
            _v(
                "list-bookings/contains-active",
                False,
                "ListBookings answers 200",
                "HTTP 200 with the user's bookings",
                describe(reply),
            )
        )
        return
    items = [x for x in (dig(reply.data, "bookings", []) or []) if isinstance(x, dict)]
    by_id = {str(x.get("booking_id", "")): x for x in items}
    missing = [t for t in active if t not in by_id]
    out.verdicts.append(
        _v(
            "list-bookings/contains-active",
            not missing,
            "every active booking of the user is listed",
            f"contains {sorted(active)}",
            f"missing {missing}",
        )
    )
    foreign = sorted(
        t
        for t, x in by_id.items()
        if t not in views or dig(x, "user_information.user_id") not in (None, "", uid)
    )
    out.verdicts.append(
        _v(
            "list-bookings/isolation",
            not foreign,
            "nothing of other users is listed",
            f"only bookings of user {uid}",
            f"foreign bookings {foreign}",
        )
    )
    wrong_cancel = [t for t in cancelled if t in by_id and dig(by_id[t], "status") != "CANCELED"]
    out.verdicts.append(
        _v(
            "list-bookings/cancelled",
            not wrong_cancel,
            "a cancelled booking is absent or listed as CANCELED",
            "absent, or status CANCELED",
            f"listed with another status: {wrong_cancel}",
        )
    )
    stale = []
    for t in active:
        x = by_id.get(t)
        if x is None:
            continue
        b, vw = views[t]
        if dig(x, "status") not in _accepted_status(j, b, vw, dig(x, "status")):
            stale.append(f"{t}: status {dig(x, 'status')!r} (want {vw.status.name})")
        if dig(x, "slot.start_sec") not in (None, vw.slot.start_sec):
            stale.append(f"{t}: start_sec {dig(x, 'slot.start_sec')!r} (want {vw.slot.start_sec})")
    out.verdicts.append(
        _v(
            CONSISTENT,
            not stale,
            "listed bookings show their current status and slot",
            "the state the earlier answers created",
            "; ".join(stale),
        )
    )
    if cancelled:
        out.choices.append(
            ("D7", "cancelled listed" if any(t in by_id for t in cancelled) else "cancelled absent")
        )


def _bal(j: JudgeState, op: o.Bal, body: Any, reply: Reply, out: Judged) -> None:
    m = j.m
    want = m.service.batch_availability([m.query(r) for r in op.slots])
    rules = [_bal_rule(j, r, i, op.slots, w) for i, (r, w) in enumerate(zip(op.slots, want, strict=True))]
    out.expect = Expect(
        "bal",
        {"roles": list(op.slots), "available": want, "rules": rules},
        ", ".join(f"{o.ROLE_NAMES[r]}={w}" for r, w in zip(op.slots, want, strict=True)),
    )
    ctx = CheckContext(scenario=None, step_id="", replies=[reply], request=body)  # type: ignore[arg-type]
    out.verdicts.extend(bal_shape(ctx))
    if reply.status != 200:
        return
    entries = [e for e in (dig(reply.data, "slot_time_availability", []) or []) if isinstance(e, dict)]
    for i, (role, w) in enumerate(zip(op.slots, want, strict=True)):
        entry = _entry_for(entries, body["slot_time"][i], i)
        got = bool(dig(entry, "available", False)) if entry is not None else None
        if entry is None:
            continue  # bal-shape already names the missing entry
        out.verdicts.append(
            _v(
                rules[i],
                got is w,
                "availability reflects the inventory",
                f"slot_time[{i}] ({o.ROLE_NAMES[role]}) available={w}",
                f"available={got}",
            )
        )


def _bal_rule(j: JudgeState, role: int, i: int, roles: tuple[int, ...], want: bool) -> str:
    """The most specific rule a wrong availability answer for ``role`` breaks, from the slot's history."""
    if role == o.ROLE_UNKNOWN:
        return "bal/unknown-slot-unavailable"
    if want and j.m.slot_log(role).released:
        return "bal/freed-slot-available"
    first = j.w.slots.get(roles[0]) if roles[0] != o.ROLE_UNKNOWN else j.w.main
    if want and i > 0 and first is not None and j.w.slots[role].service_id != first.service_id:
        return "bal/across-services"
    return "bal/open-slot-available" if want else "bal/full-slot-unavailable"


def _entry_for(entries: list[dict[str, Any]], asked: dict[str, Any], i: int) -> dict[str, Any] | None:
    key = (
        str(asked.get("service_id")),
        int(asked["start_sec"]),
        int(asked["duration_sec"]),
        dig(asked, "resource_ids.staff_id", ""),
        dig(asked, "resource_ids.room_id", ""),
        dig(asked, "resource_ids.party_size", 0),
    )
    for e in entries:
        st = e.get("slot_time") or {}
        got = (
            str(dig(st, "service_id", "")),
            _num(dig(st, "start_sec", 0)),
            _num(dig(st, "duration_sec", 0)),
            dig(st, "resource_ids.staff_id", ""),
            dig(st, "resource_ids.room_id", ""),
            _num(dig(st, "resource_ids.party_size", 0)),
        )
        if got == key:
            return e
    return entries[i] if i < len(entries) else None


def _num(x: Any) -> Any:
    return int(x) if isinstance(x, str) and x.isdigit() else x


def _count(j: JudgeState, op: o.Count, reply: Reply, out: Judged) -> None:
    m = j.m
    want = m.service.check_availability(m.query(op.slot))
    is_open = want > 0
    if op.slot == o.ROLE_UNKNOWN:
        rule = "check-availability/full-count"
    elif is_open:
        rule = "check-availability/open-count"
    else:
        rule = "check-availability/full-count"
    out.expect = Expect("count", {"role": op.slot, "open": is_open, "rule": rule}, f"count_available {want}")
    if op.slot == o.ROLE_UNKNOWN and reply.status in (400, 404):
        return  # v2: INVALID_ARGUMENT (or NOT_FOUND) for a slot that does not exist is an allowed answer
    if reply.status != 200:
        out.verdicts.append(_v(rule, False, "CheckAvailability answers 200", "HTTP 200", describe(reply)))
        return
    got = dig(reply.data, "count_available", 0)
    ok = (isinstance(got, int) and got > 0) if is_open else got == 0
    out.verdicts.append(
        _v(rule, ok, "count_available reflects the inventory", "> 0" if is_open else "0", str(got))
    )
    s = j.w.main if op.slot == o.ROLE_UNKNOWN else j.w.slots[op.slot]
    start = j.w.unknown_start if op.slot == o.ROLE_UNKNOWN else None
    mism = slot_mismatches(reply.data.get("slot"), s, start_sec=start)
    out.verdicts.append(
        _v(
            "check-availability/echo-slot",
            not mism,
            "the requested slot is echoed",
            "the requested slot",
            "; ".join(mism),
        )
    )
