"""The load report: one JSON document (schema: ``loadtest/load_report.schema.json``), and its JUnit and HTML
renderings. The HTML page is self-contained: inline CSS and inline SVG charts, no script, no network.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("load_report.schema.json")
FORMAT = "bookcheck-load-report/1"
COLORS = ("#1a73e8", "#d93025", "#188038", "#f29900", "#9334e6", "#12b5cb", "#e52592", "#5f6368")


def schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return doc


def all_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Threshold and milestone checks, then one audit check per catalogue rule that was broken (or a
    single passing audit check)."""
    checks = list(report["checks"])
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for d in report["audit"]["deviations"]:
        by_rule.setdefault(d["rule_id"], []).append(d)
    for rule_id, devs in sorted(by_rule.items()):
        checks.append(
            {
                "id": f"audit/{rule_id}",
                "group": "audit",
                "passed": devs[0]["severity"] != "error",
                "detail": f"{len(devs)} deviation(s): {devs[0]['message']}",
            }
        )
    if not by_rule:
        checked = ", ".join(f"{k} {v}" for k, v in sorted(report["audit"]["checked"].items()))
        checks.append(
            {
                "id": "audit/clean",
                "group": "audit",
                "passed": True,
                "detail": f"no deviation ({checked or 'nothing to check'})",
            }
        )
    return checks


def write_json(report: dict[str, Any], path: str) -> None:
    Path(path).write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_junit(report: dict[str, Any], path: str) -> None:
    checks = all_checks(report)
    suite = ET.Element(
        "testsuite",
        name="bookcheck load",
        tests=str(len(checks)),
        failures=str(sum(1 for c in checks if not c["passed"])),
        skipped=str(sum(1 for c in checks if c.get("skipped"))),
        time=f"{report['duration_sec']:.1f}",
    )
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname=f"load.{c['group']}", name=c["id"])
        if c.get("skipped"):
            ET.SubElement(case, "skipped", message=c["detail"])
        elif not c["passed"]:
            ET.SubElement(case, "failure", message=c["detail"]).text = c["detail"]
        else:
            ET.SubElement(case, "system-out").text = c["detail"]
    suites = ET.Element("testsuites", name=f"bookcheck load: {report['verdict']}")
    suites.append(suite)
    ET.indent(suites)
    Path(path).write_text(
        ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8"
    )


# ------------------------------------------------------------------------------------------------ HTML


def series(report: dict[str, Any], key: str) -> dict[str, list[tuple[float, float]]]:
    """Per method: (t, value) where value is req/s (``rate``) or a percentile of that second."""
    out: dict[str, list[tuple[float, float]]] = {}
    prev: dict[str, Any] = {}
    prev_t = 0.0
    for point in report["timeline"]:
        dt = max(point["t"] - prev_t, 1e-6)
        for m, v in point["methods"].items():
            if key == "rate":
                value = (v["requests"] - prev.get(m, {}).get("requests", 0)) / dt
            else:
                value = v[key]
            out.setdefault(m, []).append((point["t"], value))
        prev, prev_t = point["methods"], point["t"]
    return out


