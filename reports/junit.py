"""The JUnit XML report, for CI systems that show test results (GitLab, Jenkins, GitHub annotations).

Mapping (documented for partners in docs/reports.md):

* one ``<testcase>`` per **scenario**: ``name`` is the scenario id, ``classname`` its flow family
  (``bookcheck.create_booking`` for ``create-booking/fill-to-capacity``), ``time`` its real duration;
* one ``<testsuite>`` per flow family, named like the classname, in alphabetical order;
* a scenario with deviations that fail the run ->
  ``<failure type="<rule id>" message="<rule id>: <symptom>">`` naming every broken rule (the message
  the first, the body all of them with their evidence); which
  deviations fail the run is asked of the result records (``CheckResult.fails_run``), the rule the exit code
  uses, so the CI's red/green and bookcheck's exit code cannot disagree;
* a scenario that ended in ERROR (setup failed, the target broke, the harness could not judge) ->
  ``<error type="scenario-error">``; a run that gave no verdict (inconclusive, set up wrong, unreachable,
  interrupted) adds a ``bookcheck.run`` test case ``verdict`` with an ``<error type="inconclusive">`` (or
  ``setup-error``, ``unreachable``, ``interrupted``) carrying the reason;
* SKIP -> ``<skipped message="<reason>">``; a scenario whose only deviations are baselined ->
  ``<skipped type="baselined">`` (the run accepts them);
* warnings that do not fail the run -> a passing test case with them in ``<system-out>``;
* stale baseline entries are failures in a final ``bookcheck.baseline`` suite, since they fail the run.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from itertools import groupby

from harness.results import CheckResult, ExitCode, RunResult, ScenarioResult, Status

from . import facts

#: Characters of the ``message`` attribute (one line a CI shows in its list); the body has everything.
MESSAGE_LIMIT = 300


def _timestamp(started_at: str) -> dict[str, str]:
    """``timestamp`` as the JUnit schemas want it: ISO 8601 without a zone (the run's UTC start)."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return {}
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return {"timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S")}


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0.0) / 1000:.3f}" if ms is None or math.isfinite(ms) else "0.000"


def family(scenario_id: str) -> str:
    """``bookcheck.create_booking`` for ``create-booking/...``: the classname CI systems group by."""
    first = scenario_id.split("/", 1)[0] or scenario_id
    return "bookcheck." + "".join(ch if ch.isalnum() else "_" for ch in first)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: facts.clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = facts.clean(text)
    return element


def symptom(check: CheckResult) -> str:
    """``<rule id>: step <step>: <what was wrong> (expected ...)`` on one line."""
    got = f"; got {check.actual}" if check.actual else ""
    want = f"; expected {check.expected}" if check.expected else ""
    return facts.abbreviate(f"{check.rule_id}: step {check.step}: {check.message}{got}{want}", MESSAGE_LIMIT)


def _evidence(result: RunResult, checks: list[CheckResult]) -> str:
    rules = facts.rules_by_id(result)
    return "\n\n".join(facts.evidence_text(c, rules.get(c.rule_id)) for c in checks)


def _case(suite: ET.Element, result: RunResult, scenario: ScenarioResult) -> str:
    """The test case of one scenario; returns its JUnit outcome."""
    case = _sub(
        suite,
        "testcase",
        classname=family(scenario.scenario_id),
        name=scenario.scenario_id,
        time=_seconds(scenario.duration_ms),
    )
    deviations = sorted((c for c in scenario.checks if c.is_deviation), key=facts.deviation_key)
    failing = [c for c in deviations if c.fails_run(result.fail_on)]
    if scenario.status is Status.ERROR:
        reason = scenario.reason or next(
            (c.message for c in scenario.checks if c.status is Status.ERROR),
            "the scenario could not be judged",
        )
        _sub(
            case,
            "error",
            _evidence(result, failing) if failing else reason,
            type="scenario-error",
            message=facts.abbreviate(reason, MESSAGE_LIMIT),
        )
        return "error"
    if failing:
        rules = ", ".join(dict.fromkeys(c.rule_id for c in failing))
        message = symptom(failing[0]) + (f" (broken rules: {rules})" if len(failing) > 1 else "")
        _sub(
            case,
            "failure",
            _evidence(result, deviations),
            type=failing[0].rule_id,
            message=facts.abbreviate(message, MESSAGE_LIMIT),
        )
        return "failure"
    if scenario.status is Status.SKIP:
        _sub(case, "skipped", type="skip", message=scenario.reason or "skipped")
        return "skipped"
    if deviations and all(c.baselined for c in deviations):
        _sub(
            case,
            "skipped",
            _evidence(result, deviations),
            type="baselined",
            message=f"known deviation (baseline): {symptom(deviations[0])}",
        )
        return "skipped"
    if deviations:
        _sub(case, "system-out", "warnings (do not fail the run):\n\n" + _evidence(result, deviations))
    return "pass"


