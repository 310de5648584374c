"""Checks of the lease family (``scenarios/lease.yaml``): a lease is created, expires in the future, echoes
what was asked, and the same user_reference gets the same lease. (Booking on a lease, and an expired lease,
are judged with ``booking-created`` and ``business-failure``.)"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checks.core import (
    CheckContext,
    Verdict,
    check,
    describe,
    failure_cause,
    slot_mismatches,
    verdict,
)
from harness.normalize import dig
from harness.target_base import Reply


def lease_of(reply: Reply) -> dict[str, Any]:
    lease = reply.data.get("lease")
    return lease if isinstance(lease, dict) else {}


@check("lease-created", rules=("lease/created", "lease/expiration-set", "lease/echo"))
def lease_created(ctx: CheckContext, slot: str, now: int) -> Iterable[Verdict]:
    r = ctx.reply
    lease = lease_of(r)
    ok = r.status == 200 and bool(lease.get("lease_id")) and failure_cause(r) is None
    yield verdict(
        "lease/created",
        ok,
        "CreateLease returns a lease with a lease_id",
        expected="HTTP 200, lease.lease_id set",
        actual=None if ok else describe(r),
    )
    if not ok:
        return
    exp = dig(lease, "lease_expiration_time_sec", 0)
    ok_exp = isinstance(exp, int) and exp > now
    yield verdict(
        "lease/expiration-set",
        ok_exp,
        "lease_expiration_time_sec is set, in the future",
        expected=f"> {now}",
        actual=str(exp),
    )
    asked = (ctx.request or {}).get("lease") or {}
    problems = slot_mismatches(lease.get("slot"), ctx.scenario.slot(slot))
    if lease.get("user_reference") != asked.get("user_reference"):
        problems.append(
            f"user_reference={lease.get('user_reference')!r} (want {asked.get('user_reference')!r})"
        )
    yield verdict(
        "lease/echo",
        not problems,
        "the lease echoes the slot and user_reference",
        expected="slot and user_reference as requested",
        actual="; ".join(problems) or None,
    )


@check("same-lease-as", rules=("lease/idempotent-user-reference",))
def same_lease_as(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    want = lease_of(ctx.earlier(step)).get("lease_id")
    r = ctx.reply
    ok = r.status == 200 and lease_of(r).get("lease_id") == want
    yield verdict(
        "lease/idempotent-user-reference",
        ok,
        "the same user_reference gets the same lease",
        expected=f"lease_id {want!r}",
        actual=None if ok else describe(r),
        related=(step,),
    )
