"""The JUnit XML report, for CI systems that show test results (Jenkins, GitLab, GitHub annotations).

Mapping (documented for partners in docs/reports.md):

* one ``<testsuite>`` per scenario group, the first segment of the scenario id (``lease`` for
  ``lease/book-on-expired-lease``), in alphabetical order;
* one ``<testcase classname="<scenario id>" name="<rule id>">`` per (scenario, rule) pair; several checks of
  the same rule in one scenario (at different steps) merge into one test case, judged by the worst;
* FAIL -> ``<failure type="<rule id>" message="...">`` with the evidence text;
* a *baselined* FAIL -> ``<skipped type="baselined">`` (the run accepts it, like pytest's xfail), so the CI's
  red/green agrees with bookcheck's exit code;
* WARN -> a passing test case with the evidence in ``<system-out>``, and a suite-level
  ``<property name="warning" value="<scenario id> <rule id>">`` (test-case properties are not valid in the
  strict JUnit schemas that Jenkins and xunit2 use):
  whether a warning fails the run (``--fail-on warning``) is the exit code's business, and a JUnit failure for
  a warning would turn every CI red on a SHOULD;
* SKIP -> ``<skipped message="<reason>">``; ERROR -> ``<error type="<rule id>">``;
* a scenario with no checks (skipped or errored before its first check), or in ERROR after some checks,
  adds a test case ``name="(scenario)"`` carrying the scenario's reason;
* stale baseline entries are failures in a final ``<testsuite name="baseline">``, since they fail the run.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import groupby

from harness.results import CheckResult, RunResult, ScenarioResult, Status

from . import facts

SCENARIO_CASE = "(scenario)"


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


_JUNIT_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP)


def _worst(checks: list[CheckResult]) -> Status:
    """The test case's outcome: a rule that passed at one step and was skipped at another passed."""
    return min((c.status for c in checks), key=_JUNIT_ORDER.index)


def _group(scenario_id: str) -> str:
    return scenario_id.split("/", 1)[0] or scenario_id


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: facts.clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = facts.clean(text)
    return element


def _evidence(result: RunResult, checks: Iterable[CheckResult]) -> str:
    rules = facts.rules_by_id(result)
    return "\n\n".join(facts.evidence_text(c, rules.get(c.rule_id)) for c in checks)


def _rule_case(
    suite: ET.Element, result: RunResult, scenario: ScenarioResult, rule_id: str, checks: list[CheckResult]
) -> str:
    """One test case for one rule in one scenario; returns the JUnit outcome it got."""
    elapsed = sum(c.elapsed_ms or 0.0 for c in checks)
    case = _sub(suite, "testcase", classname=scenario.scenario_id, name=rule_id, time=_seconds(elapsed))
    status = _worst(checks)
    deviations = sorted((c for c in checks if c.is_deviation), key=facts.deviation_key)
    if status is Status.FAIL:
        failing = [c for c in deviations if c.status is Status.FAIL and not c.baselined]
        if failing:
            _sub(case, "failure", _evidence(result, deviations), type=rule_id, message=failing[0].message)
            return "failure"
        known = deviations[0]
        _sub(
            case,
            "skipped",
            _evidence(result, deviations),
            type="baselined",
            message=f"known deviation (baseline): {known.message}",
        )
        return "skipped"
    if status is Status.ERROR:
        errored = next(c for c in checks if c.status is Status.ERROR)
        _sub(case, "error", _evidence(result, [errored]), type=rule_id, message=errored.message)
        return "error"
    if status is Status.WARN:
        _sub(case, "system-out", _evidence(result, deviations))
        return "warning"
    if status is Status.SKIP:
        skipped = checks[0]
        _sub(case, "skipped", type="skip", message=skipped.message or scenario.reason or "skipped")
        return "skipped"
    return "pass"


def _scenario_case(suite: ET.Element, scenario: ScenarioResult) -> str | None:
    """The scenario-level test case for a scenario that never reached (or broke after) its checks."""
    if scenario.status is Status.SKIP and not scenario.checks:
        case = _sub(
            suite,
            "testcase",
            classname=scenario.scenario_id,
            name=SCENARIO_CASE,
            time=_seconds(scenario.duration_ms),
        )
        _sub(case, "skipped", type="skip", message=scenario.reason or "skipped")
        return "skipped"
    if scenario.status is Status.ERROR and not any(c.status is Status.ERROR for c in scenario.checks):
        case = _sub(
            suite,
            "testcase",
            classname=scenario.scenario_id,
            name=SCENARIO_CASE,
            time=_seconds(scenario.duration_ms),
        )
        reason = scenario.reason or "the scenario broke"
        _sub(case, "error", reason, type="scenario-error", message=reason)
        return "error"
    if not scenario.checks:
        _sub(
            suite,
            "testcase",
            classname=scenario.scenario_id,
            name=SCENARIO_CASE,
            time=_seconds(scenario.duration_ms),
        )
        return "pass"
    return None


def _fill_counts(element: ET.Element, outcomes: list[str], seconds: str) -> None:
    element.set("tests", str(len(outcomes)))
    element.set("failures", str(outcomes.count("failure")))
    element.set("errors", str(outcomes.count("error")))
    element.set("skipped", str(outcomes.count("skipped")))
    element.set("time", seconds)


def build(result: RunResult) -> ET.Element:
    """The ``<testsuites>`` element; a pure function of ``result``."""
    root = ET.Element("testsuites", {"name": f"bookcheck {facts.clean(result.suite)}"})
    all_outcomes: list[str] = []
    scenarios = sorted(result.scenarios, key=lambda s: (_group(s.scenario_id), s.scenario_id))
    for group, members in groupby(scenarios, key=lambda s: _group(s.scenario_id)):
        in_group = list(members)
        suite = _sub(root, "testsuite", name=group, **_timestamp(result.started_at))
        properties = _sub(suite, "properties")
        for name, value in (
            ("target", result.target),
            ("transport", result.transport),
            ("suite", result.suite),
            ("seed", str(result.seed)),
            ("tool_version", result.tool_version),
        ):
            _sub(properties, "property", name=name, value=value)
        outcomes: list[str] = []
        for scenario in in_group:
            by_rule: dict[str, list[CheckResult]] = {}
            for check in scenario.checks:
                by_rule.setdefault(check.rule_id, []).append(check)
            for rule_id in sorted(by_rule):
                outcome = _rule_case(suite, result, scenario, rule_id, by_rule[rule_id])
                if outcome == "warning":
                    _sub(properties, "property", name="warning", value=f"{scenario.scenario_id} {rule_id}")
                outcomes.append(outcome)
            extra = _scenario_case(suite, scenario)
            if extra is not None:
                outcomes.append(extra)
        _fill_counts(suite, outcomes, _seconds(sum(s.duration_ms or 0.0 for s in in_group)))
        all_outcomes += outcomes
    if result.baseline.stale:
        suite = _sub(root, "testsuite", name="baseline", **_timestamp(result.started_at))
        outcomes = []
        for entry in sorted(result.baseline.stale):
            case = _sub(suite, "testcase", classname="baseline", name=entry, time="0.000")
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
        all_outcomes += outcomes
    _fill_counts(root, all_outcomes, _seconds(result.duration_ms))
    return root


def render(result: RunResult) -> str:
    root = build(result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
