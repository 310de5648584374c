"""``--suite google-test-client`` is as strict as Google's test client (issue 11, item 5): every
CreateBooking is resent with its idempotency token, availability follows the target profile's method, each
of Google's per-test flags is a scenario of its own, and the summary names only the methods called."""

from __future__ import annotations

from collections.abc import Sequence

from faultrun import PASSWORD, USER, feed_slots, serve
from timebase import pinned_clock

from harness.config import RunConfig
from harness.profile import TargetProfile
from harness.results import ExitCode, RunResult, Status
from harness.runner import run
from harness.targets import Credentials, TargetOptions
from reports import google_summary

SLOTS = 3


def _google_run(url: str, *, availability: str = "check", only: Sequence[str] = ()) -> RunResult:
    profile = TargetProfile(transports=("rest",), availability=availability, leases=False)
    config = RunConfig(
        target=TargetOptions(url=url, credentials=Credentials(USER, PASSWORD), timeout=10.0),
        feed=list(feed_slots()),
        profile=profile,
        suite="google-test-client",
        seed=1,
        workers=2,
        only=tuple(only),
        num_slots=SLOTS,
        clock=pinned_clock(),
    )
    return run(config)


def test_google_mode_fails_a_server_that_books_again_on_a_resent_token() -> None:
    with serve(["replay-new-booking"]) as served:
        result = _google_run(served.rest_url)
    failed = {c.rule_id for c in result.checks() if c.status == Status.FAIL}
    assert "create-booking/idempotent-replay" in failed
    assert result.exit_code == ExitCode.DEVIATIONS
    assert not google_summary.all_tests_pass(result)
    # each slot's resend booked again: an error of that slot's CreateBooking, counted per slot as Google does
    assert f"CreateBooking Errors: {SLOTS} out of {SLOTS}." in google_summary.lines(result)


def test_google_mode_passes_the_reference_server_with_googles_lines() -> None:
    with serve() as served:
        result = _google_run(served.rest_url)
        health_only = _google_run(served.rest_url, only=("google-test-client/health",))
    assert result.exit_code == ExitCode.OK, [c for c in result.checks() if c.status != Status.PASS]
    lines = google_summary.lines(result)
    assert lines[0] == "HealthCheck Succeeded."
    assert f"CheckAvailability Errors: 0 out of {SLOTS}." in lines
    assert f"CreateBooking Errors: 0 out of {SLOTS}." in lines  # the resends are not extra calls here
    assert not any(line.startswith("BatchAvailabilityLookup") for line in lines)
    assert lines[-1] == "All Tests Pass!"
    # Google's -health_check_test alone: one line for the one method called
    assert [s.scenario_id for s in health_only.scenarios] == ["google-test-client/health"]
    assert google_summary.lines(health_only) == ["HealthCheck Succeeded.", "All Tests Pass!"]
