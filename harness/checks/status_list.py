"""Checks of the status_list family (``scenarios/status_list.yaml``): GetBookingStatus reports the current
status; ListBookings lists the user's bookings, only theirs, and cancelled ones correctly."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checks.core import CheckContext, Verdict, booking_id, check, describe, verdict
from harness.normalize import dig
from harness.target_base import Reply


@check(
    "booking-status",
    rules=("get-booking-status/known", "get-booking-status/after-cancel", "get-booking-status/async"),
)
def booking_status(
    ctx: CheckContext, step: str, status: list[str], rule: str = "get-booking-status/known"
) -> Iterable[Verdict]:
    want = booking_id(ctx.earlier(step))
    r = ctx.reply
    got = dig(r.data, "booking_status", "BOOKING_STATUS_UNSPECIFIED")
    ok = r.status == 200 and dig(r.data, "booking_id") == want and got in status
    yield verdict(
        rule,
        ok,
        "GetBookingStatus reports the booking's current status",
        expected=f"HTTP 200, booking_id {want!r}, booking_status in {status}",
        actual=None if ok else describe(r),
        related=(step,),
    )


#: Statuses of a booking that is no longer active (§2.3): an active booking listed with one is misreported.
_ENDED = ("CANCELED", "DECLINED_BY_MERCHANT", "FAILED")


def _listed(reply: Reply) -> list[dict[str, Any]]:
    items = reply.data.get("bookings") or []
    return [b for b in items if isinstance(b, dict)] if isinstance(items, list) else []


@check(
    "list-bookings",
    rules=("list-bookings/contains-active", "list-bookings/isolation", "list-bookings/cancelled"),
)
def list_bookings(
    ctx: CheckContext,
    user: str,
    active: list[str],
    others: list[str] | None = None,
    cancelled: list[str] | None = None,
) -> Iterable[Verdict]:
    """``active``/``others``/``cancelled``: steps whose booking belongs to the user / to other users / was
    cancelled (still the user's)."""
    r = ctx.reply
    related = tuple(active) + tuple(others or ()) + tuple(cancelled or ())
    if r.status != 200:
        yield verdict(
            "list-bookings/contains-active",
            False,
            "ListBookings answers 200 for a user with bookings",
            expected="HTTP 200 with the user's bookings",
            actual=describe(r),
            related=related,
        )
        return
    listed = _listed(r)
    by_id = {str(b.get("booking_id", "")): b for b in listed}
    want = {booking_id(ctx.earlier(s)) for s in active}
    missing = sorted(want - set(by_id))
    # listed, but not as an active booking (e.g. CANCELED): the user is shown it as gone
    inactive = sorted(i for i in want & set(by_id) if dig(by_id[i], "status") in _ENDED)
    problems = [f"missing {missing}"] if missing else []
    problems += [f"listed as ended {[(i, dig(by_id[i], 'status')) for i in inactive]}"] if inactive else []
    yield verdict(
        "list-bookings/contains-active",
        not problems,
        "every active booking of the user is listed, as active",
        expected=f"contains {sorted(want)}, none CANCELED, DECLINED_BY_MERCHANT or FAILED",
        actual="; ".join(problems) or None,
        related=related,
    )
    uid = ctx.scenario.user(user)["user_id"]
    foreign = {booking_id(ctx.earlier(s)) for s in (others or [])}
    leaked = sorted(i for i in by_id if i in foreign)
    leaked += sorted(
        str(b.get("booking_id")) for b in listed if dig(b, "user_information.user_id") not in (None, "", uid)
    )
    yield verdict(
        "list-bookings/isolation",
        not leaked,
        "nothing of other users is listed",
        expected=f"only bookings of user {uid}",
        actual=f"foreign bookings {sorted(set(leaked))}" if leaked else None,
        related=related,
    )
    for s in cancelled or []:
        bid = booking_id(ctx.earlier(s))
        b = by_id.get(bid)
        ok = b is None or dig(b, "status") == "CANCELED"
        yield verdict(
            "list-bookings/cancelled",
            ok,
            "a cancelled booking is absent or listed as CANCELED",
            expected="absent, or status CANCELED",
            actual=None if ok else f"listed with status {dig(b, 'status')!r}",
            related=related,
        )


@check("list-unknown-user", rules=("list-bookings/unknown-user",))
def list_unknown_user(ctx: CheckContext) -> Iterable[Verdict]:
    r = ctx.reply
    ok = r.status == 404 or (r.status == 200 and not _listed(r))
    yield verdict(
        "list-bookings/unknown-user",
        ok,
        "an unknown user has an empty list (or 404)",
        expected="HTTP 200 with no bookings, or HTTP 404",
        actual=None if ok else describe(r),
    )
