"""The HTML report: one self-contained file a partner can open offline, filter, print or attach to a ticket.

The page opens on what a partner needs first (:mod:`reports.overview`): the verdict in plain words, then one
line per broken rule, most severe first, with how often it was seen, what it means and how to fix it. Below
come one card per broken rule (its scenarios and steps, the symptom first, evidence collapsed in
``<details>`` with complete pretty-printed JSON), every scenario with status filters and a text filter, and
the run's details (methods, rules, created resources, baseline), collapsed.

Inline CSS and one small static script (filters, copy buttons), nothing fetched: no external URL, font,
image or script. Every value that reached us from the target passes through :func:`_e` (``html.escape``
after removing control characters), and no value is ever placed inside ``<script>``, ``<style>`` or an
event-handler attribute. The page's Content-Security-Policy allows only the report's own script, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable
from string import Template

from harness.results import CheckResult, Exchange, HttpMessage, RunResult, ScenarioResult, Status

from . import facts
from .overview import BrokenRule, broken_rules, occurrences_line, verdict_sentence

_SCRIPT = """
(function () {
  var state = {status: 'all', text: ''};
  function apply() {
    var q = state.text.toLowerCase();
    document.querySelectorAll('[data-status]').forEach(function (el) {
      var okStatus = state.status === 'all' || el.getAttribute('data-status') === state.status;
      var okText = !q || el.textContent.toLowerCase().indexOf(q) >= 0;
      el.hidden = !(okStatus && okText);
    });
    document.querySelectorAll('button[data-filter]').forEach(function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-filter') === state.status ? 'true' : 'false');
    });
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button') : null;
    if (!button) { return; }
    if (button.hasAttribute('data-filter')) { state.status = button.getAttribute('data-filter'); apply(); }
    if (button.classList.contains('copy')) {
      var pre = button.parentNode.parentNode.querySelector('pre');
      if (pre && navigator.clipboard) {
        navigator.clipboard.writeText(pre.textContent).then(function () { button.textContent = 'copied'; });
      }
    }
  });
  document.addEventListener('input', function (event) {
    if (event.target.id === 'filter-text') { state.text = event.target.value; apply(); }
  });
})();
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 1.5em 3em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.05em; margin: .9em 0 .3em; color: #5f6368; font-weight: 600; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; font-size: 1.25em; }
h3 { margin: .1em 0 .3em; font-size: 1.08em; } h4 { margin: .6em 0 .2em; font-size: 1em; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .5em .7em; overflow: auto; max-height: 26em;
      white-space: pre; margin: .3em 0; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #e1e4e8; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: .7em 1em; border-radius: 6px; font-size: 1.35em; font-weight: 650; margin: .2em 0 .1em; }
.verdict.PASS { background: #e6f4ea; color: #137333; } .verdict.FAIL, .verdict.ERROR { background: #fce8e6;
  color: #a50e0e; } .verdict.WARN { background: #fef7e0; color: #8a5300; }
.runline { color: #5f6368; margin: .2em 0 .6em; }
.broken { list-style: none; padding: 0; margin: .4em 0; }
.broken li { border-left: 5px solid #d93025; padding: .25em .8em; margin: .35em 0; background: #fafafa; }
.broken li.WARN { border-left-color: #f9ab00; } .broken li.baselined { border-left-color: #9aa0a6; }
.broken .what { font-weight: 600; } .broken .count { color: #5f6368; white-space: nowrap; }
.broken .means, .broken .fix { margin-left: 0; } .label { color: #5f6368; font-weight: 600; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 4px; font-weight: 600; font-size: .85em; }
.badge.PASS, .badge.satisfied { background: #e6f4ea; color: #137333; }
.badge.FAIL, .badge.failed, .badge.ERROR, .badge.errored { background: #fce8e6; color: #a50e0e; }
.badge.WARN { background: #fef7e0; color: #8a5300; }
.badge.SKIP, .badge.skipped, .badge.not-exercised, .badge.excluded, .badge.baselined
  { background: #eceff1; color: #455a64; }
.card { border: 1px solid #e1e4e8; border-left: 5px solid #d93025; border-radius: 4px; padding: .5em 1em;
        margin: .9em 0; break-inside: avoid-page; }
.card.WARN { border-left-color: #f9ab00; } .card.baselined { border-left-color: #9aa0a6; }
.toolbar { position: sticky; top: 0; background: #fff; padding: .4em 0; border-bottom: 1px solid #eee;
           z-index: 1; display: flex; gap: .4em; align-items: center; flex-wrap: wrap; }
.toolbar button { font: inherit; padding: .15em .7em; border: 1px solid #c4c7c5; border-radius: 14px;
                  background: #fff; cursor: pointer; }
.toolbar button[aria-pressed="true"] { background: #1d1d1f; color: #fff; }
.toolbar input { font: inherit; padding: .15em .5em; min-width: 18em; }
.cmd .bar { display: flex; justify-content: space-between; align-items: center; }
details { margin: .3em 0; } summary { cursor: pointer; color: #1a56a8; }
.over { color: #a50e0e; font-weight: 600; } .muted { color: #5f6368; }
@media print {
  .toolbar, button.copy { display: none; } pre { max-height: none; white-space: pre-wrap; }
  body { max-width: none; } .card { break-inside: auto; }
}
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
<header id="first-screen">
<h1>bookcheck conformance report · Booking Server API v3</h1>
<div class="verdict $verdict_class" id="verdict">$verdict_sentence</div>
<p class="runline">$run_line</p>
$broken_list
</header>
<div class="toolbar" role="toolbar" aria-label="filters">$filters</div>
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


def _table(
    headers: Iterable[str],
    rows: Iterable[Iterable[str]],
    numeric: frozenset[int] = frozenset(),
    row_status: Iterable[str] | None = None,
) -> str:
    """A table from already-escaped cell HTML; ``row_status`` tags each row for the status filter."""
    statuses = list(row_status) if row_status is not None else None
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for n, row in enumerate(rows):
        attr = f' data-status="{_e(statuses[n])}"' if statuses is not None else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr{attr}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>\n{content}\n</section>\n'


def _ms(value: float | None) -> str:
    shown = facts.ms(value)
    return "" if shown == "-" else shown


# ----------------------------------------------------------------------------------------------------------
# the first screen
# ----------------------------------------------------------------------------------------------------------


def _run_line(result: RunResult) -> str:
    judged = len(result.scenarios)
    items = [
        f"{result.target} over {result.transport}",
        f"suite {result.suite}",
        f"{judged} scenarios",
        f"{result.started_at[:16].replace('T', ' ')} UTC" if result.started_at else "",
        f"{_ms(result.duration_ms)}",
        f"exit code {int(result.exit_code)}",
        f"bookcheck {result.tool_version}",
    ]
    return " · ".join(_e(i) for i in items if i)


def _broken_item(b: BrokenRule) -> str:
    css = b.status.value + (" baselined" if b.baselined else "")
    known = " " + _badge("baselined") if b.baselined else ""
    lines = [
        f'<li class="{css}" data-rule="{_e(b.rule_id)}"><a href="#{_e(b.anchor)}" class="what">'
        f"{_badge(b.level, b.status.value)}{known} {_e(b.title)}</a> "
        f'<span class="count">— {_e(occurrences_line(b))} · <code>{_e(b.rule_id)}</code></span>'
    ]
    if b.meaning:
        lines.append(f'<div class="means"><span class="label">What it means:</span> {_e(b.meaning)}</div>')
    if b.fix:
        lines.append(f'<div class="fix"><span class="label">How to fix:</span> {_e(b.fix)}</div>')
    return "".join(lines) + "</li>"


def _broken_list(broken: list[BrokenRule]) -> str:
    if not broken:
        return '<p class="muted">No rule broken. Details of every scenario below.</p>'
    return '<ol class="broken" id="broken-rules">' + "".join(_broken_item(b) for b in broken) + "</ol>"


def _filters(result: RunResult) -> str:
    counts = {s: sum(1 for x in result.scenarios if x.status == s) for s in Status}
    buttons = ['<button type="button" data-filter="all" aria-pressed="true">all</button>']
    buttons += [
        f'<button type="button" data-filter="{s.value}" aria-pressed="false">{s.value} {counts[s]}</button>'
        for s in (Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP, Status.PASS)
        if counts[s]
    ]
    field = (
        '<input id="filter-text" type="search" placeholder="filter: rule, scenario, step, text" '
        'aria-label="text filter">'
    )
    return '<span class="muted">show</span> ' + "".join(buttons) + field


# ----------------------------------------------------------------------------------------------------------
# one card per broken rule
# ----------------------------------------------------------------------------------------------------------


def _exchange(exchange: Exchange, decisive: bool) -> str:
    request = exchange.request
    mark = " <strong>(decisive step)</strong>" if decisive else ""
    parts = [
        f"<h4>{_e(exchange.operation)} · step {_e(exchange.step)}{mark} "
        f'<span class="muted">{_e(_ms(exchange.elapsed_ms))}</span></h4>',
        f"<div>→ <code>{_e(facts.request_line(request))}</code></div>",
    ]
    body = facts.body_text(request.body, indent=2)
    if body:
        parts.append(f"<pre>{_e(body)}</pre>")
    parts.append(f"<div>← <code>{_e(facts.response_line(exchange))}</code></div>")
    if exchange.response is not None:
        parts.append(_headers(exchange.response))
        body = facts.body_text(exchange.response.body, indent=2)
        if body:
            parts.append(f"<pre>{_e(body)}</pre>")
    return '<div class="exchange">' + "".join(parts) + "</div>"


def _headers(message: HttpMessage) -> str:
    if not message.headers:
        return ""
    text = "\n".join(f"{k}: {v}" for k, v in sorted(message.headers.items()))
    return f"<details><summary>response headers</summary><pre>{_e(text)}</pre></details>"


def _evidence(check: CheckResult, scenario: ScenarioResult | None) -> str:
    """Every recorded exchange of the scenario up to the failing step (else the check's own evidence),
    the decisive step first."""
    recorded: tuple[Exchange, ...] = getattr(scenario, "exchanges", ()) if scenario is not None else ()
    exchanges = list(recorded or check.exchanges)
    last = max((i for i, x in enumerate(exchanges) if x.step == check.step), default=len(exchanges) - 1)
    exchanges = exchanges[: last + 1]
    own = [x for x in exchanges if x.step == check.step]
    earlier = [x for x in exchanges if x.step != check.step]
    inner = "".join(_exchange(x, True) for x in own)
    if earlier:
        inner += f"<h4>Earlier steps ({len(earlier)} calls, in order)</h4>"
        inner += "".join(_exchange(x, False) for x in earlier)
    return (
        (
            f"<details><summary>Evidence: {len(exchanges)} call(s) of scenario {_e(check.scenario_id)} up to "
            f"step {_e(check.step)}</summary>{inner}</details>"
        )
        if exchanges
        else ""
    )


def _occurrence(check: CheckResult, scenario: ScenarioResult | None) -> str:
    parts = [
        f"<h4>{_badge(check.status.value)} {_e(check.scenario_id)} · step {_e(check.step)}</h4>",
        f'<div><span class="label">Symptom:</span> {_e(check.actual or check.message)}</div>',
    ]
    if check.expected:
        parts.append(f'<div><span class="label">Expected:</span> {_e(check.expected)}</div>')
    parts.append(_evidence(check, scenario))
    return '<div class="occurrence">' + "".join(parts) + "</div>"


def _card(b: BrokenRule, scenarios: dict[str, ScenarioResult]) -> str:
    css = f"card {b.status.value}" + (" baselined" if b.baselined else "")
    spec = b.rule.spec if b.rule else b.checks[0].spec
    parts = [
        f'<article class="{css}" id="{_e(b.anchor)}" data-status="{_e(b.status.value)}">',
        f"<h3>{_badge(b.level, b.status.value)} {_e(b.title)}</h3>",
        f'<div class="muted"><code>{_e(b.rule_id)}</code> · spec {_e(spec)} · {_e(occurrences_line(b))}'
        + (" · known deviation (baseline): reported, does not fail the run" if b.baselined else "")
        + "</div>",
    ]
    if b.meaning:
        parts.append(f'<p><span class="label">What it means:</span> {_e(b.meaning)}</p>')
    if b.fix:
        parts.append(f'<p><span class="label">How to fix:</span> {_e(b.fix)}</p>')
    command = (
        f"export BOOKCHECK_USER=... BOOKCHECK_PASSWORD=...\nbash DIR/{b.reproducer} BASE_URL"
        f"        # DIR from --report repro:DIR; exit 1 = still broken\n"
        f"bookcheck replay REPORT.json --rule {b.rule_id} --target URL   # any transport"
    )
    parts.append(
        '<div class="cmd"><div class="bar"><span class="label">Reproduce:</span>'
        '<button type="button" class="copy">copy</button></div>'
        f"<pre>{_e(command)}</pre></div>"
    )
    parts += [_occurrence(c, scenarios.get(c.scenario_id)) for c in b.checks]
    return "\n".join(parts) + "</article>"


def _cards(result: RunResult, broken: list[BrokenRule]) -> str:
    if not broken:
        return ""
    scenarios = {s.scenario_id: s for s in result.scenarios}
    return _section("broken", f"Broken rules ({len(broken)})", "\n".join(_card(b, scenarios) for b in broken))


# ----------------------------------------------------------------------------------------------------------
# scenarios and the run's details
# ----------------------------------------------------------------------------------------------------------


def _scenarios(result: RunResult) -> str:
    ordered = sorted(result.scenarios, key=lambda s: (facts.status_rank(s.status), s.scenario_id))
    rows = [
        [
            _badge(s.status.value),
            _e(s.scenario_id),
            _e(s.title),
            _e(", ".join(dict.fromkeys(c.rule_id for c in s.checks if c.is_deviation)) or s.reason or ""),
            _e(_ms(s.duration_ms)),
        ]
        for s in ordered
    ]
    table = _table(
        ["status", "scenario", "title", "broken rules / reason", "duration"],
        rows,
        numeric=frozenset({4}),
        row_status=[s.status.value for s in ordered],
    )
    errored = facts.errored_checks(result)
    if errored:
        rows = [
            [_e(c.rule_id), _e(c.scenario_id), _e(c.step), _e(c.message), _e(_last_call(c))] for c in errored
        ]
        table += f"<h3>Checks that could not be judged ({len(errored)})</h3>" + _table(
            ["rule", "scenario", "step", "message", "last call"], rows
        )
    return _section("scenarios", f"Scenarios ({len(ordered)})", table)


def _last_call(check: CheckResult) -> str:
    if not check.exchanges:
        return ""
    last = check.exchanges[-1]
    return f"{last.operation}: {facts.request_line(last.request)} -> {facts.response_line(last)}"


def _methods(result: RunResult) -> str:
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
    table = _table(
        ["method", "calls", "non-2xx", "failing", "p50", "p95", "max", "budget"],
        rows,
        numeric=frozenset(range(1, 8)),
    )
    return f"<details><summary>Methods ({len(rows)}): calls and latency</summary>{table}</details>"


def _rules(result: RunResult) -> str:
    rows = [
        [
            _e(r.id),
            _e(r.level),
            _e(r.spec),
            _badge(r.status),
            _e(", ".join(r.scenarios)),
            _e(r.excluded or r.text),
        ]
        for r in facts.rule_rows(result)
    ]
    table = _table(["rule", "level", "spec", "status", "scenarios", "text"], rows)
    return f"<details><summary>Rules: {_e(facts.rules_line(result))}</summary>{table}</details>"


def _resources(result: RunResult) -> str:
    s = facts.summary(result)["created"]
    line = (
        f"Cleanup: {s['total']} created, {s['cleaned_up']} cleaned up, {s['left_behind']} left on the target"
    )
    if not result.created:
        return f"<p>{_e(line)}.</p>"
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
    table = _table(["kind", "id", "scenario", "cleanup", "note"], rows)
    return f"<details><summary>{_e(line)}</summary>{table}</details>"


def _baseline(result: RunResult) -> str:
    base = result.baseline
    if not base.accepted and not base.stale:
        return ""
    parts = []
    if base.accepted:
        items = "".join(f"<li><code>{_e(k)}</code></li>" for k in sorted(base.accepted))
        parts.append(
            f"<p>Known deviations accepted ({len(base.accepted)}): reported, not failing.</p><ul>{items}</ul>"
        )
    if base.stale:
        items = "".join(f"<li><code>{_e(k)}</code></li>" for k in sorted(base.stale))
        parts.append(
            f'<p class="over">Stale baseline entries ({len(base.stale)}): these deviations no longer '
            f"occur; each fails the run until removed from the baseline file.</p><ul>{items}</ul>"
        )
    return "".join(parts)


def _details(result: RunResult) -> str:
    meta = (
        f"seed {result.seed} · fail on {result.fail_on} · report schema {result.schema_version} · "
        f"started {result.started_at}"
    )
    body = _baseline(result) + _methods(result) + _rules(result) + _resources(result)
    return _section("run", "The run", f'<p class="muted">{_e(meta)}</p>' + body)


def render(result: RunResult) -> str:
    """The whole page; a pure function of ``result``."""
    broken = broken_rules(result)
    verdict = facts.verdict(result)
    sentence = verdict_sentence(result)
    css = "FAIL" if result.fails_run() or verdict != "PASS" else ("WARN" if broken else "PASS")
    return _PAGE.substitute(
        script_hash=_SCRIPT_HASH,
        css=_CSS,
        script=_SCRIPT,
        verdict=_e(verdict),
        verdict_class=css,
        verdict_sentence=_e(sentence),
        run_line=_run_line(result),
        broken_list=_broken_list(broken),
        target=_e(result.target),
        filters=_filters(result),
        sections=_cards(result, broken) + _scenarios(result) + _details(result),
    )
