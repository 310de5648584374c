"""The self-test matrix: for every fault case of ``mock_server.faults.registry.CASES``, the harness run
against a server with that fault reports *exactly* the expected rule ids as FAIL/WARN, and exits 1; the
fault-free server gives zero deviations over REST and gRPC.

Each case starts its own server (in-process, ephemeral port) and calls the harness runner in-process, so
xdist can spread the cases over workers.
"""

from __future__ import annotations

from typing import Any

import pytest
from faultrun import errored, fired, payment_suite, run_harness, scenarios_for, serve

from harness.catalogue import rules_by_id
from harness.results import ExitCode, RunResult, Severity, Status
from mock_server.faults.registry import CASES, Case

#: Latency budgets measure the machine as much as the server: on a loaded CI runner a call can exceed
#: BAL's 1.5 s without any fault. They count only for the cases that are about latency.
LATENCY_RULES = frozenset(r for r in rules_by_id() if r.startswith("latency/"))


def judged(result: RunResult, expected: frozenset[str]) -> set[str]:
    """The fired rules, without latency rules the case does not expect."""
    got = fired(result)
    return got if expected & LATENCY_RULES else got - LATENCY_RULES


def _explain(result: RunResult, expected: frozenset[str]) -> str:
    got = judged(result, expected)
    lines = [f"unexpected: {sorted(got - expected)}", f"missing: {sorted(expected - got)}"]
    for c in result.checks():
        if c.rule_id in got and c.rule_id not in expected:
            lines.append(f"  {c.rule_id} in {c.scenario_id}/{c.step}: {c.message} (actual: {c.actual})")
    return "\n".join(lines)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_clean_server_has_no_deviation(clean_runs: dict[str, RunResult], transport: str) -> None:
    for key in [k for k in clean_runs if k.startswith(transport)]:
        result = clean_runs[key]
        assert judged(result, frozenset()) == set(), _explain(result, frozenset())
        assert errored(result) == []
        assert result.exit_code == _exit_code(frozenset(fired(result)))
        assert any(s.status == Status.PASS for s in result.scenarios)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_clean_server_passes_every_payment_scenario(clean_runs: dict[str, RunResult], transport: str) -> None:
    """On the payment feed with ``--allow-payments`` and the generated fixtures, every payment, offer and
    virtual-session scenario runs and passes (none skipped for want of data, tokens or transport)."""
    result = clean_runs[f"{transport}-payments"]
    got = {s.scenario_id: (s.status, s.reason) for s in result.scenarios}
    assert set(got) == set(payment_suite())
    assert {sid for sid, (status, _) in got.items() if status != Status.PASS} == set(), got


def _exit_code(rules: frozenset[str]) -> ExitCode:
    """A MUST rule broken fails the run; SHOULD/MAY rules only warn (``--fail-on error``, the default)."""
    catalogue = rules_by_id()
    must = any(catalogue[r].severity == Severity.ERROR for r in rules)
    return ExitCode.DEVIATIONS if must else ExitCode.OK


def _run_case(case: Case, transport: str) -> RunResult:
    with serve([case.fault], grpc=transport == "grpc", payments=case.payments) as served:
        url = served.rest_url if transport == "rest" else served.grpc_url
        assert url is not None
        expected = case.breaks if transport == "rest" else case.grpc or frozenset()
        only = scenarios_for(case.fault, case.only, expected, payments=case.payments)
        return run_harness(url, only=only, availability=case.availability, payments=case.payments)


def _params(cases: list[Case] | tuple[Case, ...]) -> list[Any]:
    """The cases as test parameters; a case with a known harness gap is expected to fail, strictly (it
    turns red, as XPASS, the day the harness catches the fault: then drop the gap note)."""
    return [
        pytest.param(c, id=c.fault, marks=pytest.mark.xfail(strict=True, reason=c.gap) if c.gap else ())
        for c in cases
    ]


@pytest.mark.parametrize("case", _params(CASES))
def test_fault_breaks_exactly_its_rules_over_rest(case: Case) -> None:
    result = _run_case(case, "rest")
    assert judged(result, case.breaks) == case.breaks, _explain(result, case.breaks)
    assert errored(result) == []
    assert result.exit_code == _exit_code(frozenset(fired(result)))
    assert _exit_code(case.breaks) == ExitCode.OK or result.exit_code == ExitCode.DEVIATIONS


GRPC_CASES = [c for c in CASES if c.grpc is not None]


@pytest.mark.parametrize("case", _params(GRPC_CASES))
def test_fault_breaks_exactly_its_rules_over_grpc(case: Case) -> None:
    assert case.grpc is not None
    result = _run_case(case, "grpc")
    assert judged(result, case.grpc) == case.grpc, _explain(result, case.grpc)
    assert errored(result) == []
    assert result.exit_code == _exit_code(frozenset(fired(result)))
    assert _exit_code(case.grpc) == ExitCode.OK or result.exit_code == ExitCode.DEVIATIONS
