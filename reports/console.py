"""Console output of ``bookcheck run``: progress while it runs, then what a partner needs to act (80 columns).

On a terminal the progress is one line rewritten in place (``[12/40] lease/holds-last-spot PASS``); while a
scenario runs longer than a second, the line names it with its elapsed time. On anything else (a CI log, a
pipe) it is one line per scenario, plus one line for a scenario still running after a second, so the log
stays readable and greppable. Cleanup gets its own line.

The closing summary is grouped like the HTML report: one block per broken rule (its occurrences, the
symptom of the first, the decisive exchange), then scenarios that did not run, per-method figures, rules,
cleanup and baseline, and last what stays on screen: the verdict in plain words and one entry per broken
rule with what it means and how to fix it (:mod:`reports.overview`). Every list is sorted, so two runs diff
cleanly; colour only when asked for; text from the target is cleaned of control characters.
"""

from __future__ import annotations

import textwrap
import threading
import time
from typing import TextIO

from harness.results import CheckResult, ExitCode, MethodStats, RunResult, ScenarioResult, Status

from . import facts
from .overview import BrokenRule, broken_rules, first_screen_lines, occurrences_line, verdict_sentence

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "grey": "90", "bold": "1"}
_STATUS_COLOUR = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.ERROR: "red",
    Status.WARN: "yellow",
    Status.SKIP: "grey",
}
_VERDICT_COLOUR = {"PASS": "green", "FAIL": "red", "USAGE ERROR": "red", "UNREACHABLE": "red"}

#: Columns of every summary line.
WIDTH = 80
#: Occurrences listed per broken rule (all with ``verbose``).
OCCURRENCE_LIMIT = 5
#: A scenario running longer than this is named in the progress, with its elapsed time.
SLOW_AFTER_S = 1.0


