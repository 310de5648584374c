"""The shape of the evidence a broken behaviour produces, on top of the reference server's fault profiles.

That each check fires on its own broken behaviour (and on nothing else) is proved by the self-test matrix
(``tests/selftest/test_matrix.py`` over every profile of ``mock_server.faults.registry``). This file keeps
what the matrix does not look at: a deviation carries its evidence (the exchanges of every step up to the one
that broke, expected and actual, the spec, a curl reproducer without secrets); SHOULD rules warn and fail a
run only with ``--fail-on warning``; the reports of a failing run are valid documents.

Each test starts the reference server with one fault (``ServerConfig(faults=...)``, as ``bookcheck serve
--fault`` does) on the harness tests' feed, and runs the harness against it in-process.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.results import ExitCode, RunResult, Status

from .conftest import PASSWORD  # noqa: TID252

SCHEMA = Path(__file__).parents[2] / "reports" / "report.schema.json"


def _rules(result: RunResult, status: Status) -> set[str]:
    return {c.rule_id for c in result.checks() if c.status == status}


@pytest.fixture
def run_with_fault(
    reference: Callable[..., Any], run_against: Callable[..., RunResult]
) -> Callable[..., RunResult]:
    """``run_with_fault("health-fail", only=("health/ok",))``: a fresh server with the fault, one run."""

    def go(fault: str, **kw: Any) -> RunResult:
        with reference(faults=(fault,)) as server:
            return run_against(server.rest_url, **kw)

    return go


@pytest.mark.parametrize(
    "fault,only,rule",
    [
        ("health-fail", ("health/ok",), "health/ok"),
        ("echo-no-user", ("create-booking/echo",), "create-booking/echo-user"),
        ("unknown-booking-500", ("update-booking/unknown-booking",), "update-booking/unknown-booking"),
    ],
)
def test_a_broken_must_rule_fails_the_run_with_its_evidence(
    fault: str, only: tuple[str, ...], rule: str, run_with_fault: Callable[..., RunResult]
) -> None:
    result = run_with_fault(fault, only=only)
    assert _rules(result, Status.FAIL) == {rule}, [(c.rule_id, c.actual) for c in result.deviations()]
    assert result.exit_code == ExitCode.DEVIATIONS
    dev = next(c for c in result.deviations() if c.rule_id == rule)
    assert dev.exchanges, "a deviation carries the exchanges that show it"
    assert dev.expected and dev.spec and dev.step
    assert dev.reproduce and dev.reproduce.startswith("curl ")
    assert PASSWORD not in repr(result.to_dict()), "credentials must be redacted everywhere"


def test_evidence_of_a_later_step_includes_the_earlier_steps(
    run_with_fault: Callable[..., RunResult],
) -> None:
    result = run_with_fault("replay-new-booking", only=("create-booking/idempotent-replay",))
    dev = next(c for c in result.deviations() if c.rule_id == "create-booking/idempotent-replay")
    steps = [e.step for e in dev.exchanges]
    assert steps[0] == "create" and steps[-1] == "replay", steps
    assert all(
        e.request.headers.get("Authorization", "").startswith("Basic <redacted") for e in dev.exchanges
    )
    assert '-u "$BOOKCHECK_USER:$BOOKCHECK_PASSWORD"' in (dev.reproduce or "")


@pytest.mark.parametrize(
    "fault,only,rule,also_failed",
    [
        ("bal-reverse-order", ("bal/shape-echo-order",), "bal/request-order", set()),
        ("content-type-text", ("create-booking/echo",), "json/content-type", set()),
        # the scenario expects SLOT_UNAVAILABLE, so that MUST rule fails as well
        (
            "cause-unspecified@CreateBooking",
            ("create-booking/fill-to-capacity",),
            "failure/cause-specified",
            {"create-booking/full-slot-unavailable"},
        ),
    ],
    ids=["bal-reordered", "content-type", "cause-unspecified"],
)
def test_should_rules_warn_and_fail_only_with_fail_on_warning(
    fault: str,
    only: tuple[str, ...],
    rule: str,
    also_failed: set[str],
    run_with_fault: Callable[..., RunResult],
) -> None:
    result = run_with_fault(fault, only=only)
    assert _rules(result, Status.WARN) == {rule}
    assert _rules(result, Status.FAIL) == also_failed
    if also_failed:
        return
    assert result.exit_code == ExitCode.OK
    strict = run_with_fault(fault, only=only, fail_on="warning")
    assert _rules(strict, Status.WARN) == {rule}
    assert strict.exit_code == ExitCode.DEVIATIONS


def test_reports_of_a_failing_run_are_valid(run_with_fault: Callable[..., RunResult]) -> None:
    """The records of a run with deviations (evidence, reproducers, raw bodies) serialise into every report
    format: the JSON report validates against the published schema, the JUnit file parses."""
    from reports import render_report

    result = run_with_fault("replay-new-booking", only=("bad-request/*", "create-booking/idempotent-replay"))
    assert result.exit_code == ExitCode.DEVIATIONS
    jsonschema.validate(json.loads(render_report("json", result)), json.loads(SCHEMA.read_text()))
    root = ET.fromstring(render_report("junit", result))
    assert any(True for _ in root.iter("failure"))
    assert "create-booking/idempotent-replay" in render_report("html", result)
