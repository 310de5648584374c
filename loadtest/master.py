"""The Locust master of ``bookcheck load``: ``python -m loadtest.master`` with the plan as JSON on stdin.

It waits for its workers, hands them the plan, starts the users, prints progress every few seconds, stops
by itself after ``duration`` (or on SIGINT/SIGTERM), lets in-flight actions finish, collects what every
worker recorded and writes the raw results (Locust's merged statistics, a per-second timeline, the records
for the audit) to ``plan.results_path``. Verdict, audit and reports happen afterwards, outside gevent.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections import defaultdict
from typing import Any

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import gevent  # noqa: E402
from locust import events  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import MasterRunner  # noqa: E402

from loadtest.plan import LoadPlan  # noqa: E402
from loadtest.users import origin, user_class_for  # noqa: E402

PROGRESS_EVERY = 3.0
SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def percentile(hist: dict[int, int], q: float) -> float:
    """Percentile of a Locust response-time histogram ({rounded ms: count})."""
    total = sum(hist.values())
    if not total:
        return 0.0
    need, seen = q * total, 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= need:
            return float(ms)
    return float(max(hist))


class Collector:
    """Merges what workers ship with their stats reports; samples Locust's statistics once a second."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.records: dict[str, list[Any]] = defaultdict(list)
        self.notes: dict[str, int] = defaultdict(int)
        self.timeline: list[dict[str, Any]] = []
        self.last_hist: dict[str, dict[int, int]] = {}
        self.flushed: set[str] = set()
        self.drained: set[str] = set()
        self.per_worker: dict[str, int] = defaultdict(int)
        env.events.worker_report.add_listener(self.on_report)  # type: ignore[no-untyped-call]

    def on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        bc = data.get("bookcheck") or {}
        for method, counts in bc.get("counters", {}).items():
            self.per_worker[client_id] += int(counts.get("requests", 0))
            for k, v in counts.items():
                self.counters[method][k] += int(v)
        for kind, evs in bc.get("events", {}).items():
            self.events[kind].extend(evs)
        for kind, recs in bc.get("records", {}).items():
            self.records[kind].extend(recs)
        for k, v in bc.get("notes", {}).items():
            self.notes[k] += int(v)

    def entries(self) -> dict[str, Any]:
        return {name: e for (name, _), e in self.env.stats.entries.items()}

    def sample(self, t: float) -> dict[str, Any]:
        point: dict[str, Any] = {"t": round(t, 2), "methods": {}}
        for name, e in self.entries().items():
            hist = dict(e.response_times)
            prev = self.last_hist.get(name, {})
            delta = {ms: n - prev.get(ms, 0) for ms, n in hist.items() if n - prev.get(ms, 0) > 0}
            self.last_hist[name] = hist
            point["methods"][name] = {
                "requests": e.num_requests,
                "failures": e.num_failures,
                "p50": percentile(delta, 0.50),
                "p95": percentile(delta, 0.95),
                "p99": percentile(delta, 0.99),
            }
        self.timeline.append(point)
        return point

    def fold_last(self, point: dict[str, Any]) -> None:
        """The sample taken after the final flush holds the run's last requests but covers a fraction of a
        second: fold its counts into the previous point instead of charting a spike."""
        if len(self.timeline) < 2:
            return
        self.timeline.pop()
        last = self.timeline[-1]["methods"]
        for name, m in point["methods"].items():
            last.setdefault(name, {**m, "p50": 0.0, "p95": 0.0, "p99": 0.0}).update(
                requests=m["requests"], failures=m["failures"]
            )

    def final_stats(self) -> dict[str, Any]:
        out = {}
        for name, e in self.entries().items():
            out[name] = {
                "requests": e.num_requests,
                "locust_failures": e.num_failures,
                "p50": float(e.get_response_time_percentile(0.50) or 0),
                "p95": float(e.get_response_time_percentile(0.95) or 0),
                "p99": float(e.get_response_time_percentile(0.99) or 0),
                "max": float(e.max_response_time or 0),
                "avg": float(e.avg_response_time or 0),
                **{k: v for k, v in self.counters.get(name, {}).items() if k != "requests"},
            }
        return out


