"""Checks of the health_auth family (``scenarios/health_auth.yaml``): HealthCheck answers, and refused
credentials are refused with 401."""

from __future__ import annotations

from collections.abc import Iterable

from harness.checks.core import CheckContext, Verdict, check, describe, verdict


@check("health-ok", rules=("health/ok",))
def health_ok(ctx: CheckContext) -> Iterable[Verdict]:
    r = ctx.reply
    yield verdict(
        "health/ok", r.status == 200, "HealthCheck answers 200", expected="HTTP 200", actual=describe(r)
    )


@check(
    "auth-refused",
    rules=(
        "auth/missing-credentials",
        "auth/wrong-credentials",
        "auth/health-check-protected",
        "auth/status-401",
    ),
)
def auth_refused(ctx: CheckContext, rule: str) -> Iterable[Verdict]:
    r = ctx.reply
    yield verdict(
        rule, r.status in (401, 403), "the request is refused", expected="HTTP 401", actual=describe(r)
    )
    if r.status in (401, 403):
        yield verdict(
            "auth/status-401",
            r.status == 401,
            "refused credentials are answered 401",
            expected="HTTP 401",
            actual=f"HTTP {r.status}",
        )
