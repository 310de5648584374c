"""Console output: one line per scenario off a terminal, a live line on one, and a complete summary."""

from __future__ import annotations

import dataclasses
import io
import re

from harness.results import RunResult
from reports.console import ConsoleReporter

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(result: RunResult, stream: io.StringIO, *, color: bool = False, verbose: bool = False) -> str:
    reporter = ConsoleReporter(stream, color=color, verbose=verbose)
    reporter.run_started(
        target=result.target, transport=result.transport, suite=result.suite, total=len(result.scenarios)
    )
    for scenario in result.scenarios:
        reporter.scenario_finished(scenario)
    reporter.run_finished(result)
    return stream.getvalue()


def test_ci_log_has_one_line_per_scenario_and_no_ansi(troubled_run: RunResult) -> None:
    out = _run(troubled_run, io.StringIO())
    lines = out.splitlines()
    assert lines[0] == "bookcheck conformance against http://127.0.0.1:8080 over rest: 8 scenarios"
    progress = [line for line in lines if re.match(r"\[\d/8\] ", line)]
    assert [p.split()[1:3] for p in progress] == [
        [s.scenario_id, s.status.value] for s in troubled_run.scenarios
    ]
    assert progress[3] == "[4/8] lease/expired SKIP 0 ms (the target profile claims no leases)"
    assert "\r" not in out and not ANSI_RE.search(out)
    assert "\x1b" not in out  # not even the escape sequence the hostile server put in a body


def test_summary_has_everything_a_partner_needs(troubled_run: RunResult) -> None:
    out = _run(troubled_run, io.StringIO())
    assert "Broken rules (3), evidence" in out
    assert "1. FAIL lease/hold-last-spot (MUST, §11 D23)" in out
    assert "   - lease/hold-last-spot · step book-other-user" in out
    assert "expected: booking_failure SLOT_UNAVAILABLE" in out
    assert "-> POST http://127.0.0.1:8080/v3/CreateBooking" in out and "<- 200 OK" in out
    assert "create-booking/replay · step replay (baselined)" in out
    assert "ERROR auth/no-credentials: connection refused" in out
    assert "SKIP lease/expired: the target profile claims no leases" in out
    assert "Checks that could not be judged (1)" in out
    assert "ERROR list-bookings/contains-active in list-bookings/active: no response" in out
    assert re.search(r"CreateBooking\s+10\s+1\s+1\s+40\s+90\s+4200!\s+4000", out)
    assert "over the §1.2 latency budget: CreateBooking" in out
    assert "Rules 2/5 rules satisfied, 3 failed, 1 skipped, 1 not exercised" in out
    assert "Cleanup: 3 created, 2 cleaned up, 1 left on the target" in out
    assert "stale (remove it from the baseline): auth/basic-401 auth/no-credentials" in out
    assert "Your server breaks 1 MUST rule; 2 scenarios could not be judged" in out
    assert "bookcheck replay REPORT.json --rule RULE --target URL" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL: exit code 1 DEVIATIONS")
    assert max(len(line) for line in out.splitlines()[1:]) <= 80


def test_fail_comes_before_warn(troubled_run: RunResult) -> None:
    out = _run(troubled_run, io.StringIO())
    assert out.index("FAIL lease/hold-last-spot") < out.index("WARN create-booking/cause-specified")


def test_summary_order_does_not_depend_on_run_order(troubled_run: RunResult) -> None:
    shuffled = dataclasses.replace(
        troubled_run,
        scenarios=tuple(reversed(troubled_run.scenarios)),
        methods=tuple(reversed(troubled_run.methods)),
        created=tuple(reversed(troubled_run.created)),
    )
    reporter = ConsoleReporter(io.StringIO(), color=False, verbose=False)
    assert reporter.render_summary(troubled_run) == reporter.render_summary(shuffled)


def test_long_bodies_are_abbreviated_unless_verbose(troubled_run: RunResult) -> None:
    short = _run(troubled_run, io.StringIO())
    full = _run(troubled_run, io.StringIO(), verbose=True)
    assert "…" in short
    assert '"given_name": "Café Zürich — 予約 ✓"' in full and '  "booking": {' in full
    assert len(full) > len(short)


def test_colour_only_when_asked(troubled_run: RunResult) -> None:
    out = _run(troubled_run, io.StringIO(), color=True)
    assert "\x1b[31mFAIL\x1b[0m" in out and "\x1b[32mPASS\x1b[0m" in out
    assert ANSI_RE.sub("", out) == _run(troubled_run, io.StringIO())


def test_terminal_shows_one_live_line_and_keeps_failures(troubled_run: RunResult) -> None:
    out = _run(troubled_run, _Terminal())
    progress = out.split("\n\n", 1)[0]
    assert "[2/8] create-booking/full-slot WARN" in progress
    assert "\r[7/8] health/ok PASS" in progress
    # a FAIL or ERROR line stays on screen; other lines are overwritten in place
    kept = [line.rsplit("\r", 1)[-1].rstrip() for line in progress.split("\n")[1:]]
    assert kept == [
        "[1/8] lease/hold-last-spot FAIL",
        "[3/8] create-booking/replay FAIL",
        "[5/8] list-bookings/active ERROR",
        "[6/8] auth/no-credentials ERROR",
        "[8/8] update-booking/reschedule SKIP",
    ]
    assert not ANSI_RE.search(out)


def test_passing_run(passing_run: RunResult) -> None:
    out = _run(passing_run, io.StringIO())
    assert "Broken rules" not in out
    assert "Your server passes: no MUST rule broken in 3 scenarios." in out
    assert "Rules 3/3 rules satisfied, 0 failed, 0 skipped, 5 not exercised" in out
    assert out.rstrip().splitlines()[-1].startswith("PASS: exit code 0 OK")


def test_is_a_run_listener(passing_run: RunResult) -> None:
    """Typed as the harness's RunListener protocol (mypy checks the signatures); used only through it."""
    from harness.results import RunListener

    stream = io.StringIO()
    listener: RunListener = ConsoleReporter(stream, color=False, verbose=False)
    listener.run_started(target=passing_run.target, transport="rest", suite="s", total=0)
    listener.scenario_finished(passing_run.scenarios[0])
    listener.run_finished(passing_run)
    assert stream.getvalue().splitlines()[1] == "[1/?] health/ok PASS 3 ms"