def _fill_counts(element: ET.Element, outcomes: list[str], seconds: str) -> None:
    element.set("tests", str(len(outcomes)))
    element.set("failures", str(outcomes.count("failure")))
    element.set("errors", str(outcomes.count("error")))
    element.set("skipped", str(outcomes.count("skipped")))
    element.set("time", seconds)


def _properties(suite: ET.Element, result: RunResult) -> None:
    properties = _sub(suite, "properties")
    for name, value in (
        ("target", result.target),
        ("transport", result.transport),
        ("suite", result.suite),
        ("seed", str(result.seed)),
        ("tool_version", result.tool_version),
    ):
        _sub(properties, "property", name=name, value=value)


def _run_suite(root: ET.Element, result: RunResult) -> list[str]:
    """Run-level outcomes that belong to no scenario: stale baseline entries, an inconclusive run."""
    outcomes: list[str] = []
    if result.baseline.stale:
        suite = _sub(root, "testsuite", name="bookcheck.baseline", **_timestamp(result.started_at))
        for entry in sorted(result.baseline.stale):
            case = _sub(suite, "testcase", classname="bookcheck.baseline", name=entry, time="0.000")
            _sub(
                case,
                "failure",
                f"The baseline lists '{entry}' as a known deviation, but it no longer occurs. "
                "Remove the entry from the baseline file.",
                type="baseline/stale",
                message="stale baseline entry: the deviation no longer occurs",
            )
            outcomes.append("failure")
        _fill_counts(suite, outcomes, "0.000")
    problem = _run_problem(result)
    if problem is not None:
        kind, text = problem
        suite = _sub(root, "testsuite", name="bookcheck.run", **_timestamp(result.started_at))
        case = _sub(suite, "testcase", classname="bookcheck.run", name="verdict", time="0.000")
        _sub(case, "error", text, type=kind, message=facts.abbreviate(text, MESSAGE_LIMIT))
        _fill_counts(suite, ["error"], "0.000")
        outcomes.append("error")
    return outcomes


def _run_problem(result: RunResult) -> tuple[str, str] | None:
    """(type, text) of a run that gave no verdict: set up wrong, unreachable, interrupted, inconclusive."""
    if result.outcome != "completed":
        return result.outcome, result.reason or f"the run ended early ({result.outcome})"
    if ExitCode(result.exit_code) == ExitCode.INCONCLUSIVE:
        why = result.inconclusive or "the run could judge too little to give a verdict"
        return "inconclusive", f"{why} (exit code 4 INCONCLUSIVE)"
    return None


def build(result: RunResult) -> ET.Element:
    """The ``<testsuites>`` element; a pure function of ``result``."""
    root = ET.Element("testsuites", {"name": f"bookcheck {facts.clean(result.suite)}"})
    all_outcomes: list[str] = []
    scenarios = sorted(result.scenarios, key=lambda s: (family(s.scenario_id), s.scenario_id))
    for name, members in groupby(scenarios, key=lambda s: family(s.scenario_id)):
        in_family = list(members)
        suite = _sub(root, "testsuite", name=name, **_timestamp(result.started_at))
        _properties(suite, result)
        outcomes = [_case(suite, result, s) for s in in_family]
        _fill_counts(suite, outcomes, _seconds(sum(s.duration_ms or 0.0 for s in in_family)))
        all_outcomes += outcomes
    all_outcomes += _run_suite(root, result)
    _fill_counts(root, all_outcomes, _seconds(result.duration_ms))
    return root


def render(result: RunResult) -> str:
    root = build(result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
