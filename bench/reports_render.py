"""How long each report writer takes on a large synthetic run (prints figures; no assertions).

    .venv/bin/python bench/reports_render.py [--scenarios 400] [--checks 12] [--deviation-every 7]

A run of 400 scenarios x 12 checks with a deviation (two exchanges, JSON bodies) on every 7th check is far
bigger than any real suite; the figures say whether report writing can ever matter next to the run itself.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from harness.results import (
    CheckResult,
    Exchange,
    ExitCode,
    HttpMessage,
    MethodStats,
    Rule,
    RunResult,
    ScenarioResult,
    Status,
)
from reports import FORMATS, google_summary, write_report
from reports.console import ConsoleReporter


def _exchange(i: int) -> Exchange:
    body = {
        "slot": {
            "merchant_id": f"m{i}",
            "service_id": "s1",
            "start_sec": "1767225600",
            "duration_sec": "3600",
        },
        "user_information": {"user_id": f"u{i}", "given_name": "Zoë", "email": "z@example.com"},
        "idempotency_token": f"tok-{i}",
    }
    return Exchange(
        "CreateBooking",
        "rest",
        HttpMessage(
            {"Content-Type": "application/json"}, body, "POST", "http://127.0.0.1:1/v3/CreateBooking"
        ),
        HttpMessage(
            {"Content-Type": "application/json"},
            {"booking": {"booking_id": f"b{i}", **body}},
            status=200,
            status_text="OK",
        ),
        12.5,
        scenario_id=f"g{i % 9}/s{i}",
        step="book",
    )


def build(scenarios: int, checks: int, every: int) -> RunResult:
    rules = tuple(
        Rule(f"rule/r{r}", "MUST" if r % 3 else "SHOULD", f"§3.{r % 11}", f"rule {r} text") for r in range(90)
    )
    out = []
    n = 0
    for s in range(scenarios):
        sid = f"g{s % 9}/s{s}"
        items = []
        for c in range(checks):
            n += 1
            rule = rules[n % len(rules)]
            deviate = n % every == 0
            status = (Status.FAIL if rule.level == "MUST" else Status.WARN) if deviate else Status.PASS
            items.append(
                CheckResult(
                    rule.id,
                    status,
                    rule.severity,
                    rule.spec,
                    sid,
                    f"step{c}",
                    "message",
                    expected="x" if deviate else None,
                    actual="y" if deviate else None,
                    exchanges=(_exchange(n), _exchange(n + 1)) if deviate else (),
                    reproduce="curl -sS -X POST http://127.0.0.1:1/v3/CreateBooking" if deviate else None,
                )
            )
        worst = min(
            (i.status for i in items),
            key=[Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS].index,
        )
        out.append(ScenarioResult(sid, f"scenario {s}", worst, tuple(items), duration_ms=50.0))
    methods = (
        MethodStats("CreateBooking", n, 3, 1, 10.0, 20.0, 30.0, 4000.0),
        MethodStats("HealthCheck", 1, 0, 0, 1, 1, 1),
    )
    return RunResult(
        "http://127.0.0.1:1",
        "rest",
        "conformance",
        1,
        "2026-01-01T00:00:00Z",
        1000.0,
        tuple(out),
        rules,
        ExitCode.DEVIATIONS,
        methods=methods,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=400)
    parser.add_argument("--checks", type=int, default=12)
    parser.add_argument("--deviation-every", type=int, default=7)
    args = parser.parse_args()
    result = build(args.scenarios, args.checks, args.deviation_every)
    print(
        f"{len(result.scenarios)} scenarios, {len(result.checks())} checks, "
        f"{len(result.deviations())} deviations"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            path = Path(tmp) / f"report.{fmt}"
            start = time.perf_counter()
            write_report(fmt, str(path), result)
            took = time.perf_counter() - start
            print(f"{fmt:<8} {took * 1000:8.0f} ms  {path.stat().st_size / 1e6:6.1f} MB")
    start = time.perf_counter()
    ConsoleReporter(io.StringIO(), color=False, verbose=False).render_summary(result)
    print(f"{'console':<8} {(time.perf_counter() - start) * 1000:8.0f} ms  (summary)")
    start = time.perf_counter()
    google_summary.render(result)
    print(f"{'google':<8} {(time.perf_counter() - start) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
