"""Per-method statistics of a run (calls, failed calls, non-2xx answers, p50/p95/max latency against the
spec's budget), for the reports' method table. Cleanup calls are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.checks import BUDGETS_MS
from harness.results import Exchange, MethodStats, ScenarioResult, Status


def _percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (0.0 for none)."""
    if not values:
        return 0.0
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[k]


def method_stats(
    scenario_results: Sequence[ScenarioResult], exchanges: Sequence[Exchange]
) -> tuple[MethodStats, ...]:
    """One row per operation, sorted by name. A call counts as failed when it got no response or is the
    decisive exchange of a (not baselined) FAIL."""
    keyed: set[tuple[str, str, str, float]] = set()
    for sr in scenario_results:
        for c in sr.checks:
            if c.status == Status.FAIL and not c.baselined:
                for e in c.exchanges:
                    if e.step == c.step:
                        keyed.add((e.scenario_id, e.step, e.operation, e.elapsed_ms))
    by_op: dict[str, list[Exchange]] = {}
    for e in exchanges:
        by_op.setdefault(e.operation, []).append(e)
    out = []
    for op in sorted(by_op):
        exs = by_op[op]
        times = [e.elapsed_ms for e in exs]
        failed = sum(
            1
            for e in exs
            if e.response is None or (e.scenario_id, e.step, e.operation, e.elapsed_ms) in keyed
        )
        non2xx = sum(
            1
            for e in exs
            if e.response is not None
            and e.response.status is not None
            and (
                (e.transport == "rest" and not 200 <= e.response.status < 300)
                or (e.transport == "grpc" and e.response.status != 0)
            )
        )
        budget = BUDGETS_MS.get(op)
        out.append(
            MethodStats(
                operation=op,
                calls=len(exs),
                failed_calls=failed,
                non_2xx=non2xx,
                p50_ms=_percentile(times, 0.5),
                p95_ms=_percentile(times, 0.95),
                max_ms=max(times) if times else 0.0,
                budget_ms=budget[0] if budget else None,
            )
        )
    return tuple(out)
