"""One bug, one deviation, where it belongs (issue 11, item 3).

Against a server that does not enforce capacity (``--fault overbook``), steps that only prepare a scenario
(``precondition: true``) fail in many scenarios. The capacity rules must be reported by the scenarios that
exist for them, once each; every other scenario whose precondition failed is *not judged* (SKIP with the
reason), never a pass and never a deviation of its own rules or the bad-request rules.
"""

from __future__ import annotations

import pytest
from faultrun import run_harness, serve

from harness.results import RunResult, ScenarioResult, Status

#: The scenarios that exist for a capacity rule: each must report the overbooking exactly once.
CAPACITY_SCENARIOS = {
    "create-booking/fill-to-capacity",
    "create-booking/concurrent-last-spots",
    "lease/holds-last-spot",
    "update-booking/reschedule",
    "update-booking/reschedule-full-slot",
}
#: Scenarios whose only use of a full slot is a precondition, and the rules each exists for: under the
#: fault they are not judged (SKIP), never passed.
NOT_JUDGED = {
    "bad-request/malformed-and-wrong-types": {
        "http/malformed-json-400",
        "http/wrong-type-400",
        "http/bad-request-no-effect",
    },
    "bad-request/missing-required": {"http/missing-required-400", "http/bad-request-no-effect"},
    "create-booking/failed-retry": {"create-booking/failed-retry"},
    "create-booking/idempotent-replay": {
        "create-booking/idempotent-replay",
        "create-booking/idempotent-capacity",
    },
}


def _deviations(sr: ScenarioResult) -> list[str]:
    return [f"{c.rule_id}@{c.step}" for c in sr.checks if c.status in (Status.FAIL, Status.WARN)]


@pytest.fixture(scope="module")
def overbook_run() -> RunResult:
    """One run of the default suite against ``serve --fault overbook`` (shared by the module's tests)."""
    with serve(["overbook"]) as served:
        return run_harness(served.rest_url)


def test_overbooking_is_reported_once_per_capacity_scenario_and_never_by_bad_requests(
    overbook_run: RunResult,
) -> None:
    result = overbook_run
    by_id = {sr.scenario_id: sr for sr in result.scenarios}
    with_deviations = {sid: _deviations(sr) for sid, sr in by_id.items() if _deviations(sr)}
    assert set(with_deviations) == CAPACITY_SCENARIOS, with_deviations
    assert all(len(d) == 1 for d in with_deviations.values()), with_deviations
    for sid, rules in NOT_JUDGED.items():
        sr = by_id[sid]
        assert sr.status == Status.SKIP, (sid, sr.status, sr.reason)
        assert sr.reason is not None and sr.reason.startswith("not judged: precondition failed at step")
        assert "CreateBooking succeeded (booking " in sr.reason and "; expected " in sr.reason
        statuses = {c.rule_id: set() for c in sr.checks}
        for c in sr.checks:
            statuses[c.rule_id].add(c.status)
        assert {r: statuses.get(r) for r in rules} == {r: {Status.SKIP} for r in rules}, sid
    assert result.exit_code == 1


def test_deviation_messages_state_the_symptom_first(overbook_run: RunResult) -> None:
    result = overbook_run
    fill = next(sr for sr in result.scenarios if sr.scenario_id == "create-booking/fill-to-capacity")
    (dev,) = [c for c in fill.checks if c.status == Status.FAIL]
    assert dev.rule_id == "create-booking/full-slot-unavailable"
    assert dev.message.startswith("CreateBooking succeeded (booking "), dev.message
    assert dev.message.endswith("; expected HTTP 200 with booking_failure SLOT_UNAVAILABLE"), dev.message
