"""Console output of ``bookcheck run``: progress while it runs, then everything a partner needs to act.

On a terminal the progress is one line rewritten in place (``[12/40] lease/book-on-expired-lease PASS``);
on anything else (a CI log, a pipe) it is one line per scenario, so the log stays readable and greppable.
The closing summary lists deviations (FAIL before WARN, then by severity, rule id and scenario), scenarios
that did not run, per-method figures, rule coverage, resources, baseline and the verdict: every list is
sorted, so the output of two runs diffs cleanly. Colour is used only when asked for, and text from the
target is cleaned of control characters, so a hostile server cannot write escape sequences to the terminal.
"""

from __future__ import annotations

from typing import TextIO

from harness.results import CheckResult, MethodStats, Rule, RunResult, ScenarioResult, Status

from . import facts

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "grey": "90", "bold": "1"}
_STATUS_COLOUR = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.ERROR: "red",
    Status.WARN: "yellow",
    Status.SKIP: "grey",
}
_VERDICT_COLOUR = {"PASS": "green", "FAIL": "red", "USAGE ERROR": "red", "UNREACHABLE": "red"}

#: Characters of a body shown per exchange in the summary (full bodies with ``verbose``).
BODY_LIMIT = 160
#: Exchanges shown per deviation, the last ones (all with ``verbose``).
EXCHANGE_LIMIT = 2


