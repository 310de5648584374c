"""The first screen of every report: the verdict in plain words and one line per broken rule.

HTML, console and the quiet summary all open on the same thing, built here from the result records alone:
what is broken (grouped by rule, however many scenarios saw it), most severe first, with how often it was
seen, what it means for the partner and how to fix it (the ``meaning:`` and ``fix:`` texts of
``scenarios/rules.yaml``). The verdict itself is the run's one rule (:meth:`RunResult.fails_run`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from harness.results import CheckResult, ExitCode, Rule, RunResult, ScenarioResult, Severity, Status

_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_LEVEL_WORD = {Severity.ERROR: "MUST", Severity.WARNING: "SHOULD", Severity.INFO: "MAY"}


@dataclass(frozen=True)
class BrokenRule:
    """One rule with deviations in the run, and everywhere it was seen."""

    rule_id: str
    rule: Rule | None
    severity: Severity
    status: Status  # FAIL or WARN
    checks: tuple[CheckResult, ...]  # every occurrence, in scenario order
    fails_run: bool

    @property
    def baselined(self) -> bool:
        """Every occurrence is a known deviation of the baseline (reported, never failing the run)."""
        return all(c.baselined for c in self.checks)

    @property
    def count(self) -> int:
        return len(self.checks)

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.scenario_id for c in self.checks))

    @property
    def title(self) -> str:
        """The rule in one sentence (its catalogue text), else the first occurrence's message."""
        return self.rule.text if self.rule is not None else self.checks[0].message

    @property
    def meaning(self) -> str:
        return str(getattr(self.rule, "meaning", None) or "")

    @property
    def fix(self) -> str:
        return str(getattr(self.rule, "fix", None) or "")

    @property
    def level(self) -> str:
        return self.rule.level if self.rule is not None else _LEVEL_WORD[self.severity]

    @property
    def anchor(self) -> str:
        return "rule-" + "".join(ch if ch.isalnum() else "-" for ch in self.rule_id)

    @property
    def reproducer(self) -> str:
        """The file name ``--report repro:DIR`` gives this rule's script (see reports.repro)."""
        return self.rule_id.replace("/", "__") + ".sh"


def broken_rules(result: RunResult) -> list[BrokenRule]:
    """Rules with a deviation (baselined ones included, marked as not failing): the ones that fail the run
    first, then by severity and by how often they were seen."""
    rules = {r.id: r for r in result.rules}
    seen: dict[str, list[CheckResult]] = {}
    for c in result.checks():
        if c.is_deviation:
            seen.setdefault(c.rule_id, []).append(c)
    out = [
        BrokenRule(
            rule_id=rule_id,
            rule=rules.get(rule_id),
            severity=checks[0].severity,
            status=Status.FAIL if any(c.status == Status.FAIL for c in checks) else Status.WARN,
            checks=tuple(checks),
            fails_run=any(c.fails_run(result.fail_on) for c in checks),
        )
        for rule_id, checks in seen.items()
    ]
    return sorted(out, key=lambda b: (not b.fails_run, _SEVERITY_RANK[b.severity], -b.count, b.rule_id))


