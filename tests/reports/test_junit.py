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
    assert [s.name for s in xml] == [
        "bookcheck.create_booking",
        "bookcheck.health",
        "bookcheck.update_booking",
    ]
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (3, 0, 0, 0)
    # one test case per scenario, classname by flow family, its real duration
    case = _cases(xml)[("bookcheck.create_booking", "create-booking/replay")]
    scenario = next(s for s in passing_run.scenarios if s.scenario_id == "create-booking/replay")
    assert case.time == pytest.approx(scenario.duration_ms / 1000, abs=0.001)


def test_troubled_run_counts(troubled_run: RunResult, tmp_path: Path) -> None:
    xml = _parse(troubled_run, tmp_path)
    suites: dict[str, TestSuite] = {s.name: s for s in xml}
    assert sorted(suites) == [
        "bookcheck.auth",
        "bookcheck.baseline",
        "bookcheck.create_booking",
        "bookcheck.health",
        "bookcheck.lease",
        "bookcheck.list_bookings",
        "bookcheck.update_booking",
    ]
    # failures: lease/hold-last-spot + the stale baseline entry; errors: the two scenarios in ERROR;
    # skipped: the scenario with only a baselined FAIL, and the two skipped scenarios
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (9, 2, 2, 3)
    assert (suites["bookcheck.lease"].tests, suites["bookcheck.lease"].failures) == (2, 1)
    # junitparser recomputes from the cases: the attributes we wrote must agree with it
    for suite in xml:
        written = (suite.tests, suite.failures, suite.errors, suite.skipped)
        suite.update_statistics()  # type: ignore[no-untyped-call]
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == written, suite.name


def test_each_outcome_maps_as_documented(troubled_run: RunResult, tmp_path: Path) -> None:
    cases = _cases(_parse(troubled_run, tmp_path))
    fail = cases[("bookcheck.lease", "lease/hold-last-spot")]
    assert _kinds(fail) == [Failure]
    failure = fail.result[0]
    assert failure.type == "lease/hold-last-spot"
    assert failure.message.startswith("lease/hold-last-spot: step ")
    assert "the leased last spot was booked by another user" in failure.message
    assert "A live lease MUST hold the leased spot." in failure.text
    assert HOSTILE in failure.text  # kept as text: the XML escaping is the parser's business

    baselined = cases[("bookcheck.create_booking", "create-booking/replay")]
    assert _kinds(baselined) == [Skipped] and baselined.result[0].type == "baselined"

    warn = cases[("bookcheck.create_booking", "create-booking/full-slot")]
    assert warn.is_passed and "CAUSE_UNSPECIFIED" in (warn.system_out or "")

    assert _kinds(cases[("bookcheck.list_bookings", "list-bookings/active")]) == [Error]
    assert cases[("bookcheck.auth", "auth/no-credentials")].result[0].message == "connection refused"
    skipped = cases[("bookcheck.lease", "lease/expired")].result[0]
    assert isinstance(skipped, Skipped) and skipped.message == "the target profile claims no leases"
    stale = cases[("bookcheck.baseline", "auth/basic-401 auth/no-credentials")]
    assert _kinds(stale) == [Failure] and stale.result[0].type == "baseline/stale"


def test_control_characters_from_the_target_do_not_break_the_xml(troubled_run: RunResult) -> None:
    text = junit.render(troubled_run)
    assert "\x1b" not in text and "\x00" not in text
    ET.fromstring(text.encode("utf-8"))  # a strict XML 1.0 parser accepts it


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
    case = ET.fromstring(junit.render(run)).find(
        ".//testcase[@classname='bookcheck.health'][@name='health/ok']"
    )
    assert case is not None and list(case) == []
