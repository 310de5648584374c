"""Checks of the availability family (``scenarios/availability.yaml``): BatchAvailabilityLookup shape,
echo, order and availability; CheckAvailability echo and counts; the same answer for every allowed int64
encoding."""

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


def _slot_time_key(st: Any) -> tuple[Any, ...]:
    st = st if isinstance(st, dict) else {}
    return (
        dig(st, "service_id", ""),
        _int(dig(st, "start_sec", 0)),
        _int(dig(st, "duration_sec", 0)),
        dig(st, "resource_ids.staff_id", ""),
        dig(st, "resource_ids.room_id", ""),
        _int(dig(st, "resource_ids.party_size", 0)),
    )


def _int(v: Any) -> Any:
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return v


def _bal_entries(reply: Reply) -> list[dict[str, Any]]:
    entries = reply.data.get("slot_time_availability") or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


@check("bal-shape", rules=("bal/one-entry-per-slot-time", "bal/echo-slot-time", "bal/request-order"))
def bal_shape(ctx: CheckContext) -> Iterable[Verdict]:
    asked = (ctx.request or {}).get("slot_time") or []
    for r in ctx.replies:
        if not r.ok:
            yield verdict(
                "bal/one-entry-per-slot-time",
                False,
                "BatchAvailabilityLookup answers 200",
                expected="HTTP 200",
                actual=describe(r),
                evidence=[r],
            )
            continue
        entries = _bal_entries(r)
        yield verdict(
            "bal/one-entry-per-slot-time",
            len(entries) == len(asked),
            "one slot_time_availability per requested SlotTime",
            expected=f"{len(asked)} entries",
            actual=f"{len(entries)} entries",
            evidence=[r],
        )
        want = [_slot_time_key(st) for st in asked]
        got = [_slot_time_key(e.get("slot_time")) for e in entries]
        missing = [w for w in want if w not in got]
        yield verdict(
            "bal/echo-slot-time",
            not missing and len(entries) == len(asked),
            "every requested SlotTime is echoed",
            expected="each SlotTime echoed",
            actual=f"not echoed: {missing[:3]}" if missing else None,
            evidence=[r],
        )
        if not missing and len(got) == len(want):
            yield verdict(
                "bal/request-order",
                got == want,
                "entries come back in request order",
                expected=str(want[:4]),
                actual=str(got[:4]),
                evidence=[r],
            )


@check(
    "bal-available",
    rules=(
        "bal/open-slot-available",
        "bal/unknown-slot-unavailable",
        "bal/full-slot-unavailable",
        "bal/freed-slot-available",
        "bal/across-services",
    ),
)
def bal_available(ctx: CheckContext, expect: list[bool], rule: str) -> Iterable[Verdict]:
    """``expect[i]``: whether the i-th requested SlotTime must be available (paired with its answer by
    the echo, else by index)."""
    asked = (ctx.request or {}).get("slot_time") or []
    for r in ctx.replies:
        if r.status != 200:
            yield verdict(
                rule,
                False,
                "BatchAvailabilityLookup answers 200 with an entry per SlotTime",
                expected="HTTP 200",
                actual=describe(r),
                evidence=[r],
            )
            continue
        entries = _bal_entries(r)
        by_key = {_slot_time_key(e.get("slot_time")): e for e in entries}
        wrong = []
        for i, (st, want) in enumerate(zip(asked, expect, strict=False)):
            e = by_key.get(_slot_time_key(st)) or (entries[i] if i < len(entries) else None)
            got = bool(dig(e, "available", False)) if e is not None else None
            if got is not want:
                wrong.append(f"slot_time[{i}] available={got} (want {want})")
        yield verdict(
            rule,
            not wrong,
            "availability reflects the inventory",
            expected=", ".join(f"[{i}] available={w}" for i, w in enumerate(expect)),
            actual="; ".join(wrong) or None,
            evidence=[r],
        )


@check(
    "check-availability",
    rules=("check-availability/echo-slot", "check-availability/open-count", "check-availability/full-count"),
)
def check_availability(ctx: CheckContext, slot: str, open: bool) -> Iterable[Verdict]:  # noqa: A002
    s = ctx.scenario.slot(slot)
    r = ctx.reply
    rule = "check-availability/open-count" if open else "check-availability/full-count"
    if r.status != 200:
        yield verdict(rule, False, "CheckAvailability answers 200", expected="HTTP 200", actual=describe(r))
        return
    mism = slot_mismatches(r.data.get("slot"), s)
    yield verdict(
        "check-availability/echo-slot",
        not mism,
        "the requested slot is echoed",
        expected="the requested slot",
        actual="; ".join(mism) or None,
    )
    count = dig(r.data, "count_available", 0)
    ok = (isinstance(count, int) and count > 0) if open else count == 0
    yield verdict(
        rule, ok, "count_available reflects the inventory", expected="> 0" if open else "0", actual=str(count)
    )


@check("same-answer-as", rules=("json/accepts-int64-strings",))
def same_answer_as(
    ctx: CheckContext, step: str, rule: str = "json/accepts-int64-strings"
) -> Iterable[Verdict]:
    """The reply equals (after normalisation) the reply of ``step``, which sent the same request in another
    encoding (e.g. int64 as numbers there, as strings here)."""
    other = ctx.earlier(step)
    r = ctx.reply
    ok = r.status == other.status and r.body == other.body
    yield verdict(
        rule,
        ok,
        "the same request in another allowed JSON encoding gets the same answer",
        expected=describe(other),
        actual=None if ok else describe(r),
        related=(step,),
    )


@check(
    "bookable-as-answered",
    rules=("bal/available-is-bookable", "check-availability/available-is-bookable"),
)
def bookable_as_answered(ctx: CheckContext, step: str, rule: str) -> Iterable[Verdict]:
    """D31: the CreateBooking of this step (a fresh token, sent right after the availability answer of
    ``step`` for the same slot) does not fail with SLOT_UNAVAILABLE when that answer said available. When
    the answer said unavailable there is nothing to judge here (bal/open-slot-available and
    check-availability/open-count judge that answer)."""
    answer = ctx.earlier(step)
    if answer.status != 200:
        return
    if answer.exchange.operation == "CheckAvailability":
        count = dig(answer.data, "count_available", 0)
        said = isinstance(count, int) and count > 0
    else:
        said = bool(dig(_bal_entries(answer)[0], "available", False)) if _bal_entries(answer) else False
    if not said:
        return
    r = ctx.reply
    false = r.status == 200 and failure_cause(r) == "SLOT_UNAVAILABLE"
    yield verdict(
        rule,
        not false,
        "a slot answered available can be booked at once",
        expected="the booking (no SLOT_UNAVAILABLE right after an answer of available)",
        actual=f"{answer.exchange.operation} answered the slot available, then CreateBooking of that slot "
        "failed with SLOT_UNAVAILABLE"
        if false
        else None,
        related=(step,),
    )
