"""What an explore run tells its reader: the console summary, a JSON summary and a self-contained HTML
report (inline CSS and SVG, no script, no network), with the shortest failing history step by step and, for
a concurrent run, the timeline of the operations that cannot be ordered.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from harness.catalogue import rules_by_id
from harness.explore.concurrent import ConcurrentOutcome, Violation
from harness.explore.driver import ExampleRecord, ExploreOutcome
from harness.explore.linearize import HOp
from harness.explore.scenario_writer import replayed_steps

DECISIONS = {
    "D5": "unknown booking_id",
    "D6": "ListBookings of an unknown user",
    "D7": "cancelled bookings in lists",
    "D8": "cancel of a cancelled booking",
    "D9": "a slot that does not exist",
    "D10": "same user, same slot, new token",
    "D21": "cancellation cutoff",
    "D24": "same token, another body",
}


def summary_lines(
    seq: ExploreOutcome | None, conc: ConcurrentOutcome | None, files: dict[str, list[str]]
) -> list[str]:
    """The end-of-run text: what ran, what was found (most important first) and where the reproducers are."""
    out: list[str] = []
    if seq is not None:
        rate = seq.ops / seq.elapsed_sec if seq.elapsed_sec else 0.0
        out.append(
            f"explore: {seq.examples} histories, {seq.ops} operations in {seq.elapsed_sec:.1f} s "
            f"({rate:.0f} ops/s){'; ' + seq.stopped if seq.stopped else ''}"
        )
        for rule, found in sorted(seq.found.items(), key=lambda kv: kv[0] != seq.primary):
            steps = replayed_steps(found.example)
            v = found.example.failure
            assert v is not None
            out.append(
                f"FAIL {rule}: {v.message}; shortest history {len(steps)} step(s) "
                f"(found after {found.first_seen_sec:.1f} s)"
            )
            for n, s in enumerate(steps, 1):
                mark = "  <-- " + (v.actual or "")[:160] if s.index == found.example.failing_step else ""
                out.append(f"   {n}. {s.text}{mark}")
            for path in files.get(rule, []):
                out.append(f"   reproducer: {path}")
        for rule, (count, message) in sorted(seq.warnings.items()):
            out.append(f"WARN {rule}: {message} ({count}x)")
        for decision, choices in seq.switched().items():
            took = ", ".join(f"{c} (first in history {n})" for c, n in choices.items())
            out.append(
                f"WARN the target switched between allowed answers for {decision} "
                f"({DECISIONS.get(decision, '')}): {took}"
            )
        if seq.transport_errors:
            out.append(
                f"note: {seq.transport_errors} call(s) got no answer; those histories were not judged further"
            )
    if conc is not None:
        out.append(
            f"explore --concurrency {conc.clients}: {conc.rounds} round(s), {conc.ops} operations in "
            f"{conc.elapsed_sec:.1f} s (history check {conc.check_sec:.2f} s)"
            f"{'; ' + conc.stopped if conc.stopped else ''}"
        )
        if conc.violation is not None:
            viol = conc.violation
            slot = viol.slot
            out.append(
                f"FAIL {viol.rule}: slot {slot.merchant_id}/{slot.service_id}@{slot.start_sec} "
                f"({slot.spots_open} open) cannot be ordered; smallest window: "
                f"{len(viol.window)} operation(s)"
            )
            for h in viol.verdict.context:
                out.append(f"   (before) client {h.client}: {h.text} -> {h.result[0]} {h.result[1]}")
            for h in viol.window:
                out.append(
                    f"   client {h.client}: {h.text} -> {h.result[0]} {h.result[1]} "
                    f"[{h.call * 1000:.0f}-{_end(h)} ms]"
                )
            for path in files.get(viol.rule, []):
                out.append(f"   report: {path}")
    cleanup = (seq.cleanup_problems if seq else []) + (conc.cleanup_problems if conc else [])
    if cleanup:
        out.append(f"cleanup: {len(cleanup)} problem(s), e.g. {cleanup[0]}")
    return out


def _end(h: HOp) -> str:
    return "no answer" if math.isinf(h.ret) else f"{h.ret * 1000:.0f}"


def summary_json(seq: ExploreOutcome | None, conc: ConcurrentOutcome | None, seed: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"seed": seed}
    if seq is not None:
        doc["sequential"] = {
            "examples": seq.examples,
            "operations": seq.ops,
            "elapsed_sec": round(seq.elapsed_sec, 3),
            "stopped": seq.stopped,
            "primary": seq.primary,
            "shrink_sec": round(seq.shrink_sec, 3),
            "found": {rule: _example_json(f.example) for rule, f in seq.found.items()},
            "warnings": {r: {"count": c, "message": m} for r, (c, m) in seq.warnings.items()},
            "choices": seq.choices,
            "switched": sorted(seq.switched()),
        }
    if conc is not None:
        doc["concurrent"] = {
            "clients": conc.clients,
            "rounds": conc.rounds,
            "operations": conc.ops,
            "elapsed_sec": round(conc.elapsed_sec, 3),
            "check_sec": round(conc.check_sec, 3),
            "violation": _violation_json(conc.violation) if conc.violation else None,
        }
    return doc


def _example_json(ex: ExampleRecord) -> dict[str, Any]:
    v = ex.failure
    return {
        "rule": v.rule_id if v else None,
        "message": v.message if v else None,
        "expected": v.expected if v else None,
        "actual": v.actual if v else None,
        "steps": [
            {
                "step": n,
                "operation": s.operation,
                "what": s.text,
                "request": s.request,
                "status": s.status,
                "predicted": s.expect.text if s.expect else None,
            }
            for n, s in enumerate(replayed_steps(ex), 1)
        ],
    }


def _op_json(h: HOp) -> dict[str, Any]:
    return {
        "client": h.client,
        "what": h.text,
        "result": list(h.result),
        "call_ms": round(h.call * 1000, 1),
        "return_ms": None if math.isinf(h.ret) else round(h.ret * 1000, 1),
    }


def _violation_json(v: Violation) -> dict[str, Any]:
    return {
        "rule": v.rule,
        "slot": v.slot.key if hasattr(v.slot, "key") else str(v.slot),
        "window": [_op_json(h) for h in v.window],
        "history": [_op_json(h) for h in v.history],
    }


# ---------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------

_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1a1a1a}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}.fail{color:#b00020}.ok{color:#1b5e20}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
tr.bad td{background:#fdecee}code,pre{font:13px ui-monospace,monospace}
pre{white-space:pre-wrap;max-height:18rem;overflow:auto;background:#f6f6f6;padding:.5rem}
.muted{color:#666}svg text{font:12px ui-monospace,monospace}"""


