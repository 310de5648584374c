"""The JUnit report parses with junitparser, with the documented mapping and the right counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from harness.results import RunResult
from reports import junit, write_report

HOSTILE = "</script><script>alert(1)</script>"  # as in conftest.py


def _parse(result: RunResult, tmp_path: Path) -> JUnitXml:
    path = tmp_path / "junit.xml"
    write_report("junit", str(path), result)
    xml = JUnitXml.fromfile(str(path))
    assert isinstance(xml, JUnitXml)
    return xml


def _cases(xml: JUnitXml) -> dict[tuple[str, str], TestCase]:
    return {(case.classname, case.name): case for suite in xml for case in suite}


def _kinds(case: TestCase) -> list[type]:
    return [type(r) for r in case.result]


def test_passing_run_has_no_failure(passing_run: RunResult, tmp_path: Path) -> None:
    xml = _parse(passing_run, tmp_path)
    assert [s.name for s in xml] == ["create-booking", "health", "update-booking"]
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (3, 0, 0, 0)
    # two checks of one rule at two steps of one scenario make one test case
    assert ("create-booking/replay", "create-booking/idempotent-replay") in _cases(xml)


def test_troubled_run_counts(troubled_run: RunResult, tmp_path: Path) -> None:
    xml = _parse(troubled_run, tmp_path)
    suites: dict[str, TestSuite] = {s.name: s for s in xml}
    assert sorted(suites) == [
        "auth",
        "baseline",
        "create-booking",
        "health",
        "lease",
        "list-bookings",
        "update-booking",
    ]
    # failures: lease/hold-last-spot + the stale baseline entry; errors: timed-out check + refused scenario;
    # skipped: baselined FAIL, skipped check, skipped scenario without checks
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (11, 2, 2, 3)
    assert (suites["lease"].tests, suites["lease"].failures, suites["lease"].skipped) == (3, 1, 1)
    # junitparser recomputes from the cases: the attributes we wrote must agree with it
    for suite in xml:
        written = (suite.tests, suite.failures, suite.errors, suite.skipped)
        suite.update_statistics()  # type: ignore[no-untyped-call]
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == written, suite.name


def test_each_outcome_maps_as_documented(troubled_run: RunResult, tmp_path: Path) -> None:
    cases = _cases(_parse(troubled_run, tmp_path))
    fail = cases[("lease/hold-last-spot", "lease/hold-last-spot")]
    assert _kinds(fail) == [Failure]
    failure = fail.result[0]
    assert failure.type == "lease/hold-last-spot"
    assert failure.message.startswith("the leased last spot was booked by another user")
    assert "reproduce:" in failure.text and "curl -sS -X POST" in failure.text
    assert "A live lease MUST hold the leased spot." in failure.text
    assert HOSTILE in failure.text  # kept as text: the XML escaping is the parser's business

    baselined = cases[("create-booking/replay", "create-booking/idempotent-replay")]
    assert _kinds(baselined) == [Skipped] and baselined.result[0].type == "baselined"

    warn = cases[("create-booking/full-slot", "create-booking/cause-specified")]
    assert warn.is_passed and "CAUSE_UNSPECIFIED" in (warn.system_out or "")

    assert _kinds(cases[("list-bookings/active", "list-bookings/contains-active")]) == [Error]
    assert cases[("auth/no-credentials", junit.SCENARIO_CASE)].result[0].message == "connection refused"
    skipped = cases[("lease/expired", junit.SCENARIO_CASE)].result[0]
    assert isinstance(skipped, Skipped) and skipped.message == "the target profile claims no leases"
    stale = cases[("baseline", "auth/basic-401 auth/no-credentials")]
    assert _kinds(stale) == [Failure] and stale.result[0].type == "baseline/stale"


def test_control_characters_from_the_target_do_not_break_the_xml(troubled_run: RunResult) -> None:
    text = junit.render(troubled_run)
    assert "\x1b" not in text and "\x00" not in text
    ET.fromstring(text.encode("utf-8"))  # a strict XML 1.0 parser accepts it


def test_warning_property_is_set(troubled_run: RunResult) -> None:
    root = ET.fromstring(junit.render(troubled_run).encode("utf-8"))
    props = root.findall("./testsuite/properties/property[@name='warning']")
    assert [p.get("value") for p in props] == ["create-booking/full-slot create-booking/cause-specified"]
    assert root.findall(".//testcase/properties") == []


@pytest.mark.parametrize("fixture", ["passing_run", "troubled_run"])
def test_rendering_is_deterministic(fixture: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(fixture)
    assert junit.render(result) == junit.render(RunResult.from_dict(result.to_dict()))


def test_timestamp_is_zone_free_utc(troubled_run: RunResult) -> None:
    """The strict JUnit schemas want ISO 8601 without a zone; the run's start, converted to UTC."""
    import dataclasses

    run = dataclasses.replace(troubled_run, started_at="2026-11-25T05:30:00+01:00")
    root = ET.fromstring(junit.render(run).encode("utf-8"))
    assert {s.get("timestamp") for s in root.iter("testsuite")} == {"2026-11-25T04:30:00"}
    unknown = dataclasses.replace(troubled_run, started_at="yesterday")
    assert all("timestamp" not in s.attrib for s in ET.fromstring(junit.render(unknown)).iter("testsuite"))


def test_a_rule_passed_at_one_step_and_skipped_at_another_passes(passing_run: RunResult) -> None:
    import dataclasses

    from harness.results import CheckResult, Severity, Status

    first = passing_run.scenarios[0]
    skipped = CheckResult("health/ok", Status.SKIP, Severity.ERROR, "§3.10", first.scenario_id, "tls", "no")
    scenario = dataclasses.replace(first, checks=(*first.checks, skipped))
    run = dataclasses.replace(passing_run, scenarios=(scenario, *passing_run.scenarios[1:]))
    case = ET.fromstring(junit.render(run)).find(".//testcase[@classname='health/ok'][@name='health/ok']")
    assert case is not None and list(case) == []