def svg_chart(
    title: str, data: dict[str, list[tuple[float, float]]], unit: str, limit: float | None = None
) -> str:
    w, h, left, bottom = 640, 220, 56, 28
    xs = [t for pts in data.values() for t, _ in pts] or [0.0, 1.0]
    ys = [v for pts in data.values() for _, v in pts] + ([limit] if limit else []) + [1.0]
    x_max, y_max = max(xs) or 1.0, max(ys) * 1.1

    def sx(t: float) -> float:
        return left + (w - left - 10) * t / x_max

    def sy(v: float) -> float:
        return h - bottom - (h - bottom - 10) * v / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 20 * len(data)}" role="img">',
        f"<title>{html.escape(title)}</title>",
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#888"/>',
        f'<line x1="{left}" y1="10" x2="{left}" y2="{h - bottom}" stroke="#888"/>',
        f'<text x="{left - 4}" y="16" text-anchor="end" font-size="10">{y_max:.0f}</text>',
        f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end" font-size="10">0 {unit}</text>',
        f'<text x="{w - 10}" y="{h - 10}" text-anchor="end" font-size="10">{x_max:.0f} s</text>',
    ]
    if limit:
        parts.append(
            f'<line x1="{left}" y1="{sy(limit):.1f}" x2="{w - 10}" y2="{sy(limit):.1f}" '
            f'stroke="#d93025" stroke-dasharray="4 3"/><text x="{w - 12}" y="{sy(limit) - 3:.1f}" '
            f'text-anchor="end" font-size="10" fill="#d93025">budget {limit:.0f} {unit}</text>'
        )
    for i, (name, pts) in enumerate(sorted(data.items())):
        color = COLORS[i % len(COLORS)]
        line = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in pts)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{line}"/>')
        parts.append(
            f'<rect x="{left}" y="{h + 20 * i - 2}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + 16}" y="{h + 20 * i + 7}" font-size="11">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in cols)

    def cell(key: str, value: Any) -> str:
        text = f"{100 * value:.2f} %" if key == "error_rate" else str(value)
        return f"<td>{html.escape(text)}</td>"

    body = "".join("<tr>" + "".join(cell(k, r.get(k, "")) for k, _ in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


CSS = """body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px;color:#202124}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #dadce0;padding:4px 8px;text-align:left}
.READY{color:#188038}.NOT{color:#d93025}.fail{color:#d93025}.pass{color:#188038}pre{white-space:pre-wrap;
background:#f8f9fa;padding:8px;font-size:12px}"""


def check_row(c: dict[str, Any]) -> str:
    mark = "skipped" if c.get("skipped") else "pass" if c["passed"] else "FAIL"
    css = "pass" if c["passed"] else "fail"
    cells = f"<td>{html.escape(c['id'])}</td><td>{html.escape(c['detail'])}</td>"
    return f'<tr><td class="{css}">{mark}</td>{cells}</tr>'


def deviation_html(d: dict[str, Any]) -> str:
    return (
        f"<h3>{html.escape(d['rule_id'])} ({html.escape(d['level'])}, {html.escape(d['spec'])})</h3>"
        f"<p>{html.escape(d['message'])}</p><p><i>{html.escape(d['rule'])}</i></p>"
        f"<pre>{html.escape(json.dumps(d['evidence'], indent=1)[:4000])}</pre>"
    )


METHOD_COLUMNS = [
    ("method", "method"),
    ("requests", "requests"),
    ("transport_errors", "transport errors"),
    ("http_errors", "HTTP errors"),
    ("business_failures", "business failures"),
    ("slow", "over budget"),
    ("error_rate", "error rate"),
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("p99", "p99 ms"),
    ("max", "max ms"),
]


def render_html(report: dict[str, Any]) -> str:
    v, cfg, audit = report["verdict"], report["config"], report["audit"]
    rows = "".join(check_row(c) for c in all_checks(report))
    devs = "".join(deviation_html(d) for d in audit["deviations"])
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in report["reasons"])
    reasons = reasons or "<li>every threshold, milestone and audit check holds</li>"
    has_bal = any(r["method"] == "BatchAvailabilityLookup" for r in report["methods"])
    run = (
        f"{html.escape(report['target'])} · {report['duration_sec']:.0f} s · {cfg['users']} users · "
        f"{cfg['workers']} worker(s) · mix {html.escape(cfg['mix']['name'])} · exit {report['exit_code']}"
    )
    made = (
        f"{audit['bookings_made']} bookings made, {audit['resent_tokens']} tokens resent, {audit['rushes']} "
        f"rushes; cleanup: {html.escape(json.dumps(report['cleanup']))}"
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bookcheck load: {html.escape(v)}</title><style>{CSS}</style></head><body>
<h1 class="{v.split()[0]}">{html.escape(v)}</h1>
<p>{run}</p>
<ul>{reasons}</ul>
<h2>Per method</h2>{table(report["methods"], METHOD_COLUMNS)}
<h2>Throughput (requests per second)</h2>{svg_chart("throughput", series(report, "rate"), "req/s")}
<h2>Latency p95 per second (ms; dashed: BatchAvailabilityLookup's 1.5 s budget)</h2>
{svg_chart("p95", series(report, "p95"), "ms", 1500.0 if has_bal else None)}
<h2>Latency p50 per second (ms)</h2>{svg_chart("p50", series(report, "p50"), "ms")}
<h2>Checks</h2><table><tr><th></th><th>check</th><th>detail</th></tr>{rows}</table>
<h2>Audit</h2><p>{made}</p>{devs}
</body></html>
"""


def write_html(report: dict[str, Any], path: str) -> None:
    Path(path).write_text(render_html(report), encoding="utf-8")


WRITERS = {"json": write_json, "junit": write_junit, "html": write_html}