def html_report(
    seq: ExploreOutcome | None,
    conc: ConcurrentOutcome | None,
    files: dict[str, list[str]],
    *,
    target: str,
    seed: int,
) -> str:
    found = bool(seq and seq.found) or bool(conc and conc.violation)
    verdict = (
        "Your server diverges from the booking model" if found else "No divergence found within the budget"
    )
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>bookcheck explore: {html.escape(target)}</title><style>{_CSS}</style></head><body>",
        f"<h1 class={'fail' if found else 'ok'}>{verdict}</h1>",
        f"<p class=muted>bookcheck explore against {html.escape(target)}, seed {seed}</p>",
        "<pre>" + html.escape("\n".join(summary_lines(seq, conc, files))) + "</pre>",
    ]
    if seq is not None:
        for rule, f in sorted(seq.found.items(), key=lambda kv: kv[0] != seq.primary):
            parts.append(_history_html(rule, f.example))
    if conc is not None and conc.violation is not None:
        parts.append(_violation_html(conc.violation))
    parts.append("</body></html>")
    return "\n".join(parts)


def _rule_head(rule: str) -> str:
    r = rules_by_id().get(rule)
    text = f"{r.level} ({r.spec}): {r.text}" if r else ""
    return f"<h2 class=fail>{html.escape(rule)}</h2><p>{html.escape(text)}</p>"


