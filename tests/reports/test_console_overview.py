"""The console as a partner reads it after a fault run: grouped by broken rule, within 80 columns, ending on
the verdict in plain words with what each broken rule means and how to fix it; a slow scenario named while
it runs; a cleanup line; ``-q`` one line per broken rule with its count."""

from __future__ import annotations

import io
import threading

import pytest
from faultrun import run_harness, serve  # tests/selftest, put on the path by this room's conftest

from harness.results import RunResult
from reports.console import ConsoleReporter
from reports.overview import broken_rules, quiet_lines, verdict_sentence


@pytest.fixture(scope="module")
def content_type() -> RunResult:
    """One content-type bug seen by every JSON answer of four scenarios (a SHOULD rule: warnings)."""
    only = (
        "create-booking/echo",
        "create-booking/fill-to-capacity",
        "health/ok",
        "update-booking/cancel-twice",
    )
    with serve(["content-type-text"]) as served:
        return run_harness(served.rest_url, only=only)


def test_one_bug_seen_many_times_is_one_entry(content_type: RunResult) -> None:
    [bug] = broken_rules(content_type)
    assert bug.rule_id == "json/content-type" and bug.count > 1 and len(bug.scenarios) > 1
    text = ConsoleReporter(io.StringIO(), color=False, verbose=False).render_summary(content_type)
    assert text.count("WARN json/content-type (") == 1
    assert quiet_lines(content_type)[0].startswith(f"WARN json/content-type {bug.count}× in ")
    assert len(quiet_lines(content_type)) == 2


def test_summary_groups_by_rule_fits_80_columns_and_ends_on_the_verdict(overbook_run: RunResult) -> None:
    text = ConsoleReporter(io.StringIO(), color=False, verbose=False).render_summary(overbook_run)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    for b in broken_rules(overbook_run):
        assert sum(1 for line in lines if f"FAIL {b.rule_id} (" in line) == 1  # one block per rule
    tail = "\n".join(lines[-40:])
    assert verdict_sentence(overbook_run) in tail
    assert "Your server breaks" in tail and "fix:" in tail and "means:" in tail
    assert "Cleanup:" in text
    assert len(lines) < 150


def test_quiet_prints_one_line_per_broken_rule_with_its_count(overbook_run: RunResult) -> None:
    lines = quiet_lines(overbook_run)
    broken = broken_rules(overbook_run)
    assert len(lines) == len(broken) + 1
    for line, b in zip(lines, broken, strict=False):
        assert line.startswith(f"FAIL {b.rule_id} {b.count}×")
    assert lines[-1].startswith("bookcheck: Your server breaks")


def test_a_slow_scenario_is_named_with_its_elapsed_time_and_cleanup_has_a_line(
    overbook_run: RunResult,
) -> None:
    stream = io.StringIO()
    console = ConsoleReporter(stream, color=False, verbose=False, tick_s=0.02, slow_after_s=0.05)
    console.run_started(target="http://127.0.0.1:9", transport="rest", suite="default", total=2)
    console.scenario_started("lease/expired")
    seen = threading.Event()
    for _ in range(250):  # bounded: at most ~5 s
        if "still running lease/expired after" in stream.getvalue():
            seen.set()
            break
        threading.Event().wait(0.02)
    console.scenario_finished(overbook_run.scenarios[0])
    console.cleanup_started(3)
    console.run_finished(overbook_run)
    out = stream.getvalue()
    assert seen.is_set(), out[:500]
    assert "cleanup: cancelling 3 booking(s) and lease(s)" in out
    assert out.count("still running lease/expired") == 1
