"""Facts every report format states the same way, computed once from a :class:`RunResult`.

Each writer (console, JSON, JUnit, HTML, Google's summary) is a view over these functions, so the figures a
partner reads in the CI log are the figures in the JSON and HTML reports: same counts, same rule statuses,
same order. Everything here is a pure function of the result record (no clock, no environment), which is
what lets two runs of the same target diff cleanly.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.results import (
    CheckResult,
    Exchange,
    ExitCode,
    HttpMessage,
    MethodStats,
    Rule,
    RunResult,
    Severity,
    Status,
)

STATUS_ORDER: tuple[Status, ...] = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)
SEVERITY_ORDER: tuple[Severity, ...] = (Severity.ERROR, Severity.WARNING, Severity.INFO)

#: What each exit code tells the partner's CI (the verdict line of every report).
EXIT_MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "no deviation fails the run",
    ExitCode.DEVIATIONS: "deviations found, or a baseline entry went stale",
    ExitCode.USAGE: "usage error: bad flags, feed, profile, scenario or baseline file",
    ExitCode.UNREACHABLE: "the target could not be reached at all",
    ExitCode.INCONCLUSIVE: "the run could judge too little to give a verdict",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C) before the run finished",
    ExitCode.TERMINATED: "terminated (SIGTERM) before the run finished",
}

#: The verdict word of each exit code (the first word of every report's verdict line).
VERDICTS: dict[ExitCode, str] = {
    ExitCode.OK: "PASS",
    ExitCode.DEVIATIONS: "FAIL",
    ExitCode.USAGE: "USAGE ERROR",
    ExitCode.UNREACHABLE: "UNREACHABLE",
    ExitCode.INCONCLUSIVE: "INCONCLUSIVE",
    ExitCode.INTERRUPTED: "INTERRUPTED",
    ExitCode.TERMINATED: "TERMINATED",
}

#: Rule statuses of the rule table, in the order they are listed.
RULE_STATUSES: tuple[str, ...] = ("failed", "errored", "satisfied", "skipped", "not exercised", "excluded")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: object) -> str:
    """Text safe for any report: control characters (ANSI escapes from a hostile server, NUL, lone
    surrogates) become U+FFFD, so they can neither recolour a terminal nor break an XML parser."""
    return _CONTROL.sub("\ufffd", str(text))


def ms(value: float | None) -> str:
    """Milliseconds for people: '34 ms'; '-' when unknown (a report re-read from JSON may carry null)."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.0f} ms"


def over_budget(stats: MethodStats) -> bool:
    """True when the slowest call of a method exceeded its §1.2 latency budget."""
    if stats.budget_ms is None or stats.max_ms is None:
        return False
    return stats.max_ms > stats.budget_ms


def status_rank(status: Status) -> int:
    return STATUS_ORDER.index(status)


def severity_rank(severity: Severity) -> int:
    return SEVERITY_ORDER.index(severity)


def deviation_key(check: CheckResult) -> tuple[Any, ...]:
    """FAIL before WARN, then severity, rule id, scenario id, step: the order of every deviation list."""
    return (
        status_rank(check.status),
        severity_rank(check.severity),
        check.rule_id,
        check.scenario_id,
        check.step,
        check.message,
    )


def sorted_deviations(result: RunResult) -> list[CheckResult]:
    return sorted(result.deviations(), key=deviation_key)


def errored_checks(result: RunResult) -> list[CheckResult]:
    """Checks in ERROR (the rule could not be judged), sorted by rule id, scenario id and step."""
    found = [c for c in result.checks() if c.status is Status.ERROR]
    return sorted(found, key=lambda c: (c.rule_id, c.scenario_id, c.step, c.message))


def rules_by_id(result: RunResult) -> dict[str, Rule]:
    return {rule.id: rule for rule in result.rules}


# ----------------------------------------------------------------------------------------------------------
# rule table
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """One line of the rule table: a catalogue rule (or a rule only seen in checks) and how it fared."""

    id: str
    level: str
    spec: str
    text: str
    status: str  # one of RULE_STATUSES
    scenarios: tuple[str, ...]  # scenario ids with at least one check of this rule
    checks: int
    in_catalogue: bool
    excluded: str | None = None


def _rule_status(statuses: set[Status], excluded: str | None) -> str:
    """A rule failed if any check deviated (FAIL or WARN), errored if it was never judged because the harness
    or target broke, satisfied if it held wherever it was judged, skipped if only skipped."""
    if statuses & {Status.FAIL, Status.WARN}:
        return "failed"
    if Status.PASS in statuses:
        return "satisfied"
    if Status.ERROR in statuses:
        return "errored"
    if Status.SKIP in statuses:
        return "skipped"
    return "excluded" if excluded else "not exercised"


