"""Realistic run results for the report writers: a clean run, and a run with every kind of outcome.

The troubled run has FAIL, WARN, SKIP and ERROR, a baselined deviation and a stale baseline entry, a call
that got no response, a cleanup that failed, and a hostile server: script tags, an ANSI escape, a NUL and
non-ASCII text in its response bodies, headers and the ids it assigned.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "selftest"))

from faultrun import run_harness, serve  # noqa: E402

from harness.results import (  # noqa: E402
    BaselineOutcome,
    CheckResult,
    CreatedResource,
    Exchange,
    ExitCode,
    HttpMessage,
    MethodStats,
    Rule,
    RunResult,
    ScenarioResult,
    Severity,
    Status,
)

TARGET = "http://127.0.0.1:8080"
HOSTILE = "</script><script>alert(1)</script>"
ANSI = "\x1b[31mred\x1b[0m"
NON_ASCII = "Café Zürich — 予約 ✓"

RULES = (
    Rule("health/ok", "MUST", "§3.10", "HealthCheck MUST answer 200 when the server is up."),
    Rule(
        "create-booking/idempotent-replay",
        "MUST",
        "§3.2",
        "A CreateBooking resent with the same idempotency token MUST return the same booking.",
    ),
    Rule(
        "create-booking/business-failure-200",
        "MUST",
        "§3.1",
        "A business failure MUST be HTTP 200 with booking_failure set.",
    ),
    Rule(
        "create-booking/cause-specified",
        "SHOULD NOT",
        "§11 D17",
        "booking_failure.cause SHOULD NOT be CAUSE_UNSPECIFIED.",
    ),
    Rule("lease/hold-last-spot", "MUST", "§11 D23", "A live lease MUST hold the leased spot."),
    Rule(
        "list-bookings/contains-active", "MUST", "§11 D7", "ListBookings MUST contain every active booking."
    ),
    Rule("update-booking/reschedule", "MUST", "§11 D22", "A reschedule MUST keep booking_id."),
    Rule("auth/basic-401", "MUST", "§11 D19", "Missing credentials MUST give 401."),
    Rule("payments/never-charged", "MUST", "§2.6", "Not observable.", excluded="charges happen off the wire"),
)


def _req(op: str, body: object = None) -> HttpMessage:
    return HttpMessage(
        headers={"Content-Type": "application/json", "Authorization": "Basic <redacted>"},
        body=body,
        method="POST",
        url=f"{TARGET}/v3/{op}",
    )


def _resp(status: int, body: object, text: str = "OK") -> HttpMessage:
    return HttpMessage(
        headers={"Content-Type": "application/json"}, body=body, status=status, status_text=text
    )


def _ok(
    rule: str, scenario: str, step: str, severity: Severity = Severity.ERROR, spec: str = "§3"
) -> CheckResult:
    return CheckResult(
        rule_id=rule,
        status=Status.PASS,
        severity=severity,
        spec=spec,
        scenario_id=scenario,
        step=step,
        message="held",
    )


def _methods(failed: int = 0, health_failed: int = 0) -> tuple[MethodStats, ...]:
    return (
        MethodStats("HealthCheck", 1, health_failed, 0, 3.0, 3.0, 3.0),
        MethodStats("CheckAvailability", 10, 0, 0, 12.0, 20.0, 25.0, 5000.0),
        MethodStats("CreateBooking", 10, failed, failed, 40.0, 90.0, 4200.0, 4000.0),
        MethodStats("ListBookings", 1, 0, 0, 8.0, 8.0, 8.0),
        MethodStats("GetBookingStatus", 10, 0, 0, 5.0, 9.0, 11.0),
        MethodStats("UpdateBooking", 11, 0, 0, 30.0, 45.0, 50.0, 4000.0),
    )


@pytest.fixture
def passing_run() -> RunResult:
    scenarios = (
        ScenarioResult(
            "health/ok",
            "HealthCheck answers",
            Status.PASS,
            (_ok("health/ok", "health/ok", "HealthCheck"),),
            duration_ms=3.0,
            spec=("§3.10",),
        ),
        ScenarioResult(
            "create-booking/replay",
            "Idempotent replay",
            Status.PASS,
            (
                _ok("create-booking/idempotent-replay", "create-booking/replay", "create"),
                _ok("create-booking/idempotent-replay", "create-booking/replay", "replay"),
            ),
            duration_ms=80.0,
        ),
        ScenarioResult(
            "update-booking/reschedule",
            "Reschedule",
            Status.PASS,
            (_ok("update-booking/reschedule", "update-booking/reschedule", "reschedule"),),
            duration_ms=50.0,
        ),
    )
    return RunResult(
        target=TARGET,
        transport="rest",
        suite="google-test-client",
        seed=7,
        started_at="2026-11-25T04:00:00Z",
        duration_ms=140.0,
        scenarios=scenarios,
        rules=RULES,
        exit_code=ExitCode.OK,
        tool_version="0.1.0",
        created=(CreatedResource("booking", "b-1", "create-booking/replay", True),),
        methods=_methods(),
    )


def _hostile_failure() -> CheckResult:
    lease = Exchange(
        operation="CreateLease",
        transport="rest",
        request=_req("CreateLease", {"lease": {"slot": {"merchant_id": "m1"}}}),
        response=_resp(200, {"lease": {"lease_id": "L-1"}}),
        elapsed_ms=12.0,
        scenario_id="lease/hold-last-spot",
        step="lease",
    )
    booking = Exchange(
        operation="CreateBooking",
        transport="rest",
        request=_req(
            "CreateBooking", {"user_information": {"given_name": NON_ASCII}, "idempotency_token": "t1"}
        ),
        response=HttpMessage(
            headers={"X-Evil": HOSTILE},
            status=200,
            status_text="OK",
            body={
                "booking": {"booking_id": HOSTILE, "user_information": {"given_name": NON_ASCII}},
                "note": f"{ANSI} nul\x00 here",
            },
        ),
        elapsed_ms=33.5,
        scenario_id="lease/hold-last-spot",
        step="book-other-user",
    )
    return CheckResult(
        rule_id="lease/hold-last-spot",
        status=Status.FAIL,
        severity=Severity.ERROR,
        spec="§11 D23",
        scenario_id="lease/hold-last-spot",
        step="book-other-user",
        message=f"the leased last spot was booked by another user (booking {HOSTILE})",
        expected="booking_failure SLOT_UNAVAILABLE",
        actual=f"booking {HOSTILE} CONFIRMED",
        exchanges=(lease, booking),
        elapsed_ms=33.5,
        reproduce=f"curl -sS -X POST {TARGET}/v3/CreateBooking -H 'Content-Type: application/json' "
        '-d \'{"idempotency_token":"t1"}\'',
    )


@pytest.fixture
def troubled_run() -> RunResult:
    cause = Exchange(
        operation="CreateBooking",
        transport="rest",
        request=_req("CreateBooking", {"slot": {}}),
        response=_resp(200, {"booking_failure": {"cause": "CAUSE_UNSPECIFIED"}}),
        elapsed_ms=20.0,
        scenario_id="create-booking/full-slot",
        step="book",
    )
    timeout = Exchange(
        operation="ListBookings",
        transport="rest",
        request=_req("ListBookings", {"user_id": "u1"}),
        response=None,
        elapsed_ms=5000.0,
        error="timed out after 5 s",
        scenario_id="list-bookings/active",
        step="list",
    )
    scenarios = (
        ScenarioResult(
            "lease/hold-last-spot",
            "Lease holds the last spot",
            Status.FAIL,
            (
                _ok("create-booking/business-failure-200", "lease/hold-last-spot", "lease"),
                _hostile_failure(),
            ),
            duration_ms=60.0,
        ),
        ScenarioResult(
            "create-booking/full-slot",
            "Booking a full slot",
            Status.WARN,
            (
                _ok("create-booking/business-failure-200", "create-booking/full-slot", "book"),
                CheckResult(
                    "create-booking/cause-specified",
                    Status.WARN,
                    Severity.WARNING,
                    "§11 D17",
                    "create-booking/full-slot",
                    "book",
                    "booking_failure.cause is CAUSE_UNSPECIFIED",
                    expected="a specific cause (SLOT_UNAVAILABLE)",
                    actual="CAUSE_UNSPECIFIED",
                    exchanges=(cause,),
                    reproduce=(
                        "curl -sS -i -X POST http://127.0.0.1:8080/v3/CreateBooking"
                        ' -u "$BOOKCHECK_USER:$BOOKCHECK_PASSWORD"'
                    ),
                ),
            ),
            duration_ms=25.0,
        ),
        ScenarioResult(
            "create-booking/replay",
            "Idempotent replay",
            Status.FAIL,
            (
                CheckResult(
                    "create-booking/idempotent-replay",
                    Status.FAIL,
                    Severity.ERROR,
                    "§3.2",
                    "create-booking/replay",
                    "replay",
                    "replay returned a different booking_id",
                    expected="booking_id b-1",
                    actual="booking_id b-2",
                    baselined=True,
                ),
            ),
            duration_ms=30.0,
        ),
        ScenarioResult(
            "lease/expired", "Lease expiry", Status.SKIP, reason="the target profile claims no leases"
        ),
        ScenarioResult(
            "list-bookings/active",
            "ListBookings lists",
            Status.ERROR,
            (
                CheckResult(
                    "list-bookings/contains-active",
                    Status.ERROR,
                    Severity.ERROR,
                    "§11 D7",
                    "list-bookings/active",
                    "list",
                    "no response: timed out after 5 s",
                    exchanges=(timeout,),
                ),
            ),
            reason="timed out after 5 s",
            duration_ms=5001.0,
        ),
        ScenarioResult("auth/no-credentials", "Auth", Status.ERROR, reason="connection refused"),
        ScenarioResult(
            "health/ok",
            "HealthCheck",
            Status.PASS,
            (_ok("health/ok", "health/ok", "HealthCheck"),),
            duration_ms=3.0,
        ),
        ScenarioResult(
            "update-booking/reschedule",
            "Reschedule",
            Status.SKIP,
            (
                CheckResult(
                    "update-booking/reschedule",
                    Status.SKIP,
                    Severity.ERROR,
                    "§11 D22",
                    "update-booking/reschedule",
                    "pick",
                    "the feed has no second slot",
                ),
            ),
            reason="the feed has no second slot",
        ),
    )
    return RunResult(
        target=TARGET,
        transport="rest",
        suite="conformance",
        seed=42,
        started_at="2026-11-25T04:00:00Z",
        duration_ms=5200.0,
        scenarios=scenarios,
        rules=RULES,
        exit_code=ExitCode.DEVIATIONS,
        tool_version="0.1.0",
        created=(
            CreatedResource(
                "booking", HOSTILE, "lease/hold-last-spot", False, note=f"cancel answered 500 {ANSI}"
            ),
            CreatedResource("lease", "L-1", "lease/hold-last-spot", True),
            CreatedResource("booking", "b-1", "create-booking/replay", True),
        ),
        methods=_methods(failed=1),
        baseline=BaselineOutcome(
            accepted=("create-booking/idempotent-replay create-booking/replay",),
            stale=("auth/basic-401 auth/no-credentials",),
        ),
    )


#: The scenarios where ``--fault overbook`` breaks a rule, and a few that pass (the filters need both).
OVERBOOK_SCENARIOS = (
    "create-booking/fill-to-capacity",
    "create-booking/concurrent-last-spots",
    "lease/holds-last-spot",
    "update-booking/reschedule",
    "update-booking/reschedule-full-slot",
    "create-booking/echo",
    "health/ok",
    "get-booking-status/lifecycle",
)


@pytest.fixture(scope="session")
def overbook_run() -> RunResult:
    """A real run: the reference server with ``--fault overbook``, the scenarios above."""
    with serve(["overbook"]) as served:
        return run_harness(served.rest_url, only=OVERBOOK_SCENARIOS)
