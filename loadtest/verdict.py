"""The readiness verdict: Locust's merged statistics and the flows' counters against Google's thresholds.

Per method: requests, transport errors, HTTP errors, business failures and answers over the latency budget
apart; the error rate Google would see (business failures count for CreateBooking, UpdateBooking and
CreateLease, false availability for the availability methods, and every answer over budget, as Google
treats a late answer as failed); p50/p95/p99/max. Then the "Booking Server Ready" milestones, simulated over
sliding windows of recent requests. READY when every judged threshold and milestone holds and the audit
found nothing; otherwise NOT READY with one reason per broken threshold.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

from loadtest.thresholds import (
    BUSINESS_FAILURE_IS_ERROR,
    MILESTONE_WINDOW_SHARE,
    MILESTONES,
    THRESHOLDS,
    Milestone,
)

METHOD_ORDER = (
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateLease",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
    "HealthCheck",
)


def method_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(stats, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99):
        s = stats[name]
        n = int(s.get("requests", 0))
        counts = {
            k: int(s.get(k, 0)) for k in ("transport_errors", "http_errors", "business_failures", "slow")
        }
        counts["false_availability"] = int(s.get("false_availability", 0))
        errors = counts["transport_errors"] + counts["http_errors"] + counts["slow"]
        errors += counts["false_availability"]
        if name in BUSINESS_FAILURE_IS_ERROR:
            errors += counts["business_failures"]
        errors = min(errors, n)
        t = THRESHOLDS.get(name)
        row: dict[str, Any] = {
            "method": name,
            "requests": n,
            **counts,
            "errors": errors,
            "error_rate": round(errors / n, 5) if n else 0.0,
            **{k: round(float(s.get(k, 0.0)), 1) for k in ("p50", "p95", "p99", "max")},
            "threshold": None,
        }
        if name == "HealthCheck":
            row["threshold"] = {"max_error_rate": 0.0, "latency_budget_ms": None}
        elif t is not None:
            row["threshold"] = {"max_error_rate": t.max_error_rate, "latency_budget_ms": t.latency_budget_ms}
        rows.append(row)
    return rows


def threshold_checks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One check per threshold: each method's error rate and its p95 latency."""
    checks = []
    for r in rows:
        t = r["threshold"]
        if t is None or not r["requests"]:
            continue
        pct = 100 * r["error_rate"]
        limit = 100 * t["max_error_rate"]
        checks.append(
            {
                "id": f"{r['method']}/error-rate",
                "group": "thresholds",
                "passed": r["error_rate"] <= t["max_error_rate"]
                if limit == 0
                else r["error_rate"] < t["max_error_rate"],
                "detail": f"{r['method']} error rate {pct:.2f} % ({r['errors']} of {r['requests']}); "
                f"Google's threshold {'0' if limit == 0 else '<' + format(limit, 'g')} %",
            }
        )
        if t["latency_budget_ms"] is not None:
            budget = t["latency_budget_ms"]
            checks.append(
                {
                    "id": f"{r['method']}/latency-p95",
                    "group": "thresholds",
                    "passed": r["p95"] <= budget,
                    "detail": f"{r['method']} latency p95 {r['p95']:.0f} ms (max {r['max']:.0f} ms); "
                    f"Google's budget {budget / 1000:g} s ({r['slow']} answers over it)",
                }
            )
    return checks


def windows(codes: list[str], m: Milestone) -> dict[str, Any]:
    """Sliding windows of ``m.window`` requests: how many meet the milestone, the worst one, the last one."""
    n, w = len(codes), m.window
    out: dict[str, Any] = {
        "kind": m.kind,
        "title": m.title,
        "window": w,
        "requests": n,
        "min_without_errors": m.min_without_errors,
        "min_without_failures": m.min_without_failures,
    }
    if n < w:
        out.update(windows=0, windows_met=0, share_met=None, met=None, worst=None, last=None)
        return out
    err = [0, *accumulate(1 if c == "error" else 0 for c in codes)]
    bad = [0, *accumulate(0 if c == "ok" else 1 for c in codes)]
    met, worst = 0, None
    last: dict[str, Any] = {}
    for i in range(n - w + 1):
        e, b = err[i + w] - err[i], bad[i + w] - bad[i]
        ok = (w - e) / w >= m.min_without_errors and (w - b) / w >= m.min_without_failures
        met += ok
        window = {"start": i, "errors": e, "failures": b - e, "met": ok}
        if worst is None or (b, e) > (worst["errors"] + worst["failures"], worst["errors"]):
            worst = window
        last = window
    total = n - w + 1
    share = met / total
    out.update(
        windows=total,
        windows_met=met,
        share_met=round(share, 4),
        met=share >= MILESTONE_WINDOW_SHARE,
        worst=worst,
        last=last,
    )
    return out


def milestone_checks(events: dict[str, list[Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    results, checks = [], []
    for m in MILESTONES:
        codes = [c for _, c in sorted(events.get(m.kind, []), key=lambda e: e[0])]
        r = windows(codes, m)
        results.append(r)
        need = f"{100 * m.min_without_errors:g} % without errors"
        if m.min_without_failures:
            need += f", {100 * m.min_without_failures:g} % without failures"
        if r["met"] is None:
            detail = (
                f"{m.title}: only {r['requests']} requests, fewer than one window of {m.window}: not judged"
            )
        else:
            detail = (
                f"{m.title}: {r['windows_met']} of {r['windows']} windows of {m.window} met {need} "
                f"({100 * r['share_met']:.1f} %, {100 * MILESTONE_WINDOW_SHARE:g} % needed); worst window: "
                f"{r['worst']['errors']} errors, {r['worst']['failures']} failures"
            )
        checks.append(
            {
                "id": f"milestone/{m.kind}",
                "group": "milestones",
                "passed": r["met"] is not False,
                "skipped": r["met"] is None,
                "detail": detail,
            }
        )
    return results, checks


def verdict(
    rows: list[dict[str, Any]], checks: list[dict[str, Any]], audit_deviations: list[dict[str, Any]]
) -> tuple[str, list[str]]:
    reasons = [c["detail"] for c in checks if not c["passed"]]
    judged = {r["method"] for r in rows if r["requests"]}
    if not judged & {"BatchAvailabilityLookup", "CheckAvailability"}:
        reasons.append("no availability request was answered: nothing to judge availability by")
    if "CreateBooking" not in judged:
        reasons.append("no CreateBooking was sent: nothing to judge bookings by")
    errors = [d for d in audit_deviations if d.get("severity") == "error"]
    if errors:
        ids = sorted({d["rule_id"] for d in errors})
        reasons.append(f"the audit found {len(errors)} deviation(s): {', '.join(ids)}")
    return ("READY" if not reasons else "NOT READY"), reasons