def rule_rows(result: RunResult) -> list[RuleRow]:
    """The rule table: catalogue rules plus any rule id seen only in checks, ordered by status then id."""
    seen: dict[str, list[CheckResult]] = {}
    for check in result.checks():
        seen.setdefault(check.rule_id, []).append(check)
    rows: list[RuleRow] = []
    catalogue = rules_by_id(result)
    for rule_id in sorted(set(catalogue) | set(seen)):
        checks = seen.get(rule_id, [])
        rule = catalogue.get(rule_id)
        if rule is not None:
            level, spec, text, excluded = rule.level, rule.spec, rule.text, rule.excluded
        else:
            first = checks[0]
            level = {Severity.ERROR: "MUST", Severity.WARNING: "SHOULD", Severity.INFO: "MAY"}[first.severity]
            spec, text, excluded = first.spec, "", None
        rows.append(
            RuleRow(
                id=rule_id,
                level=level,
                spec=spec,
                text=text,
                status=_rule_status({c.status for c in checks}, excluded),
                scenarios=tuple(sorted({c.scenario_id for c in checks})),
                checks=len(checks),
                in_catalogue=rule is not None,
                excluded=excluded,
            )
        )
    rows.sort(key=lambda r: (RULE_STATUSES.index(r.status), r.id))
    return rows


# ----------------------------------------------------------------------------------------------------------
# summary block (the JSON report's ``summary``; the console and HTML print the same figures)
# ----------------------------------------------------------------------------------------------------------


def _count(values: Iterable[str], keys: Iterable[str]) -> dict[str, int]:
    counter = Counter(values)
    out = {key: counter.get(key, 0) for key in keys}
    out["total"] = sum(counter.values())
    return out


def failing_deviations(result: RunResult) -> list[CheckResult]:
    """Deviations that fail the run under its ``--fail-on`` setting: the run's own verdict rule
    (:meth:`RunResult.failing_checks`), never decided again here."""
    return result.failing_checks()


def verdict(result: RunResult) -> str:
    """PASS / FAIL / USAGE ERROR / UNREACHABLE / ..., from the exit code the harness decided with the one
    verdict rule (``RunResult.fails_run``)."""
    return VERDICTS[ExitCode(result.exit_code)]


def summary(result: RunResult) -> dict[str, Any]:
    """Counts by status and severity, rule coverage and the verdict; a pure function of ``result``."""
    statuses = [s.value for s in Status]
    deviations = result.deviations()
    rows = rule_rows(result)
    rule_counts = Counter(row.status for row in rows)
    exit_code = ExitCode(result.exit_code)
    return {
        "scenarios": _count((s.status.value for s in result.scenarios), statuses),
        "checks": _count((c.status.value for c in result.checks()), statuses),
        "deviations": {
            **_count((c.severity.value for c in deviations), [s.value for s in Severity]),
            "baselined": sum(1 for c in deviations if c.baselined),
            "failing": len(failing_deviations(result)),
        },
        "rules": {
            "catalogue": len(result.rules),
            "satisfied": rule_counts["satisfied"],
            "failed": rule_counts["failed"],
            "errored": rule_counts["errored"],
            "skipped": rule_counts["skipped"],
            "not_exercised": rule_counts["not exercised"],
            "excluded": rule_counts["excluded"],
        },
        "created": {
            "total": len(result.created),
            "cleaned_up": sum(1 for r in result.created if r.cleaned_up),
            "left_behind": sum(1 for r in result.created if not r.cleaned_up),
        },
        "baseline": {"accepted": len(result.baseline.accepted), "stale": len(result.baseline.stale)},
        "verdict": verdict(result),
        "exit_code": int(exit_code),
        "exit_code_name": exit_code.name,
        "exit_code_meaning": EXIT_MEANING[exit_code],
    }


def rules_line(result: RunResult) -> str:
    """'41/43 rules satisfied, 2 failed, 3 skipped, 5 not exercised' (+ errored/excluded when any)."""
    r = summary(result)["rules"]
    judged = r["satisfied"] + r["failed"]
    parts = [
        f"{r['satisfied']}/{judged} rules satisfied",
        f"{r['failed']} failed",
        f"{r['skipped']} skipped",
        f"{r['not_exercised']} not exercised",
    ]
    if r["errored"]:
        parts.append(f"{r['errored']} could not be judged (error)")
    if r["excluded"]:
        parts.append(f"{r['excluded']} excluded (not observable over the wire)")
    return ", ".join(parts)