class ConsoleReporter:
    """A :class:`harness.results.RunListener` writing to ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        color: bool,
        verbose: bool,
        tick_s: float = 0.5,
        slow_after_s: float = SLOW_AFTER_S,
    ) -> None:
        self._stream = stream
        self._color = color
        self._verbose = verbose
        self._tty = _isatty(stream)
        self._total = 0
        self._done = 0
        self._live_width = 0
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}
        self._announced: set[str] = set()
        self._tick_s = tick_s
        self._slow_after_s = slow_after_s
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ listener
    def run_started(self, *, target: str, transport: str, suite: str, total: int) -> None:
        self._total = total
        self._done = 0
        self._write(
            self._paint("bold", f"bookcheck {facts.clean(suite)}") + f" against {facts.clean(target)} "
            f"over {facts.clean(transport)}: {total} scenario{'s' if total != 1 else ''}\n"
        )
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="bookcheck-console", daemon=True)
        self._ticker.start()

    def scenario_started(self, scenario_id: str) -> None:
        """Called by the runner when a scenario begins (its id is shown if it runs long)."""
        with self._lock:
            self._running[scenario_id] = time.monotonic()

    def scenario_finished(self, result: ScenarioResult) -> None:
        with self._lock:
            self._running.pop(result.scenario_id, None)
            self._done += 1
            total = str(self._total) if self._total else "?"
            counter = f"[{self._done:>{len(total)}}/{total}]"
            line = f"{counter} {facts.clean(result.scenario_id)} {self._status(result.status)}"
            if self._tty:
                plain = f"{counter} {facts.clean(result.scenario_id)} {result.status.value}"
                self._live(line, plain)
                if result.status in (Status.FAIL, Status.ERROR):  # keep failures visible above the live line
                    self._newline()
            else:
                detail = f" ({facts.clean(result.reason)})" if result.reason else ""
                self._write(
                    _fit(
                        f"{line} {facts.ms(result.duration_ms)}{detail}",
                        WIDTH
                        + len(line)
                        - len(f"{counter} {facts.clean(result.scenario_id)} {result.status.value}"),
                    )
                    + "\n"
                )

    def cleanup_started(self, count: int) -> None:
        """Called by the runner before it cancels what the run created."""
        with self._lock:
            self._newline()
            self._write(f"cleanup: cancelling {count} booking(s) and lease(s) the run created\n")

    def run_finished(self, result: RunResult) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            self._newline()
        self._write(self.render_summary(result))

    # ------------------------------------------------------------------------------------------ progress
    def _tick(self) -> None:
        """Name a scenario that runs longer than ``slow_after_s`` (1 s), with its elapsed time."""
        while not self._stop.wait(self._tick_s):
            with self._lock:
                now = time.monotonic()
                slow = sorted((now - t, s) for s, t in self._running.items() if now - t >= self._slow_after_s)
                if not slow:
                    continue
                elapsed, scenario = slow[-1]
                text = f"running {facts.clean(scenario)} ({elapsed:.1f} s)" + (
                    f" and {len(slow) - 1} more" if len(slow) > 1 else ""
                )
                if self._tty:
                    self._live(text, text)
                elif scenario not in self._announced:
                    self._announced.add(scenario)
                    self._write(f"  ... still running {facts.clean(scenario)} after {elapsed:.1f} s\n")

    def _live(self, line: str, plain: str) -> None:
        pad = " " * max(self._live_width - len(plain), 0)
        self._live_width = len(plain)
        self._write(f"\r{line}{pad}")

    def _newline(self) -> None:
        if self._tty and self._live_width:
            self._write("\n")
            self._live_width = 0

    # ------------------------------------------------------------------------------------------ summary
    def render_summary(self, result: RunResult) -> str:
        """The closing summary as text (also usable without a live run, e.g. from a saved JSON report)."""
        if result.outcome != "completed" and not result.scenarios:
            return "\n" + self._stopped(result)
        blocks = [
            self._broken(result),
            self._not_run(result),
            self._methods(result),
            self._rules(result),
            self._resources(result),
            self._baseline(result),
            self._first_screen(result),
        ]
        return "\n" + "\n".join(b for b in blocks if b)

    def _broken(self, result: RunResult) -> str:
        broken = broken_rules(result)
        if not broken:
            return ""
        out = [self._heading(f"Broken rules ({len(broken)}), evidence")]
        for n, b in enumerate(broken, 1):
            out.append(self._rule_block(n, b))
        return "\n".join(out) + "\n"

    def _rule_block(self, n: int, b: BrokenRule) -> str:
        head = f"{n}. {b.status.value} {b.rule_id} ({b.level}, {facts.clean(b.checks[0].spec)})"
        lines = [self._paint(_STATUS_COLOUR[b.status], _fit(head)), _fit(f"   {occurrences_line(b)}")]
        shown = b.checks if self._verbose else b.checks[:OCCURRENCE_LIMIT]
        for c in shown:
            lines.append(
                _fit(
                    f"   - {facts.clean(c.scenario_id)} · step {facts.clean(c.step)}"
                    + (" (baselined)" if c.baselined else "")
                )
            )
        if len(shown) < len(b.checks):
            lines.append(f"   - and {len(b.checks) - len(shown)} more (see the HTML or JSON report)")
        lines += _symptom_lines(b.checks[0], self._verbose)
        return "\n".join(lines) + "\n"

    def _not_run(self, result: RunResult) -> str:
        odd = [s for s in result.scenarios if s.status in (Status.ERROR, Status.SKIP)]
        errored = facts.errored_checks(result)
        if not odd and not errored:
            return ""
        odd.sort(key=lambda s: (facts.status_rank(s.status), s.scenario_id))
        lines = [self._heading(f"Errored and skipped scenarios ({len(odd)})")] if odd else []
        for s in odd:
            lines.append(
                self._status(s.status)
                + _fit(
                    f" {facts.clean(s.scenario_id)}: {facts.clean(s.reason or 'no reason given')}", WIDTH - 6
                )
            )
        if errored:
            lines.append(self._heading(f"Checks that could not be judged ({len(errored)})"))
            for c in errored:
                lines.append(
                    self._status(c.status)
                    + _fit(
                        f" {facts.clean(c.rule_id)} in {facts.clean(c.scenario_id)}: "
                        f"{facts.clean(c.message)}",
                        WIDTH - 6,
                    )
                )
        return "\n".join(lines) + "\n"

    def _methods(self, result: RunResult) -> str:
        if not result.methods:
            return ""
        header = ("method", "calls", "non2xx", "fail", "p50", "p95", "max", "budget")
        rows = [header] + [_method_row(m) for m in sorted(result.methods, key=lambda m: m.operation)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [self._heading("Methods") + " (latency in ms)"]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            lines.append(_fit("  " + " ".join(cells).rstrip()))
        over = [m.operation for m in result.methods if facts.over_budget(m)]
        if over:
            lines.append(
                self._paint("red", _fit(f"  over the §1.2 latency budget: {', '.join(sorted(over))}"))
            )
        return "\n".join(lines) + "\n"

    def _rules(self, result: RunResult) -> str:
        lines = [self._heading("Rules") + _fit(" " + facts.rules_line(result), WIDTH - 5)]
        if self._verbose:
            for row in facts.rule_rows(result):
                if row.status != "excluded":
                    lines.append(_fit(f"  {row.status:<13} {row.id} ({row.level})"))
        return "\n".join(lines) + "\n"

    def _resources(self, result: RunResult) -> str:
        s = facts.summary(result)["created"]
        lines = [
            _fit(
                f"Cleanup: {s['total']} created, {s['cleaned_up']} cleaned up, "
                f"{s['left_behind']} left on the target"
            )
        ]
        for r in sorted(result.created, key=lambda r: (r.kind, r.scenario_id, r.id)):
            if not r.cleaned_up:
                note = f": {facts.clean(r.note)}" if r.note else ""
                lines.append(
                    self._paint("yellow", _fit(f"  left behind: {r.kind} {facts.clean(r.id)}{note}"))
                )
        return "\n".join(lines) + "\n"

    def _baseline(self, result: RunResult) -> str:
        base = result.baseline
        if not base.accepted and not base.stale:
            return ""
        lines = [
            self._heading("Baseline") + f" {len(base.accepted)} known deviation(s) accepted, "
            f"{len(base.stale)} stale"
        ]
        lines += [_fit(f"  accepted: {facts.clean(k)}") for k in sorted(base.accepted)]
        lines += [
            self._paint("red", _fit(f"  stale (remove it from the baseline): {facts.clean(k)}"))
            for k in sorted(base.stale)
        ]
        return "\n".join(lines) + "\n"

    def _stopped(self, result: RunResult) -> str:
        """A run that stopped before any scenario (setup error, unreachable): why, and the exit code."""
        wrapped = textwrap.wrap(verdict_sentence(result), WIDTH, break_on_hyphens=False)
        lines = [self._paint("bold", line) for line in wrapped]
        lines += [_fit("  " + facts.clean(line)) for line in (result.reason or "").strip().splitlines()[1:]]
        if result.created:
            lines.append(self._resources(result).rstrip("\n"))
        lines.append(self._paint("bold", self._paint("red", _closing_line(result))))
        return "\n".join(lines) + "\n"

    def _first_screen(self, result: RunResult) -> str:
        verdict = facts.verdict(result)
        colour = _VERDICT_COLOUR.get(verdict, "yellow")  # INCONCLUSIVE: neither green nor red
        lines = first_screen_lines(result, WIDTH)
        head, rest = lines[0], lines[1:]
        rule = "─" * WIDTH
        closing = self._paint("bold", self._paint(colour, _closing_line(result)))
        return "\n".join([rule, self._paint("bold", self._paint(colour, head)), *rest, rule, closing]) + "\n"

    # ------------------------------------------------------------------------------------------ helpers
    def _heading(self, text: str) -> str:
        return self._paint("bold", text)

    def _status(self, status: Status) -> str:
        return self._paint(_STATUS_COLOUR[status], status.value)

    def _paint(self, colour: str, text: str) -> str:
        if not self._color:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _closing_line(result: RunResult) -> str:
    """``FAIL: exit code 1 DEVIATIONS, deviations found, ...``: the exit code in words, within 80 columns."""
    code = ExitCode(result.exit_code)
    if code == ExitCode.INCONCLUSIVE and result.inconclusive:  # the reason in full: it says what to change
        return f"INCONCLUSIVE: exit code {int(code)}: {facts.clean(result.inconclusive)}"
    return _fit(f"{facts.verdict(result)}: exit code {int(code)} {code.name}, {facts.EXIT_MEANING[code]}")


def _fit(text: str, width: int = WIDTH) -> str:
    """One line of at most ``width`` columns."""
    return facts.abbreviate(text, width)


def _symptom_lines(check: CheckResult, verbose: bool) -> list[str]:
    """The first occurrence's symptom and decisive exchange, each line within 80 columns."""
    limit = None if verbose else WIDTH - 6
    lines = [_fit(f"   symptom: {facts.clean(check.message)}")]
    if check.actual:
        lines.append(
            _fit(f"   got:      {facts.clean(check.actual)}")
            if not verbose
            else f"   got:      {facts.clean(check.actual)}"
        )
    if check.expected:
        lines.append(_fit(f"   expected: {facts.clean(check.expected)}"))
    decisive = [x for x in check.exchanges if x.step == check.step][-1:] or list(check.exchanges[-1:])
    for exchange in decisive:
        lines += [
            "   " + (line if verbose else _fit(line, WIDTH - 3))
            for line in facts.exchange_lines(exchange, limit=limit)
        ]
    return lines


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _method_row(m: MethodStats) -> tuple[str, ...]:
    def n(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    return (
        facts.clean(m.operation),
        str(m.calls),
        str(m.non_2xx),
        str(m.failed_calls),
        n(m.p50_ms),
        n(m.p95_ms),
        n(m.max_ms) + ("!" if facts.over_budget(m) else ""),
        n(m.budget_ms),
    )
