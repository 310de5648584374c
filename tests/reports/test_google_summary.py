"""Google's test-client summary (spec §7.3): same wording, 'All Tests Pass!' exactly when it should."""

from __future__ import annotations

import dataclasses

import pytest

from harness.results import CheckResult, MethodStats, RunResult, Severity, Status
from reports import google_summary

GOOGLE_EXAMPLE = (
    "HealthCheck Succeeded.\n"
    "CheckAvailability Errors: 0 out of 10.\n"
    "CreateBooking Errors: 0 out of 10.\n"
    "ListBookings Succeeded.\n"
    "GetBookingStatus Errors: 0 out of 10.\n"
    "Rescheduling Succeeded.\n"
    "All Tests Pass!\n"
)


def test_passing_run_matches_googles_example(passing_run: RunResult) -> None:
    assert google_summary.render(passing_run) == GOOGLE_EXAMPLE
    assert google_summary.all_tests_pass(passing_run)
    # the same sentences as Google's wrapped paragraph, once the line breaks are ignored
    assert " ".join(google_summary.lines(passing_run)) == " ".join(GOOGLE_EXAMPLE.split())


def test_troubled_run_does_not_pass(troubled_run: RunResult) -> None:
    out = google_summary.render(troubled_run)
    assert "CreateBooking Errors: 1 out of 10." in out
    assert "All Tests Pass!" not in out
    assert out.endswith("Tests Failed: 2 error-level deviation(s), 2 scenario(s) in error.\n")


def _with_check(run: RunResult, status: Status, severity: Severity, baselined: bool = False) -> RunResult:
    first = run.scenarios[0]
    extra = CheckResult(
        "health/ok", status, severity, "§3.10", first.scenario_id, "again", "broke", baselined=baselined
    )
    scenario = dataclasses.replace(first, checks=(*first.checks, extra))
    return dataclasses.replace(run, scenarios=(scenario, *run.scenarios[1:]))


@pytest.mark.parametrize(
    ("status", "severity", "baselined", "passes"),
    [
        (Status.WARN, Severity.WARNING, False, True),  # a SHOULD deviation does not fail Google's summary
        (Status.PASS, Severity.ERROR, False, True),
        (Status.SKIP, Severity.ERROR, False, True),
        (Status.FAIL, Severity.ERROR, False, False),
        (Status.FAIL, Severity.ERROR, True, False),  # Google's client knows no baseline
    ],
)
def test_all_tests_pass_only_without_error_level_deviation(
    passing_run: RunResult, status: Status, severity: Severity, baselined: bool, passes: bool
) -> None:
    run = _with_check(passing_run, status, severity, baselined)
    assert google_summary.all_tests_pass(run) is passes
    assert google_summary.render(run).endswith("All Tests Pass!\n") is passes


def test_a_failed_call_fails_the_summary(passing_run: RunResult) -> None:
    methods = tuple(
        dataclasses.replace(m, failed_calls=1) if m.operation == "HealthCheck" else m
        for m in passing_run.methods
    )
    out = google_summary.render(dataclasses.replace(passing_run, methods=methods))
    assert out.startswith("HealthCheck Failed.\n") and "All Tests Pass!" not in out


def test_an_errored_scenario_fails_the_summary(passing_run: RunResult) -> None:
    broken = dataclasses.replace(passing_run.scenarios[0], status=Status.ERROR, reason="connection reset")
    run = dataclasses.replace(passing_run, scenarios=(broken, *passing_run.scenarios[1:]))
    assert not google_summary.all_tests_pass(run)


def test_other_methods_and_bal(passing_run: RunResult) -> None:
    methods = (
        MethodStats("BatchAvailabilityLookup", 10, 2, 0, 1, 1, 1),
        MethodStats("CreateLease", 1, 0, 0, 1, 1, 1),
        MethodStats("CreateBooking", 10, 0, 0, 1, 1, 1),
        MethodStats("GetBookingStatus", 0, 0, 0, 0, 0, 0),
        MethodStats("SetMarketingPreference", 3, 1, 1, 1, 1, 1),
    )
    lines = google_summary.lines(dataclasses.replace(passing_run, methods=methods))
    assert lines == [
        "BatchAvailabilityLookup Errors: 2 out of 10.",
        "CreateBooking Errors: 0 out of 10.",
        "CreateLease Succeeded.",
        "SetMarketingPreference Errors: 1 out of 3.",
        "Tests Failed: 0 error-level deviation(s).",
    ]


def test_nothing_run_is_not_a_pass(passing_run: RunResult) -> None:
    assert google_summary.lines(dataclasses.replace(passing_run, methods=())) == ["No Tests Run."]