def verdict_line(result: RunResult) -> str:
    """The last line of every report: verdict, exit code and what it means, and why."""
    s = summary(result)
    reasons = []
    if s["deviations"]["failing"]:
        reasons.append(f"{s['deviations']['failing']} failing deviation(s)")
    if s["baseline"]["stale"]:
        reasons.append(
            f"{s['baseline']['stale']} stale baseline entr{'y' if s['baseline']['stale'] == 1 else 'ies'}"
        )
    if s["scenarios"]["ERROR"]:
        reasons.append(f"{s['scenarios']['ERROR']} scenario(s) in error")
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return f"{s['verdict']}: exit code {s['exit_code']} {s['exit_code_name']}, {s['exit_code_meaning']}{why}"


# ----------------------------------------------------------------------------------------------------------
# evidence as text (console, JUnit failure bodies)
# ----------------------------------------------------------------------------------------------------------


def body_text(body: Any, *, indent: int | None = None) -> str:
    """A body as the partner would recognise it: JSON re-serialised (non-ASCII kept), text as is."""
    if body is None:
        return ""
    if isinstance(body, str):
        return clean(body)
    try:
        return clean(json.dumps(body, indent=indent, ensure_ascii=False, sort_keys=False, default=str))
    except (TypeError, ValueError):
        return clean(repr(body))


def abbreviate(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def request_line(message: HttpMessage) -> str:
    return clean(" ".join(part for part in (message.method or "", message.url or "") if part))


def response_line(exchange: Exchange) -> str:
    response = exchange.response
    if response is None:
        return clean(f"no response: {exchange.error or 'transport error'}")
    status = " ".join(str(p) for p in (response.status, response.status_text) if p is not None)
    return clean(status or "response")


def _body_lines(body: Any, limit: int | None) -> list[str]:
    """A body indented under its request/response line: one abbreviated line, or pretty JSON in full."""
    text = body_text(body, indent=None if limit else 2)
    if not text:
        return []
    if limit:
        return ["   " + abbreviate(text, limit)]
    return ["   " + line for line in text.split("\n")]


def exchange_lines(exchange: Exchange, *, limit: int | None) -> list[str]:
    """'-> request' and '<- response' lines, each followed by its body (abbreviated to ``limit`` chars)."""
    where = f" [{clean(exchange.scenario_id)} · {clean(exchange.step)}]" if exchange.step else ""
    elapsed = ms(exchange.elapsed_ms)
    lines = [f"{clean(exchange.operation)} over {clean(exchange.transport)}, {elapsed}{where}"]
    lines.append(f"-> {request_line(exchange.request)}")
    lines += _body_lines(exchange.request.body, limit)
    lines.append(f"<- {response_line(exchange)}")
    if exchange.response is not None:
        lines += _body_lines(exchange.response.body, limit)
    return lines


def reproduce_heading(command: str) -> str:
    """'reproduce', with the hint a partner needs when the command reads credentials from the environment."""
    if "$BOOKCHECK_USER" in command or "$BOOKCHECK_PASSWORD" in command:
        return "reproduce (export BOOKCHECK_USER and BOOKCHECK_PASSWORD first)"
    return "reproduce"


def evidence_text(
    check: CheckResult, rule: Rule | None, *, limit: int | None = None, max_exchanges: int | None = None
) -> str:
    """The whole deviation as plain text: what broke, why it matters, evidence, how to reproduce it."""
    lines = [
        f"{check.status.value} {clean(check.rule_id)} ({check.severity.value}, {clean(check.spec)})"
        + (" [baselined: known deviation]" if check.baselined else "")
    ]
    if rule is not None and rule.text:
        lines.append(f"rule: {rule.level} — {clean(rule.text)}")
    lines.append(
        f"where: {clean(check.scenario_id)} · step {clean(check.step)}"
        + (f" · {ms(check.elapsed_ms)}" if check.elapsed_ms is not None else "")
    )
    lines.append(f"what: {clean(check.message)}")
    if check.expected is not None:
        lines.append(f"expected: {clean(check.expected)}")
    if check.actual is not None:
        lines.append(f"actual:   {clean(check.actual)}")
    exchanges = list(check.exchanges)
    if max_exchanges is not None and len(exchanges) > max_exchanges:
        hidden = len(exchanges) - max_exchanges
        lines.append(f"exchanges: {hidden} earlier exchange(s) not shown (see the JSON or HTML report)")
        exchanges = exchanges[-max_exchanges:]
    for exchange in exchanges:
        lines.extend("  " + line for line in exchange_lines(exchange, limit=limit))
    if check.reproduce:
        lines.append(reproduce_heading(check.reproduce) + ":")
        lines.extend("  " + line for line in clean(check.reproduce).split("\n"))
    return "\n".join(lines)
