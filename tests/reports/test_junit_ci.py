"""The JUnit report as CI systems read it: one test case per scenario with its real duration, failures that
name the broken rule and the symptom, classnames by flow family, ERROR and inconclusive runs as errors.

Read twice: with junitparser, and with :func:`ci_read`, a reader written after the rules GitLab's
``Gitlab::Ci::Parsers::Test::Junit`` and Jenkins' JUnit plugin apply (nested ``testsuite`` elements under an
optional ``testsuites`` root; a ``testcase`` needs ``name``; ``classname`` and ``time`` are optional, ``time``
a decimal number of seconds; the first ``failure``/``error``/``skipped`` child decides the status, its
``message`` attribute and text are what the CI shows).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "selftest"))

from faultrun import run_harness, serve  # noqa: E402

from harness.results import ExitCode, RunResult, Status  # noqa: E402
from reports import junit  # noqa: E402

ONLY = ("create-booking/fill-to-capacity", "create-booking/echo", "health/ok", "lease/holds-last-spot")


def ci_read(text: str) -> list[dict[str, str]]:
    """Test cases as a GitLab/Jenkins-style reader sees them; ValueError where such a reader would reject
    the file."""
    root = ET.fromstring(text)
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"root element {root.tag!r} is not testsuites/testsuite")
    cases = []
    for case in root.iter("testcase"):
        name = case.get("name")
        if not name:
            raise ValueError("a testcase without a name")
        try:
            seconds = Decimal(case.get("time", "0"))
        except InvalidOperation:
            raise ValueError(f"{name}: time {case.get('time')!r} is not a number") from None
        status, message, body = "success", "", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message, body = child.get("message", ""), child.text or ""
                break
        cases.append(
            {
                "name": name,
                "classname": case.get("classname", ""),
                "time": str(seconds),
                "status": status,
                "message": message,
                "body": body,
            }
        )
    return cases


@pytest.fixture(scope="module")
def overbook() -> RunResult:
    with serve(["overbook"]) as served:
        return run_harness(served.rest_url, only=ONLY)


def test_one_test_case_per_scenario_with_its_duration_and_family(overbook: RunResult) -> None:
    text = junit.render(overbook)
    cases = ci_read(text)
    assert sorted(c["name"] for c in cases) == sorted(s.scenario_id for s in overbook.scenarios)
    for case in cases:
        family = case["name"].split("/")[0].replace("-", "_")
        assert case["classname"] == f"bookcheck.{family}"
    durations = {s.scenario_id: s.duration_ms for s in overbook.scenarios}
    assert all(abs(float(c["time"]) - durations[c["name"]] / 1000) < 0.001 for c in cases)
    assert any(float(c["time"]) > 0 for c in cases)
    parsed = JUnitXml.fromstring(text)
    assert sum(1 for suite in parsed for _case in suite) == len(overbook.scenarios)


def test_failures_name_the_broken_rule_and_the_symptom(overbook: RunResult) -> None:
    cases = {c["name"]: c for c in ci_read(junit.render(overbook))}
    failed = cases["create-booking/fill-to-capacity"]
    assert failed["status"] == "failed"
    assert failed["message"].startswith("create-booking/full-slot-unavailable: step one-more")
    assert "SLOT_UNAVAILABLE" in failed["message"]
    assert cases["health/ok"]["status"] == "success"
    for suite in JUnitXml.fromstring(junit.render(overbook)):
        for case in suite:
            if case.name == "create-booking/fill-to-capacity":
                assert isinstance(case.result[0], Failure)
                assert case.result[0].type == "create-booking/full-slot-unavailable"


def test_errors_skips_and_an_inconclusive_run(overbook: RunResult) -> None:
    broken = replace(overbook.scenarios[0], status=Status.ERROR, reason="setup failed: no slot with 2 spots")
    skipped = replace(overbook.scenarios[1], status=Status.SKIP, checks=(), reason="not claimed")
    run = replace(
        overbook, scenarios=(broken, skipped, *overbook.scenarios[2:]), exit_code=ExitCode.INCONCLUSIVE
    )
    text = junit.render(run)
    cases = {c["name"]: c for c in ci_read(text)}
    assert cases[broken.scenario_id]["status"] == "error"
    assert "setup failed" in cases[broken.scenario_id]["message"]
    assert cases[skipped.scenario_id]["status"] == "skipped"
    assert cases["verdict"]["status"] == "error" and cases["verdict"]["classname"] == "bookcheck.run"
    kinds = {type(r) for suite in JUnitXml.fromstring(text) for case in suite for r in case.result}
    assert {Error, Skipped, Failure} <= kinds