class ConsoleReporter:
    """A :class:`harness.results.RunListener` writing to ``stream``."""

    def __init__(self, stream: TextIO, *, color: bool, verbose: bool) -> None:
        self._stream = stream
        self._color = color
        self._verbose = verbose
        self._tty = _isatty(stream)
        self._total = 0
        self._done = 0
        self._live_width = 0

    # ------------------------------------------------------------------------------------------ listener
    def run_started(self, *, target: str, transport: str, suite: str, total: int) -> None:
        self._total = total
        self._done = 0
        self._write(
            self._paint("bold", f"bookcheck {facts.clean(suite)}") + f" against {facts.clean(target)} "
            f"over {facts.clean(transport)}: {total} scenario{'s' if total != 1 else ''}\n"
        )

    def scenario_finished(self, result: ScenarioResult) -> None:
        self._done += 1
        total = str(self._total) if self._total else "?"
        counter = f"[{self._done:>{len(total)}}/{total}]"
        status = self._status(result.status)
        line = f"{counter} {facts.clean(result.scenario_id)} {status}"
        if self._tty:
            plain = f"{counter} {facts.clean(result.scenario_id)} {result.status.value}"
            pad = " " * max(self._live_width - len(plain), 0)
            self._live_width = len(plain)
            self._write(f"\r{line}{pad}")
            if result.status in (Status.FAIL, Status.ERROR):  # keep failures visible above the live line
                self._write("\n")
                self._live_width = 0
        else:
            detail = f" ({facts.clean(result.reason)})" if result.reason else ""
            self._write(f"{line} {facts.ms(result.duration_ms)}{detail}\n")

    def run_finished(self, result: RunResult) -> None:
        if self._tty and self._live_width:
            self._write("\n")
            self._live_width = 0
        self._write(self.render_summary(result))

    # ------------------------------------------------------------------------------------------ summary
    def render_summary(self, result: RunResult) -> str:
        """The closing summary as text (also usable without a live run, e.g. from a saved JSON report)."""
        blocks = [
            self._deviations(result),
            self._not_run(result),
            self._methods(result),
            self._rules(result),
            self._resources(result),
            self._baseline(result),
            self._verdict(result),
        ]
        return "\n" + "\n".join(b for b in blocks if b)

    def _deviations(self, result: RunResult) -> str:
        deviations = facts.sorted_deviations(result)
        if not deviations:
            return self._heading("Deviations: none") + "\n"
        rules = facts.rules_by_id(result)
        out = [self._heading(f"Deviations ({len(deviations)})")]
        for number, check in enumerate(deviations, 1):
            out.append(self._deviation(number, check, rules))
        return "\n".join(out) + "\n"

    def _deviation(self, number: int, check: CheckResult, rules: dict[str, Rule]) -> str:
        text = facts.evidence_text(
            check,
            rules.get(check.rule_id),
            limit=None if self._verbose else BODY_LIMIT,
            max_exchanges=None if self._verbose else EXCHANGE_LIMIT,
        )
        first, *rest = text.split("\n")
        status = check.status.value
        first = self._status(check.status) + first[len(status) :]
        return "\n".join([f"{number}. {first}", *("   " + line for line in rest)]) + "\n"

    def _not_run(self, result: RunResult) -> str:
        odd = [s for s in result.scenarios if s.status in (Status.ERROR, Status.SKIP)]
        errored = facts.errored_checks(result)
        if not odd and not errored:
            return ""
        odd.sort(key=lambda s: (facts.status_rank(s.status), s.scenario_id))
        lines = [self._heading(f"Errored and skipped scenarios ({len(odd)})")] if odd else []
        for s in odd:
            lines.append(
                f"  {self._status(s.status)} {facts.clean(s.scenario_id)}: "
                f"{facts.clean(s.reason or 'no reason given')}"
            )
        if errored:
            lines.append(self._heading(f"Checks that could not be judged ({len(errored)})"))
            for c in errored:
                lines.append(
                    f"  {self._status(c.status)} {facts.clean(c.rule_id)} in {facts.clean(c.scenario_id)} "
                    f"· step {facts.clean(c.step)}: {facts.clean(c.message)}"
                )
        return "\n".join(lines) + "\n"

    def _methods(self, result: RunResult) -> str:
        if not result.methods:
            return ""
        header = ("method", "calls", "non-2xx", "failing", "p50", "p95", "max", "budget")
        rows = [header] + [_method_row(m) for m in sorted(result.methods, key=lambda m: m.operation)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [self._heading("Methods")]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            lines.append("  " + "  ".join(cells).rstrip())
        over = [m.operation for m in result.methods if facts.over_budget(m)]
        if over:
            lines.append(self._paint("red", f"  over the §1.2 latency budget: {', '.join(sorted(over))}"))
        return "\n".join(lines) + "\n"

    def _rules(self, result: RunResult) -> str:
        rows = facts.rule_rows(result)
        lines = [self._heading("Rules") + " " + facts.rules_line(result)]
        for row in rows:
            if row.status in ("failed", "errored") or (self._verbose and row.status != "excluded"):
                lines.append(
                    f"  {row.status:<13} {row.id} ({row.level}, {facts.clean(row.spec)}) "
                    f"in {len(row.scenarios)} scenario(s)"
                )
        return "\n".join(lines) + "\n"

    def _resources(self, result: RunResult) -> str:
        if not result.created:
            return ""
        s = facts.summary(result)["created"]
        lines = [
            self._heading("Resources") + f" {s['total']} created, {s['cleaned_up']} cleaned up, "
            f"{s['left_behind']} left on the target"
        ]
        for r in sorted(result.created, key=lambda r: (r.kind, r.scenario_id, r.id)):
            if not r.cleaned_up:
                note = f": {facts.clean(r.note)}" if r.note else ""
                lines.append(
                    self._paint(
                        "yellow",
                        f"  left behind: {r.kind} {facts.clean(r.id)} ({facts.clean(r.scenario_id)}){note}",
                    )
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
        lines += [f"  accepted: {facts.clean(k)}" for k in sorted(base.accepted)]
        lines += [
            self._paint("red", f"  stale (remove it from the baseline): {facts.clean(k)}")
            for k in sorted(base.stale)
        ]
        return "\n".join(lines) + "\n"

    def _verdict(self, result: RunResult) -> str:
        verdict = facts.verdict(result)
        return self._paint("bold", self._paint(_VERDICT_COLOUR[verdict], facts.verdict_line(result))) + "\n"

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


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _method_row(m: MethodStats) -> tuple[str, ...]:
    return (
        facts.clean(m.operation),
        str(m.calls),
        str(m.non_2xx),
        str(m.failed_calls),
        facts.ms(m.p50_ms),
        facts.ms(m.p95_ms),
        facts.ms(m.max_ms) + (" !" if facts.over_budget(m) else ""),
        facts.ms(m.budget_ms),
    )