def _history_html(rule: str, ex: ExampleRecord) -> str:
    rows = []
    for n, s in enumerate(replayed_steps(ex), 1):
        bad = s.index == ex.failing_step
        got = describe_exchange(s)
        predicted = html.escape(s.expect.text if s.expect else "")
        rows.append(
            f"<tr{' class=bad' if bad else ''}><td>{n}</td><td>{html.escape(s.text)}</td>"
            f"<td>{predicted}</td><td><pre>{html.escape(json.dumps(s.request, indent=1))}</pre></td>"
            f"<td><pre>{html.escape(got)}</pre></td></tr>"
        )
    v = ex.failure
    assert v is not None
    return (
        _rule_head(rule) + f"<p>{html.escape(v.message)}: expected {html.escape(v.expected or '')}, "
        f"got {html.escape(v.actual or '')}</p><table><tr><th>#</th><th>operation</th><th>model predicts"
        "</th><th>request</th><th>answer</th></tr>" + "".join(rows) + "</table>"
    )


def describe_exchange(s: Any) -> str:
    ex = s.exchange
    if ex is None:
        return ""
    if ex.response is None:
        return f"no response ({ex.error})"
    body = ex.response.body
    return f"HTTP {ex.response.status}\n" + (
        json.dumps(body, indent=1) if not isinstance(body, str) else body
    )


def _violation_html(v: Violation) -> str:
    start = f"; before them the slot had {v.start.describe()}" if v.start is not None else ""
    return (
        _rule_head(v.rule) + f"<p>Slot {html.escape(f'{v.slot.merchant_id}/{v.slot.service_id}')} at "
        f"start_sec {v.slot.start_sec} with {v.slot.spots_open} open spot(s), round {v.round}: these "
        f"{len(v.window)} operations cannot be put in any order consistent with their timing{start}.</p>"
        + timeline_svg(v.verdict.context + v.window, v.history)
        + _ops_table(v.verdict.context + v.window)
    )


def _ops_table(ops: list[HOp]) -> str:
    rows = "".join(
        f"<tr><td>{h.client}</td><td>{html.escape(h.text)}</td><td>{html.escape(' '.join(h.result))}"
        f"</td><td>{h.call * 1000:.1f}</td><td>{_end(h)}</td></tr>"
        for h in ops
    )
    return (
        "<table><tr><th>client</th><th>operation</th><th>answer</th><th>called (ms)</th>"
        f"<th>returned (ms)</th></tr>{rows}</table>"
    )


def timeline_svg(window: list[HOp], history: list[HOp], width: int = 1000) -> str:
    """One lane per client; a bar from call to return for each operation overlapping the window; the
    window's operations in red with their answers, the rest grey (context)."""
    if not window:
        return ""
    lo = min(h.call for h in window)
    hi = max(h.call if math.isinf(h.ret) else h.ret for h in window)
    pad = max((hi - lo) * 0.1, 0.001)
    lo, hi = lo - pad, hi + pad
    ids = {h.id for h in window}
    shown = [h for h in history if h.call <= hi and (math.isinf(h.ret) or h.ret >= lo)]
    clients = sorted({h.client for h in shown})
    lane, left, row = 34, 90, {c: i for i, c in enumerate(clients)}
    height = lane * len(clients) + 40

    def x(t: float) -> float:
        return left + (min(max(t, lo), hi) - lo) / (hi - lo) * (width - left - 10)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="timeline of the operations that cannot be ordered">'
    ]
    for c in clients:
        y = 20 + row[c] * lane
        out.append(
            f'<text x="4" y="{y + 14}">client {c}</text><line x1="{left}" x2="{width - 10}" y1="{y + 24}" '
            f'y2="{y + 24}" stroke="#eee"/>'
        )
    for h in shown:
        y = 20 + row[h.client] * lane
        x1, x2 = x(h.call), x(hi if math.isinf(h.ret) else h.ret)
        color = "#c62828" if h.id in ids else "#b0b0b0"
        label = f"{h.text}: {h.result[0]} {h.result[1]}"[:60]
        out.append(
            f'<rect x="{x1:.1f}" y="{y + 2}" width="{max(x2 - x1, 2):.1f}" height="18" fill="{color}" '
            f'opacity=".85"><title>{html.escape(label)}</title></rect>'
        )
        if h.id in ids:
            out.append(
                f'<text x="{x1 + 3:.1f}" y="{y + 15}" fill="#fff">'
                f"{html.escape(label[: int((x2 - x1) / 7) or 1])}"
                f"</text>"
            )
    out.append(
        f'<text x="{left}" y="{height - 6}">{lo * 1000:.0f} ms</text>'
        f'<text x="{width - 80}" y="{height - 6}">{hi * 1000:.0f} ms</text></svg>'
    )
    return "".join(out)
