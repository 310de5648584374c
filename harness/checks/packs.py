"""Checks of packs and memberships (``payments/pack``, ``payments/owned-pack``; spec §3.12.6, D42-D45):
the ``user_payment_option`` a booking returns, its counts across calls, and the refusal of an option that
cannot pay (D44). Split from :mod:`harness.checks.payments`, which imports this module so its checks
register with the payment family."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checks.core import CheckContext, Verdict, check, describe, failure_cause, is_booking, verdict
from harness.normalize import dig
from harness.target_base import Reply


def payment_of(data: Any, key: str = "booking") -> dict[str, Any]:
    """``<key>.payment_information`` of a normalised body ({} when absent)."""
    got = dig(data if isinstance(data, dict) else {}, f"{key}.payment_information")
    return got if isinstance(got, dict) else {}


def upo_of(data: Any) -> dict[str, Any]:
    got = data.get("user_payment_option") if isinstance(data, dict) else None
    return got if isinstance(got, dict) else {}


def _upo_match(r: Reply, extra: dict[str, Any]) -> Verdict:
    upo, pay = upo_of(r.data), payment_of(r.data)
    wrong = []
    if not upo.get("user_payment_option_id"):
        wrong.append("no user_payment_option in the answer")
    elif upo.get("user_payment_option_id") != pay.get("user_payment_option_id"):
        wrong.append(
            f"user_payment_option {upo.get('user_payment_option_id')!r} but payment_information names "
            f"{pay.get('user_payment_option_id')!r}"
        )
    wrong += [f"{k} {upo.get(k)!r} (want {v!r})" for k, v in extra.items() if upo and upo.get(k) != v]
    return verdict(
        "payments/upo-id-match",
        not wrong,
        "the answer returns the pack, with the id payment_information names",
        expected="user_payment_option whose id equals payment_information.user_payment_option_id",
        actual="; ".join(wrong) or None,
        evidence=[r],
    )


def _count(r: Reply, original: int | None, current: int) -> Verdict:
    upo = upo_of(r.data)
    have = (int(upo.get("original_count") or 0), int(upo.get("current_count") or 0))
    ok = bool(upo) and have[1] == current and (original is None or have[0] == original)
    want = f"current_count {current}" + (f", original_count {original}" if original is not None else "")
    return verdict(
        "payments/upo-count",
        ok,
        "the pack's counts follow the uses",
        expected=want,
        actual=None if ok else f"original_count {have[0]}, current_count {have[1]}",
        evidence=[r],
    )


@check("upo-bought", rules=("payments/upo-id-match", "payments/upo-count"))
def upo_bought(ctx: CheckContext, payment_option_id: str, type: str, sessions: int) -> Iterable[Verdict]:
    """D43: a booking that buys a pack returns it: ids match, payment_option_id and type as in the feed,
    original_count = sessions and current_count = sessions - 1 (the purchase pays for this booking)."""
    for r in ctx.replies:
        if is_booking(r):
            yield _upo_match(r, {"payment_option_id": payment_option_id, "type": type})
            yield _count(r, sessions, sessions - 1)


def _current(reply: Reply) -> int:
    return int(upo_of(reply.data).get("current_count") or 0)


@check("upo-used", rules=("payments/upo-id-match", "payments/upo-count"))
def upo_used(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D42: a booking paid with the pack of ``step`` returns it with the same id, one use fewer."""
    before = _current(ctx.earlier(step))
    for r in ctx.replies:
        if is_booking(r):
            yield _upo_match(r, {})
            yield _count(r, None, before - 1)


@check("upo-credited", rules=("payments/upo-credit-on-cancel",))
def upo_credited(ctx: CheckContext, step: str) -> Iterable[Verdict]:
    """D45: the cancel of a booking paid with a pack returns the pack with one use more than ``step``
    reported (a multi-use pack)."""
    before = _current(ctx.earlier(step))
    for r in ctx.replies:
        if not is_booking(r):
            continue
        upo = upo_of(r.data)
        ok = bool(upo) and _current(r) == before + 1
        yield verdict(
            "payments/upo-credit-on-cancel",
            ok,
            "the cancel gives the pack's use back and returns the pack",
            expected=f"user_payment_option with current_count {before + 1}",
            actual=None if ok else (f"current_count {_current(r)}" if upo else "no user_payment_option"),
            evidence=[r],
            related=(step,),
        )


# ------------------------------------------------------------------------------------------------------
# owned packs (D42) and options that cannot pay (D44)
# ------------------------------------------------------------------------------------------------------

SINGLE_USE, UNLIMITED_USE = "PAYMENT_OPTION_SINGLE_USE", "PAYMENT_OPTION_UNLIMITED_USE"
#: the BookingFailure causes of an option that cannot pay (D44: either for every case)
UNUSABLE = ("PAYMENT_OPTION_NOT_VALID", "USER_CANNOT_USE_PAYMENT_OPTION")


def _owned_count(r: Reply, type: str, sessions: int) -> Verdict:
    """D42 for a pack the harness did not buy: its counts before the use are unknown, so a single use
    leaves 0 of 1, a multi-use pack of ``sessions`` between 0 and ``sessions - 1``."""
    upo = upo_of(r.data)
    original, current = int(upo.get("original_count") or 0), int(upo.get("current_count") or 0)
    if type == SINGLE_USE:
        ok, want = (original, current) == (1, 0), "original_count 1, current_count 0"
    else:
        ok = original == sessions and 0 <= current < sessions
        want = f"original_count {sessions}, current_count 0 to {sessions - 1}"
    return verdict(
        "payments/upo-count",
        bool(upo) and ok,
        "the owned pack's counts show the use",
        expected=want,
        actual=None if upo and ok else f"original_count {original}, current_count {current}",
        evidence=[r],
    )


@check("upo-owned-used", rules=("payments/upo-id-match", "payments/upo-count"))
def upo_owned_used(ctx: CheckContext, payment_option_id: str, type: str, sessions: int) -> Iterable[Verdict]:
    """D42: a booking paid with a pack the user already owned returns it, ids matching, with the use counted
    (an unlimited membership's counts are not judged: they do not change)."""
    for r in ctx.replies:
        if is_booking(r):
            yield _upo_match(r, {"payment_option_id": payment_option_id})
            if type != UNLIMITED_USE:
                yield _owned_count(r, type, sessions)


@check("unusable-option", rules=("payments/unusable-option",))
def unusable_option(ctx: CheckContext, why: str) -> Iterable[Verdict]:
    """D44: an option that cannot pay (``why``: no uses left, another user's) is refused with either
    cause, HTTP 200; a booking, another cause, 4xx or 5xx fails."""
    for r in ctx.replies:
        cause = failure_cause(r)
        ok = r.status == 200 and cause in UNUSABLE and not is_booking(r)
        yield verdict(
            "payments/unusable-option",
            ok,
            f"a pack that cannot pay ({why}) is refused" + (f" with {cause}" if ok else ""),
            expected=f"HTTP 200 with booking_failure {' or '.join(UNUSABLE)}",
            actual=None if ok else describe(r),
            evidence=[r],
        )