def progress_line(
    c: Collector, point: dict[str, Any], previous: dict[str, Any] | None, elapsed: float
) -> str:
    methods = point["methods"]
    total = sum(m["requests"] for m in methods.values())
    fails = sum(m["failures"] for m in methods.values())
    before = sum(m["requests"] for m in (previous or {"methods": {}})["methods"].values())
    dt = point["t"] - (previous["t"] if previous else 0.0) or 1.0
    old = (previous or {"methods": {}})["methods"]
    moved = {n: m for n, m in methods.items() if m["requests"] > old.get(n, {}).get("requests", 0)}
    p95 = ", ".join(f"{short(n)} {m['p95']:.0f}ms" for n, m in sorted(moved.items()))
    return (
        f"load {elapsed:5.0f}s  {(total - before) / dt:7.1f} req/s  {total} requests  {fails} failures"
        f"  p95: {p95 or '-'}"
    )


def short(method: str) -> str:
    return {"BatchAvailabilityLookup": "BAL", "CheckAvailability": "Check", "GetBookingStatus": "Status"}.get(
        method, method
    )


def wait_for_workers(runner: MasterRunner, plan: LoadPlan, stop: dict[str, int]) -> bool:
    deadline = time.monotonic() + plan.expect_workers_timeout
    announced = -1
    while len(runner.clients.ready) < plan.workers:
        if stop or time.monotonic() > deadline:
            return False
        if len(runner.clients.ready) != announced and not plan.quiet:
            announced = len(runner.clients.ready)
            print(f"load: waiting for workers ({announced}/{plan.workers} connected)", flush=True)
        gevent.sleep(0.1)
    return True


def wait_until(cond: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        gevent.sleep(0.05)


def main() -> int:
    plan = LoadPlan.from_json(json.load(sys.stdin))
    env = Environment(user_classes=[user_class_for(plan)], events=events, host=origin(plan.target))
    runner = env.create_master_runner(plan.master_bind_host, plan.master_bind_port)
    assert isinstance(runner, MasterRunner)
    c = Collector(env)
    runner.register_message("bookcheck_flushed", lambda environment, msg, **_: c.flushed.add(msg.node_id))
    runner.register_message("bookcheck_drained", lambda environment, msg, **_: c.drained.add(msg.node_id))
    stop: dict[str, int] = {}
    for sig, code in SIGNALS.items():
        gevent.signal_handler(sig, lambda code=code: stop.setdefault("code", code))
    if plan.web:
        env.create_web_ui("127.0.0.1", plan.web_port)
        print(f"load: Locust's web UI on http://127.0.0.1:{plan.web_port}", flush=True)
    result: dict[str, Any] = {"workers": plan.workers, "error": None}
    if not wait_for_workers(runner, plan, stop):
        result["error"] = f"only {len(runner.clients.ready)} of {plan.workers} workers connected"
        result["exit"] = stop.get("code", 3)
        runner.quit()
        return finish(plan, c, result, 0.0, 0.0)
    runner.send_message("bookcheck_plan", plan.worker_part())
    start = time.time()
    runner.start(plan.users, plan.spawn_rate)
    previous = None
    next_progress = PROGRESS_EVERY
    while not stop and time.time() - start < plan.duration:
        gevent.sleep(min(1.0, max(0.05, plan.duration - (time.time() - start))))
        point = c.sample(time.time() - start)
        if not plan.quiet and point["t"] >= next_progress:
            print(progress_line(c, point, previous, point["t"]), flush=True)
            previous, next_progress = point, next_progress + PROGRESS_EVERY
    ran = time.time() - start
    clients = {w.id for w in runner.clients.all}
    runner.send_message("bookcheck_drain", {"timeout": plan.timeout + 5})
    wait_until(lambda: clients <= c.drained, plan.timeout + 10)
    runner.send_message("bookcheck_flush", {})
    wait_until(lambda: clients <= c.flushed, 10)
    c.fold_last(c.sample(time.time() - start))
    runner.quit()  # users are idle and every record is in: no need for Locust's graceful stop
    result["exit"] = stop.get("code", 0)
    return finish(plan, c, result, start, ran)


def finish(plan: LoadPlan, c: Collector, result: dict[str, Any], start: float, ran: float) -> int:
    result.update(
        started=start,
        duration=round(ran, 3),
        stats=c.final_stats(),
        counters={m: dict(v) for m, v in c.counters.items()},
        timeline=c.timeline,
        events={k: sorted(v) for k, v in c.events.items()},
        records={k: v for k, v in c.records.items()},
        notes=dict(c.notes),
        per_worker=[{"id": k, "requests": v} for k, v in sorted(c.per_worker.items())],
    )
    with open(plan.results_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return int(result["exit"])


if __name__ == "__main__":
    sys.exit(main())