def unjudged(result: RunResult) -> list[ScenarioResult]:
    """Scenarios that ended in ERROR: their rules could not be judged (they fail the run too)."""
    return [s for s in result.scenarios if s.status == Status.ERROR]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def verdict_sentence(result: RunResult) -> str:
    """The verdict in plain words, e.g. "Your server breaks 2 MUST rules: the run fails." """
    broken = broken_rules(result)
    failing = [b for b in broken if b.fails_run]
    must = [b for b in failing if b.severity == Severity.ERROR]
    other = [b for b in failing if b.severity != Severity.ERROR]
    warnings = [b for b in broken if not b.fails_run and b.status == Status.WARN]
    errors = unjudged(result)
    code = ExitCode(result.exit_code)
    reason = (result.reason or "").strip().split("\n")[0].rstrip(".")
    if code == ExitCode.UNREACHABLE:
        return "bookcheck could not reach your server: nothing was judged."
    if code == ExitCode.USAGE or result.outcome == "setup-error":
        return f"bookcheck could not judge your server: {reason or 'the run could not be set up'}."
    if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) or result.outcome == "interrupted":
        judged = sum(1 for s in result.scenarios if s.status != Status.SKIP)
        return f"The run was stopped before it finished ({_plural(judged, 'scenario')} judged): no verdict."
    if code == ExitCode.INCONCLUSIVE:
        why = f": {result.inconclusive.rstrip('.')}" if result.inconclusive else ""
        return f"Inconclusive: too little of your server could be judged to give a verdict{why}."
    parts = []
    if must:
        parts.append(f"breaks {_plural(len(must), 'MUST rule')}")
    if other:
        parts.append(f"breaks {_plural(len(other), 'SHOULD rule')} (--fail-on warning)")
    if parts or errors or result.baseline.stale:
        sentence = "Your server " + " and ".join(parts) if parts else "Your server"
        extras = []
        if errors:
            extras.append(f"{_plural(len(errors), 'scenario')} could not be judged")
        if result.baseline.stale:
            extras.append(f"{_plural(len(result.baseline.stale), 'known deviation')} no longer occur")
        tail = "; ".join(extras)
        sentence = (
            sentence + (f"; {tail}" if parts and tail else "") if parts else f"{tail[0].upper()}{tail[1:]}"
        )
        return sentence + ": the run fails."
    judged = sum(1 for s in result.scenarios if s.status not in (Status.SKIP, Status.ERROR))
    passed = f"Your server passes: no MUST rule broken in {_plural(judged, 'scenario')}"
    if warnings:
        return passed + f", but it breaks {_plural(len(warnings), 'SHOULD rule')} (warnings)."
    return passed + "."


def occurrences_line(b: BrokenRule) -> str:
    """``5× in 5 scenarios`` / ``1× in create-booking/echo``."""
    where = b.scenarios[0] if len(b.scenarios) == 1 else f"{len(b.scenarios)} scenarios"
    return f"{b.count}× in {where}"


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def first_screen_lines(result: RunResult, width: int = 80) -> list[str]:
    """The console's closing block (what stays on screen): the verdict sentence, then per broken rule its
    title, id and count, meaning and fix, wrapped to ``width`` columns; then how to replay one."""
    broken = broken_rules(result)
    lines = _wrap(verdict_sentence(result), width)
    for n, b in enumerate(broken, 1):
        mark = " (baselined)" if b.baselined else ""
        lines += _wrap(f"{n}. {b.status.value} {b.title}{mark}", width, "", "   ")
        lines += _wrap(f"{b.rule_id} · {occurrences_line(b)}", width, "   ", "   ")
        for label, text in (("means", b.meaning), ("fix", b.fix)):
            if text:
                lines += _wrap(text, width, f"   {label + ':':<7}", " " * 10)
    if broken:
        lines += _wrap(
            "Replay one: bookcheck replay REPORT.json --rule RULE --target URL, or the scripts of "
            "--report repro:DIR (exit 1 while still broken).",
            width,
        )
    return lines


def quiet_lines(result: RunResult) -> list[str]:
    """``-q``: one line per broken rule with its count, one per scenario that could not be judged, one per
    stale baseline entry, and the verdict sentence."""
    lines = []
    for b in broken_rules(result):
        mark = " (baselined)" if b.baselined else ""
        lines.append(f"{b.status.value} {b.rule_id} {occurrences_line(b)}: {b.title}{mark}")
    lines += [f"ERROR {s.scenario_id}: {s.reason}" for s in unjudged(result)]
    lines += [f"STALE baseline entry no longer occurs: {key}" for key in result.baseline.stale]
    failing = len(result.failing_checks())
    lines.append(
        f"bookcheck: {verdict_sentence(result)} {failing} deviation(s) failing the run, "
        f"exit {int(result.exit_code)}"
    )
    return lines
