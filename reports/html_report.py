"""The HTML report: one self-contained file a partner can open offline or attach to a ticket.

Inline CSS and one small static script (the copy buttons), nothing fetched: no external URL, font, image or
script. Every value that reached us from the target (bodies, headers, messages quoting them, even the ids it
assigned) passes through :func:`_e` (``html.escape`` after removing control characters), and no value is ever
placed inside ``<script>``, ``<style>`` or an event-handler attribute. As a second line of defence the page
carries a Content-Security-Policy that allows only the report's own script, by hash, so even a missed escape
could not run a hostile server's script.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable
from string import Template

from harness.results import CheckResult, Exchange, HttpMessage, Rule, RunResult, ScenarioResult, Status

from . import facts

_SCRIPT = """
document.addEventListener('click', function (event) {
  var button = event.target;
  if (!button.classList || !button.classList.contains('copy')) { return; }
  var pre = button.parentNode.querySelector('pre');
  if (pre && navigator.clipboard) {
    navigator.clipboard.writeText(pre.textContent).then(function () { button.textContent = 'copied'; });
  }
});
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 1.5em 3em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5em; margin: .8em 0 .3em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
h3 { margin: .2em 0 .4em; font-size: 1.1em; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .6em .8em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-word; margin: .3em 0; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #e1e4e8; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: .8em 1em; border-radius: 6px; font-size: 1.15em; font-weight: 600; }
.verdict.PASS { background: #e6f4ea; color: #137333; } .verdict.FAIL, .verdict.UNREACHABLE,
.verdict.USAGE { background: #fce8e6; color: #a50e0e; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 4px; font-weight: 600; font-size: .85em; }
.PASS .badge, .badge.PASS, .badge.satisfied { background: #e6f4ea; color: #137333; }
.badge.FAIL, .badge.failed, .badge.ERROR, .badge.errored { background: #fce8e6; color: #a50e0e; }
.badge.WARN { background: #fef7e0; color: #8a5300; }
.badge.SKIP, .badge.skipped, .badge.not-exercised, .badge.excluded, .badge.baselined
  { background: #eceff1; color: #455a64; }
.deviation { border: 1px solid #e1e4e8; border-left: 5px solid #d93025; border-radius: 4px; padding: .6em 1em;
             margin: 1em 0; }
.deviation.WARN { border-left-color: #f9ab00; } .deviation.baselined { border-left-color: #9aa0a6; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .4em 0; }
dl.meta dt { color: #5f6368; } dl.meta dd { margin: 0; }
details { margin: .4em 0; } summary { cursor: pointer; }
.cmd { position: relative; } .cmd button { position: absolute; right: .4em; top: .4em; }
.over { color: #a50e0e; font-weight: 600; } nav a { margin-right: 1em; } .muted { color: #5f6368; }
"""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'sha256-$script_hash'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>bookcheck $verdict — $target</title>
<style>$css</style>
</head>
<body>
<header>
<h1>bookcheck report — $suite</h1>
<div class="verdict $verdict_class">$verdict_line</div>
<dl class="meta">$run_meta</dl>
<nav>$nav</nav>
</header>
$sections
<script>$script</script>
</body>
</html>
""")


def _e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute (control characters removed first)."""
    return html.escape(facts.clean("" if value is None else value), quote=True)


def _badge(label: str, css: str | None = None) -> str:
    return f'<span class="badge {_e(css or label).replace(" ", "-")}">{_e(label)}</span>'


def _meta(items: Iterable[tuple[str, object]]) -> str:
    return "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v not in (None, ""))


def _table(
    headers: Iterable[str], rows: Iterable[Iterable[str]], numeric: frozenset[int] = frozenset()
) -> str:
    """A table from already-escaped cell HTML; ``numeric`` are the column indexes aligned right."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>\n{content}\n</section>\n'


def _ms(value: float | None) -> str:
    shown = facts.ms(value)
    return "" if shown == "-" else shown


# ----------------------------------------------------------------------------------------------------------
# sections
# ----------------------------------------------------------------------------------------------------------


def _summary(result: RunResult) -> str:
    s = facts.summary(result)
    statuses = [st.value for st in Status]
    rows = [
        [_e("scenarios"), *(_e(s["scenarios"][k]) for k in statuses), _e(s["scenarios"]["total"])],
        [_e("checks"), *(_e(s["checks"][k]) for k in statuses), _e(s["checks"]["total"])],
    ]
    counts = _table(["", *statuses, "total"], rows, numeric=frozenset(range(1, 7)))
    d = s["deviations"]
    devs = (
        f"<p>Deviations: {d['total']} ({d['error']} error-level, {d['warning']} warning-level, "
        f"{d['info']} info); {d['baselined']} baselined; <strong>{d['failing']} failing the run</strong> "
        f"(fail on: {_e(result.fail_on)}).</p>"
    )
    return _section("summary", "Summary", counts + devs + f"<p>Rules: {_e(facts.rules_line(result))}.</p>")


def _headers(message: HttpMessage) -> str:
    if not message.headers:
        return ""
    text = "\n".join(f"{k}: {v}" for k, v in sorted(message.headers.items()))
    return f"<details><summary>headers</summary><pre>{_e(text)}</pre></details>"


def _exchange(exchange: Exchange, index: int) -> str:
    request = exchange.request
    req_body = facts.body_text(request.body, indent=2)
    parts = [
        f'<h4>{index}. {_e(exchange.operation)} <span class="muted">over {_e(exchange.transport)}, '
        f"{_e(_ms(exchange.elapsed_ms))}{' · step ' + _e(exchange.step) if exchange.step else ''}"
        f"</span></h4>",
        f"<p>Request: <code>{_e(facts.request_line(request))}</code></p>",
        _headers(request),
    ]
    if req_body:
        parts.append(f"<pre>{_e(req_body)}</pre>")
    parts.append(f"<p>Response: <code>{_e(facts.response_line(exchange))}</code></p>")
    if exchange.response is not None:
        parts.append(_headers(exchange.response))
        resp_body = facts.body_text(exchange.response.body, indent=2)
        if resp_body:
            parts.append(f"<pre>{_e(resp_body)}</pre>")
    return '<div class="exchange">' + "".join(parts) + "</div>"


def _deviation(check: CheckResult, rule: Rule | None, anchor: str) -> str:
    css = f"deviation {check.status.value}" + (" baselined" if check.baselined else "")
    badges = _badge(check.status.value) + (" " + _badge("baselined") if check.baselined else "")
    meta = _meta(
        [
            ("rule", check.rule_id),
            ("why it matters", f"{rule.level}: {rule.text}" if rule and rule.text else None),
            ("spec", check.spec),
            ("severity", check.severity.value),
            ("scenario", check.scenario_id),
            ("step", check.step),
            ("elapsed", _ms(check.elapsed_ms)),
            ("baseline", "known deviation: reported, does not fail the run" if check.baselined else None),
        ]
    )
    parts = [
        f'<div class="{css}" id="{anchor}"><h3>{badges} {_e(check.rule_id)} — {_e(check.message)}</h3>',
        f'<dl class="meta">{meta}</dl>',
    ]
    if check.expected is not None:
        parts.append(f"<p>Expected</p><pre>{_e(check.expected)}</pre>")
    if check.actual is not None:
        parts.append(f"<p>Actual</p><pre>{_e(check.actual)}</pre>")
    if check.reproduce:
        parts.append(
            f"<p>{_e(facts.reproduce_heading(check.reproduce).capitalize())}</p>"
            '<div class="cmd"><button type="button" class="copy">copy</button>'
            f"<pre>{_e(check.reproduce)}</pre></div>"
        )
    if check.exchanges:
        inner = "".join(_exchange(x, i) for i, x in enumerate(check.exchanges, 1))
        parts.append(f"<details open><summary>Exchanges ({len(check.exchanges)})</summary>{inner}</details>")
    parts.append("</div>")
    return "\n".join(parts)


def _deviations(result: RunResult) -> str:
    rules = facts.rules_by_id(result)
    deviations = facts.sorted_deviations(result)
    if not deviations:
        return _section("deviations", "Deviations", "<p>No deviation: every rule judged held.</p>")
    index = _table(
        ["#", "status", "rule", "scenario", "step", "message"],
        (
            [
                f'<a href="#dev-{i}">{i}</a>',
                _badge(c.status.value) + (" " + _badge("baselined") if c.baselined else ""),
                _e(c.rule_id),
                _e(c.scenario_id),
                _e(c.step),
                _e(c.message),
            ]
            for i, c in enumerate(deviations, 1)
        ),
    )
    body = "\n".join(_deviation(c, rules.get(c.rule_id), f"dev-{i}") for i, c in enumerate(deviations, 1))
    return _section("deviations", f"Deviations ({len(deviations)})", index + body)


def _scenario_rows(scenarios: Iterable[ScenarioResult]) -> list[list[str]]:
    return [
        [
            _e(s.scenario_id),
            _e(s.title),
            _badge(s.status.value),
            _e(len(s.checks)),
            _e(_ms(s.duration_ms)),
            _e(s.reason),
        ]
        for s in scenarios
    ]


def _scenarios(result: RunResult) -> str:
    ordered = sorted(result.scenarios, key=lambda s: (facts.status_rank(s.status), s.scenario_id))
    table = _table(
        ["scenario", "title", "status", "checks", "duration", "reason"],
        _scenario_rows(ordered),
        numeric=frozenset({3, 4}),
    )
    errored = facts.errored_checks(result)
    if errored:
        rows = [
            [_e(c.rule_id), _e(c.scenario_id), _e(c.step), _e(c.message), _e(_last_error(c))] for c in errored
        ]
        table += f"<h3>Checks that could not be judged ({len(errored)})</h3>" + _table(
            ["rule", "scenario", "step", "message", "last exchange"], rows
        )
    return _section("scenarios", f"Scenarios ({len(ordered)})", table)


def _last_error(check: CheckResult) -> str:
    if not check.exchanges:
        return ""
    last = check.exchanges[-1]
    return f"{last.operation}: {facts.request_line(last.request)} -> {facts.response_line(last)}"


def _methods(result: RunResult) -> str:
    if not result.methods:
        return _section("methods", "Methods", "<p>No call was made.</p>")
    rows = []
    for m in sorted(result.methods, key=lambda m: m.operation):
        over = facts.over_budget(m)
        max_cell = f'<span class="over">{_e(_ms(m.max_ms))} over budget</span>' if over else _e(_ms(m.max_ms))
        rows.append(
            [
                _e(m.operation),
                _e(m.calls),
                _e(m.non_2xx),
                _e(m.failed_calls),
                _e(_ms(m.p50_ms)),
                _e(_ms(m.p95_ms)),
                max_cell,
                _e(_ms(m.budget_ms) or "—"),
            ]
        )
    note = (
        '<p class="muted">failing = calls named in the evidence of an error-level deviation, or that got '
        "no response. Budgets are the latency thresholds of spec §1.2.</p>"
    )
    return _section(
        "methods",
        "Methods",
        _table(
            ["method", "calls", "non-2xx", "failing", "p50", "p95", "max", "budget"],
            rows,
            numeric=frozenset(range(1, 8)),
        )
        + note,
    )


def _rules(result: RunResult) -> str:
    rows = [
        [
            _e(r.id),
            _e(r.level),
            _e(r.spec),
            _badge(r.status),
            _e(", ".join(r.scenarios)),
            _e(r.excluded or r.text)
            + ("" if r.in_catalogue else ' <span class="muted">(not in catalogue)</span>'),
        ]
        for r in facts.rule_rows(result)
    ]
    return _section(
        "rules",
        "Rules",
        f"<p>{_e(facts.rules_line(result))}.</p>"
        + _table(["rule", "level", "spec", "status", "scenarios", "text"], rows),
    )


def _resources(result: RunResult) -> str:
    if not result.created:
        return _section("resources", "Created resources", "<p>The run created no booking or lease.</p>")
    s = facts.summary(result)["created"]
    ordered = sorted(result.created, key=lambda r: (r.cleaned_up, r.kind, r.scenario_id, r.id))
    rows = [
        [
            _e(r.kind),
            _e(r.id),
            _e(r.scenario_id),
            _badge("cleaned up" if r.cleaned_up else "left behind", "PASS" if r.cleaned_up else "FAIL"),
            _e(r.note),
        ]
        for r in ordered
    ]
    intro = (
        f"<p>{s['total']} created, {s['cleaned_up']} cleaned up, {s['left_behind']} left on the target.</p>"
    )
    return _section(
        "resources", "Created resources", intro + _table(["kind", "id", "scenario", "cleanup", "note"], rows)
    )


def _baseline(result: RunResult) -> str:
    base = result.baseline
    if not base.accepted and not base.stale:
        return _section("baseline", "Baseline", "<p>No baseline entry matched or went stale.</p>")
    parts = []
    if base.accepted:
        items = "".join(f"<li><code>{_e(k)}</code></li>" for k in sorted(base.accepted))
        parts.append(
            f"<p>Accepted known deviations ({len(base.accepted)}): reported, not failing.</p><ul>{items}</ul>"
        )
    if base.stale:
        items = "".join(f"<li><code>{_e(k)}</code></li>" for k in sorted(base.stale))
        parts.append(
            f'<p class="over">Stale entries ({len(base.stale)}): these deviations no longer occur; '
            f"each fails the run until removed from the baseline file.</p><ul>{items}</ul>"
        )
    return _section("baseline", "Baseline", "".join(parts))


_NAV = (
    ("summary", "Summary"),
    ("deviations", "Deviations"),
    ("scenarios", "Scenarios"),
    ("methods", "Methods"),
    ("rules", "Rules"),
    ("resources", "Resources"),
    ("baseline", "Baseline"),
)


def render(result: RunResult) -> str:
    """The whole page; a pure function of ``result``."""
    verdict = facts.verdict(result)
    run_meta = _meta(
        [
            ("target", result.target),
            ("transport", result.transport),
            ("suite", result.suite),
            ("seed", result.seed),
            ("started", result.started_at),
            ("duration", _ms(result.duration_ms)),
            ("fail on", result.fail_on),
            ("bookcheck", result.tool_version),
            ("report schema", result.schema_version),
        ]
    )
    sections = "".join(
        (
            _summary(result),
            _deviations(result),
            _scenarios(result),
            _methods(result),
            _rules(result),
            _resources(result),
            _baseline(result),
        )
    )
    return _PAGE.substitute(
        script_hash=_SCRIPT_HASH,
        css=_CSS,
        script=_SCRIPT,
        verdict=_e(verdict),
        verdict_class=_e(verdict.split()[0]),
        verdict_line=_e(facts.verdict_line(result)),
        target=_e(result.target),
        suite=_e(result.suite),
        run_meta=run_meta,
        nav="".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in _NAV),
        sections=sections,
    )
