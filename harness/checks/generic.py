"""Generic checks: the scenario names the rule they report (``rule:`` in the scenario file), so one check
serves every family: an accepted status, an accepted business failure, no booking made."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.core import (
    CheckContext,
    Verdict,
    check,
    describe,
    expect_business_failure,
    failure_cause,
    verdict,
)


@check("status-in", generic_rule=True)
def status_in(ctx: CheckContext, rule: str, codes: list[int], what: str | None = None) -> Iterable[Verdict]:
    bad = [r for r in ctx.replies if r.status not in codes]
    yield verdict(
        rule,
        not bad,
        what or f"HTTP status in {codes}",
        expected=f"HTTP {' or '.join(map(str, codes))}",
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )


@check("business-failure", generic_rule=True)
def business_failure(
    ctx: CheckContext, rule: str, causes: list[str], what: str | None = None
) -> Iterable[Verdict]:
    yield from expect_business_failure(rule, ctx.replies, causes, what or f"fails with {' or '.join(causes)}")


@check("no-booking", generic_rule=True)
def no_booking(
    ctx: CheckContext,
    rule: str,
    codes: list[int] | None = None,
    causes: list[str] | None = None,
    what: str | None = None,
    any_refusal: bool = False,
) -> Iterable[Verdict]:
    """No booking is made: an accepted 4xx status or an accepted business failure (``any_refusal``: any 4xx
    and any booking_failure are accepted)."""
    codes = codes or []
    causes = causes or []
    bad = []
    for r in ctx.replies:
        if r.status in codes or (any_refusal and r.status is not None and 400 <= r.status < 500):
            continue
        if (
            r.status == 200
            and (failure_cause(r) in causes or (any_refusal and failure_cause(r)))
            and not r.data.get("booking")
        ):
            continue
        bad.append(r)
    accepted = [f"HTTP {c}" for c in codes] + [f"HTTP 200 + {c}" for c in causes]
    if any_refusal:
        accepted = ["a 4xx status", "HTTP 200 with booking_failure"]
    yield verdict(
        rule,
        not bad,
        what or "no booking is made",
        expected=" or ".join(accepted),
        actual=describe(bad[0]) if bad else None,
        evidence=bad[:3] or None,
    )
