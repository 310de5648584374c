"""The outputs of a run besides the console (reports/listeners.py), and the one verdict rule every output
asks: the exit code, the JSON summary, JUnit failures and the quiet summary name the same failing checks,
under both ``--fail-on`` settings."""

from __future__ import annotations

import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.results import Exchange, HttpMessage, RunListener, RunResult, ScenarioResult, Status
from reports import google_summary, json_report, junit
from reports.listeners import (
    BaselineWriter,
    GoogleSummaryPrinter,
    QuietSummary,
    ReportFiles,
    UnauthorizedHint,
    quiet_lines,
    saw_unauthorized,
)


def _finish(listener: RunListener, result: RunResult) -> None:
    """Drive a listener as the runner does: started, one scenario, finished."""
    listener.run_started(target=result.target, transport=result.transport, suite=result.suite, total=1)
    listener.scenario_finished(result.scenarios[0])
    listener.run_finished(result)


def _junit_failures(result: RunResult) -> set[str]:
    """The scenarios with a JUnit ``<failure>``, whichever of a test case's names holds the scenario id
    (the stale-baseline suite names baseline entries, never a scenario)."""
    ids = {s.scenario_id for s in result.scenarios}
    root = ET.fromstring(junit.render(result).encode("utf-8"))
    found: set[str] = set()
    for case in root.iter("testcase"):
        if case.find("failure") is not None:
            found |= {str(case.get("classname")), str(case.get("name"))} & ids
    return found


@pytest.mark.parametrize("fail_on", ["error", "warning"])
def test_every_output_names_the_same_failing_checks(troubled_run: RunResult, fail_on: str) -> None:
    run = dataclasses.replace(troubled_run, fail_on=fail_on)
    failing = run.failing_checks()
    assert failing and all(not c.baselined for c in failing)
    assert any(c.status is Status.WARN for c in failing) == (fail_on == "warning")
    assert json_report.build(run)["summary"]["deviations"]["failing"] == len(failing)
    assert _junit_failures(run) == {c.scenario_id for c in failing}
    assert f"{len(failing)} deviation(s) failing the run" in quiet_lines(run)[-1]
    assert run.fails_run()


def test_a_baselined_deviation_fails_no_output(troubled_run: RunResult) -> None:
    """Accept every deviation and drop the stale entry and the errors: nothing fails, in any output."""
    scenarios = tuple(
        dataclasses.replace(
            s,
            status=Status.PASS if s.status is Status.ERROR else s.status,
            checks=tuple(
                dataclasses.replace(c, baselined=c.is_deviation)
                for c in s.checks
                if c.status is not Status.ERROR
            ),
        )
        for s in troubled_run.scenarios
    )
    run = dataclasses.replace(
        troubled_run,
        scenarios=scenarios,
        baseline=dataclasses.replace(troubled_run.baseline, stale=()),
        fail_on="warning",
    )
    assert not run.fails_run() and run.failing_checks() == []
    assert json_report.build(run)["summary"]["deviations"]["failing"] == 0
    assert _junit_failures(run) == set()
    assert "0 deviation(s) failing the run" in quiet_lines(run)[-1]
    assert all(line.endswith("(baselined)") for line in quiet_lines(run) if line.startswith(("FAIL", "WARN")))


def test_quiet_summary_lists_deviations_errors_stale_entries_and_the_verdict(troubled_run: RunResult) -> None:
    out = io.StringIO()
    _finish(QuietSummary(out), troubled_run)
    lines = out.getvalue().splitlines()
    assert lines == quiet_lines(troubled_run)
    assert any(line.startswith("FAIL ") and line.endswith("(baselined)") for line in lines)
    assert "ERROR auth/no-credentials: connection refused" in lines
    assert "STALE baseline entry no longer occurs: auth/basic-401 auth/no-credentials" in lines
    assert lines[-1].endswith(f"exit {int(troubled_run.exit_code)}")


def _with_401(run: RunResult) -> RunResult:
    """``run`` with a 401 answer in the evidence of its first deviation."""
    exchange = Exchange(
        operation="HealthCheck",
        transport="rest",
        request=HttpMessage(method="GET", url=f"{run.target}/v3/HealthCheck"),
        response=HttpMessage(status=401, status_text="Unauthorized"),
        elapsed_ms=1.0,
    )
    scenarios: list[ScenarioResult] = []
    done = False
    for s in run.scenarios:
        checks = []
        for c in s.checks:
            if c.is_deviation and not done:
                c, done = dataclasses.replace(c, exchanges=(exchange,)), True
            checks.append(c)
        scenarios.append(dataclasses.replace(s, checks=tuple(checks)))
    return dataclasses.replace(run, scenarios=tuple(scenarios))


def test_unauthorized_hint_only_when_the_evidence_holds_a_401(
    troubled_run: RunResult, passing_run: RunResult
) -> None:
    for run, expected in ((passing_run, False), (_with_401(troubled_run), True)):
        err = io.StringIO()
        _finish(UnauthorizedHint(err), run)
        assert saw_unauthorized(run) is expected
        assert ("--credentials-file" in err.getvalue()) is expected, err.getvalue()


def test_report_files_and_baseline_writer(troubled_run: RunResult, tmp_path: Path) -> None:
    out = io.StringIO()
    reports = [("json", str(tmp_path / "r" / "run.json")), ("junit", str(tmp_path / "run.xml"))]
    written: list[list[tuple[str, str]]] = []

    def dump(pairs: list[tuple[str, str]]) -> str:
        written.append(pairs)
        return json.dumps({"deviations": [{"rule": r, "scenario": s} for r, s in sorted(set(pairs))]})

    _finish(ReportFiles(reports, out), troubled_run)
    _finish(BaselineWriter(str(tmp_path / "known.json"), dump, out), troubled_run)
    assert RunResult.from_dict(json.loads((tmp_path / "r" / "run.json").read_text())) == troubled_run
    ET.parse(tmp_path / "run.xml")
    pairs = {(c.rule_id, c.scenario_id) for c in troubled_run.deviations()}
    assert set(written[0]) == pairs
    entries = json.loads((tmp_path / "known.json").read_text())["deviations"]
    assert {(e["rule"], e["scenario"]) for e in entries} == pairs
    text = out.getvalue()
    assert f"wrote json report: {reports[0][1]}" in text and f"wrote junit report: {reports[1][1]}" in text
    assert f"wrote baseline: {tmp_path / 'known.json'} ({len(pairs)} entries)" in text


def test_google_summary_printer_prints_googles_lines(passing_run: RunResult) -> None:
    out = io.StringIO()
    _finish(GoogleSummaryPrinter(out), passing_run)
    assert out.getvalue() == google_summary.render(passing_run)
