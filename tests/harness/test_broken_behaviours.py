"""Each check fires: a breaker proxy changes ONE behaviour of the reference server, and the run must fail
(exit 1) naming the rule, with evidence (exchanges, expected/actual, a curl reproducer without secrets)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from harness.results import ExitCode, RunResult, Status

from .conftest import PASSWORD, ProxyCall  # noqa: TID252


def _failed_rules(result: RunResult) -> set[str]:
    return {c.rule_id for c in result.deviations() if c.status == Status.FAIL}


def _warned_rules(result: RunResult) -> set[str]:
    return {c.rule_id for c in result.deviations() if c.status == Status.WARN}


# --- hooks: each breaks one behaviour -----------------------------------------------------------------


def bal_drop_last(c: ProxyCall) -> None:
    if (
        c.op == "BatchAvailabilityLookup"
        and isinstance(c.body, dict)
        and c.body.get("slot_time_availability")
    ):
        c.body["slot_time_availability"] = c.body["slot_time_availability"][:-1]


def bal_reverse(c: ProxyCall) -> None:
    if (
        c.op == "BatchAvailabilityLookup"
        and isinstance(c.body, dict)
        and c.body.get("slot_time_availability")
    ):
        c.body["slot_time_availability"] = c.body["slot_time_availability"][::-1]


def bal_always_available(c: ProxyCall) -> None:
    if c.op == "BatchAvailabilityLookup" and isinstance(c.body, dict):
        for e in c.body.get("slot_time_availability", []):
            e["available"] = True


def failure_as_409(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking_failure" in c.body:
        c.status = 409


def failure_with_booking(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking_failure" in c.body:
        c.body["booking"] = {"booking_id": "ghost"}


def cause_unspecified(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking_failure" in c.body:
        c.body["booking_failure"]["cause"] = "CAUSE_UNSPECIFIED"


def drop_user(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking" in c.body:
        c.body["booking"].pop("user_information", None)


def wrong_start(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking" in c.body:
        c.body["booking"]["slot"]["start_sec"] = "12345"


def pending_on_sync(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking" in c.body:
        c.body["booking"]["status"] = "PENDING_MERCHANT_CONFIRMATION"


def replay_new_id(c: ProxyCall) -> None:
    """Idempotency broken: a replayed token gets a different booking_id."""
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking" in c.body:
        token = (c.request or {}).get("idempotency_token")
        seen = c.state.setdefault("tokens", {})
        seen[token] = seen.get(token, 0) + 1
        if seen[token] > 1:
            c.body["booking"]["booking_id"] += f"-replay{seen[token]}"


def earlier_booking_for_same_user(c: ProxyCall) -> None:
    """D10 broken: a new token for the same user and slot gets the earlier booking back."""
    if c.op != "CreateBooking" or not isinstance(c.body, dict) or not isinstance(c.request, dict):
        return
    key = repr((c.request.get("slot"), (c.request.get("user_information") or {}).get("user_id")))
    first = c.state.setdefault("first", {})
    if "booking" in c.body and key not in first:
        first[key] = c.body
    elif key in first:
        c.body = first[key]


def cache_failures(c: ProxyCall) -> None:
    """D11 broken: a failed CreateBooking is replayed from cache when resent."""
    if c.op != "CreateBooking" or not isinstance(c.request, dict):
        return
    token = c.request.get("idempotency_token")
    cache = c.state.setdefault("failures", {})
    if token in cache:
        c.status, c.body = 200, cache[token]
    elif isinstance(c.body, dict) and "booking_failure" in c.body:
        cache[token] = c.body


async def cache_failures_before(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.request, dict):
        cached = c.state.get("failures", {}).get(c.request.get("idempotency_token"))
        if cached is not None:
            c.status, c.body = 200, cached


def unknown_booking_500(c: ProxyCall) -> None:
    if c.op in ("UpdateBooking", "GetBookingStatus") and c.status in (400, 404):
        c.status, c.body = 500, {"error": "boom"}


def recancel_conflict(c: ProxyCall) -> None:
    if (
        c.op == "UpdateBooking"
        and isinstance(c.body, dict)
        and (c.body.get("booking_failure") or {}).get("cause") == "BOOKING_ALREADY_CANCELLED"
    ):
        c.status, c.body = 409, {"error": "already cancelled"}


def health_503(c: ProxyCall) -> None:
    if c.op == "HealthCheck":
        c.status = 503


async def no_auth_check(c: ProxyCall) -> None:
    """Authentication broken: the proxy adds valid credentials to every request."""
    import base64

    c.headers["Authorization"] = "Basic " + base64.b64encode(f"bc-user:{PASSWORD}".encode()).decode()


def unknown_method_200(c: ProxyCall) -> None:
    if c.op == "NoSuchMethod":
        c.status, c.body = 200, {}


def malformed_500(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and c.status == 400:
        c.status = 500


def status_stuck_confirmed(c: ProxyCall) -> None:
    if c.op == "GetBookingStatus" and isinstance(c.body, dict) and c.body.get("booking_status") == "CANCELED":
        c.body["booking_status"] = "CONFIRMED"


def list_leaks_foreign(c: ProxyCall) -> None:
    if c.op == "ListBookings" and isinstance(c.body, dict):
        c.body.setdefault("bookings", []).append(
            {"booking_id": "someone-else", "user_information": {"user_id": "999"}, "status": "CONFIRMED"}
        )


def list_empty(c: ProxyCall) -> None:
    if c.op == "ListBookings" and isinstance(c.body, dict):
        c.body["bookings"] = []


async def slow_bal(c: ProxyCall) -> None:
    if c.op == "BatchAvailabilityLookup":
        await asyncio.sleep(1.6)


def text_content_type(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and c.status == 200:
        c.response_headers["Content-Type"] = "text/plain"


def bad_int64(c: ProxyCall) -> None:
    if c.op == "CreateBooking" and isinstance(c.body, dict) and "booking" in c.body:
        c.body["booking"]["slot"]["duration_sec"] = "an hour"


def reschedule_keeps_old_slot(c: ProxyCall) -> None:
    if (
        c.op == "UpdateBooking"
        and isinstance(c.request, dict)
        and "start_sec" in (c.request.get("booking", {}).get("slot") or {})
        and isinstance(c.body, dict)
        and "booking" in c.body
    ):
        c.body["booking"]["booking_id"] = "another-id"


def lease_no_expiry(c: ProxyCall) -> None:
    if c.op == "CreateLease" and isinstance(c.body, dict) and "lease" in c.body:
        c.body["lease"].pop("lease_expiration_time_sec", None)


CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    # (name, breaker hooks, scenarios to run, rule that must fail)
    (
        "bal-drops-an-entry",
        {"after": bal_drop_last},
        ("bal/shape-echo-order",),
        "bal/one-entry-per-slot-time",
    ),
    (
        "bal-always-available",
        {"after": bal_always_available},
        ("bal/unknown-slot", "bal/full-then-freed"),
        "bal/unknown-slot-unavailable",
    ),
    ("failure-as-409", {"after": failure_as_409}, ("create-booking/fill-to-capacity",), "failure/http-200"),
    (
        "failure-with-booking",
        {"after": failure_with_booking},
        ("create-booking/fill-to-capacity",),
        "failure/other-fields-unset",
    ),
    ("user-not-echoed", {"after": drop_user}, ("create-booking/echo",), "create-booking/echo-user"),
    ("slot-not-echoed", {"after": wrong_start}, ("create-booking/echo",), "create-booking/echo-slot"),
    (
        "pending-on-sync-slot",
        {"after": pending_on_sync},
        ("create-booking/echo",),
        "create-booking/status-sync",
    ),
    (
        "replay-new-booking",
        {"after": replay_new_id},
        ("create-booking/idempotent-replay",),
        "create-booking/idempotent-replay",
    ),
    (
        "concurrent-replay-new-bookings",
        {"after": replay_new_id},
        ("create-booking/concurrent-replay",),
        "create-booking/concurrent-replay",
    ),
    (
        "d10-earlier-booking",
        {"after": earlier_booking_for_same_user},
        ("create-booking/new-token-same-user",),
        "create-booking/new-token-not-earlier-booking",
    ),
    (
        "d11-failure-cached",
        {"before": cache_failures_before, "after": cache_failures},
        ("create-booking/failed-retry",),
        "create-booking/failed-retry",
    ),
    (
        "unknown-booking-500",
        {"after": unknown_booking_500},
        ("update-booking/unknown-booking",),
        "update-booking/unknown-booking",
    ),
    (
        "unknown-status-500",
        {"after": unknown_booking_500},
        ("get-booking-status/unknown",),
        "get-booking-status/unknown",
    ),
    (
        "recancel-409",
        {"after": recancel_conflict},
        ("update-booking/cancel-twice",),
        "update-booking/recancel",
    ),
    ("health-503", {"after": health_503}, ("health/ok",), "health/ok"),
    (
        "auth-not-checked",
        {"before": no_auth_check},
        ("auth/missing-credentials",),
        "auth/missing-credentials",
    ),
    (
        "wrong-auth-not-checked",
        {"before": no_auth_check},
        ("auth/wrong-credentials",),
        "auth/wrong-credentials",
    ),
    ("unknown-method-200", {"after": unknown_method_200}, ("http/unknown-method",), "http/unknown-method"),
    (
        "malformed-json-500",
        {"after": malformed_500},
        ("bad-request/malformed-and-wrong-types",),
        "http/malformed-json-400",
    ),
    (
        "missing-field-500",
        {"after": malformed_500},
        ("bad-request/missing-required",),
        "http/missing-required-400",
    ),
    (
        "status-after-cancel",
        {"after": status_stuck_confirmed},
        ("get-booking-status/lifecycle",),
        "get-booking-status/after-cancel",
    ),
    (
        "list-leaks-other-users",
        {"after": list_leaks_foreign},
        ("list-bookings/contents-isolation",),
        "list-bookings/isolation",
    ),
    (
        "list-misses-bookings",
        {"after": list_empty},
        ("list-bookings/contents-isolation",),
        "list-bookings/contains-active",
    ),
    ("bal-over-budget", {"before": slow_bal}, ("bal/unknown-slot",), "latency/batch-availability-lookup"),
    ("int64-not-numeric", {"after": bad_int64}, ("create-booking/echo",), "json/response-schema"),
    (
        "reschedule-new-id",
        {"after": reschedule_keeps_old_slot},
        ("update-booking/reschedule",),
        "update-booking/reschedule",
    ),
    ("lease-without-expiry", {"after": lease_no_expiry}, ("lease/create-and-book",), "lease/expiration-set"),
]


@pytest.mark.parametrize("name,hooks,only,rule", CASES, ids=[c[0] for c in CASES])
def test_single_broken_behaviour_is_caught(
    name: str, hooks: dict[str, Any], only: tuple[str, ...], rule: str, broken: Callable[..., RunResult]
) -> None:
    result = broken(only=only, **hooks)
    assert rule in _failed_rules(result), [(c.rule_id, c.actual) for c in result.deviations()]
    assert result.exit_code == ExitCode.DEVIATIONS
    dev = next(c for c in result.deviations() if c.rule_id == rule)
    assert dev.exchanges, "a deviation carries the exchanges that show it"
    assert dev.expected and dev.spec and dev.step
    assert dev.reproduce and dev.reproduce.startswith("curl ")
    text = repr(result.to_dict())
    assert PASSWORD not in text, "credentials must be redacted everywhere"


@pytest.mark.parametrize(
    "hook,only,rule",
    [
        (bal_reverse, ("bal/shape-echo-order",), "bal/request-order"),
        (cause_unspecified, ("create-booking/fill-to-capacity",), "failure/cause-specified"),
        (text_content_type, ("create-booking/echo",), "json/content-type"),
    ],
    ids=["bal-reordered", "cause-unspecified", "content-type"],
)
def test_should_rules_warn_and_fail_only_with_fail_on_warning(
    hook: Any, only: tuple[str, ...], rule: str, broken: Callable[..., RunResult]
) -> None:
    result = broken(only=only, after=hook)
    assert rule in _warned_rules(result)
    if rule == "failure/cause-specified":
        # the scenario expected SLOT_UNAVAILABLE, so that MUST rule fails as well
        assert _failed_rules(result) == {"create-booking/full-slot-unavailable"}
        return
    assert _failed_rules(result) == set()
    assert result.exit_code == ExitCode.OK
    strict = broken(only=only, after=hook, fail_on="warning")
    assert strict.exit_code == ExitCode.DEVIATIONS


def test_evidence_of_a_later_step_includes_the_earlier_steps(broken: Callable[..., RunResult]) -> None:
    result = broken(only=("create-booking/idempotent-replay",), after=replay_new_id)
    dev = next(c for c in result.deviations() if c.rule_id == "create-booking/idempotent-replay")
    steps = [e.step for e in dev.exchanges]
    assert steps[0] == "create" and steps[-1] == "replay"
    assert all(
        e.request.headers.get("Authorization", "").startswith("Basic <redacted") for e in dev.exchanges
    )
    assert '-u "$BOOKCHECK_USER:$BOOKCHECK_PASSWORD"' in (dev.reproduce or "")


def test_reports_of_a_failing_run_are_valid(broken: Callable[..., RunResult], tmp_path: Any) -> None:
    """The records of a run with deviations (evidence, reproducers, raw bodies) serialise into every report
    format: the JSON report validates against the published schema, the JUnit file parses."""
    import json
    import xml.etree.ElementTree as ET
    from pathlib import Path

    import jsonschema

    from reports import render_report

    result = broken(
        only=("bad-request/*", "create-booking/idempotent-replay"), after=replay_new_id, before=None
    )
    assert result.exit_code == ExitCode.DEVIATIONS
    schema = json.loads((Path(__file__).parents[2] / "reports" / "report.schema.json").read_text())
    jsonschema.validate(json.loads(render_report("json", result)), schema)
    root = ET.fromstring(render_report("junit", result))
    assert root.iter("failure") is not None
    html = render_report("html", result)
    assert "create-booking/idempotent-replay" in html
