"""The ``bookcheck load`` process: start Locust's master and workers as their own processes, wait for them
(bounded), then judge, audit, clean up and write the reports. Nothing here runs on gevent.

Children run in their own sessions, so a Ctrl-C in the terminal reaches only this process; it passes the
signal to the master, which stops the users, lets in-flight actions finish and writes what it has. The audit
and cleanup then run as after a normal end, and the exit code is 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from booking_protocol.errors import ExitCode, TargetUnreachable, UsageError
from booking_protocol.feed import FeedSlot
from harness.config import RunConfig
from harness.targets import make_target
from loadtest.audit import Audit, cleanup
from loadtest.plan import MAX_PLAN_SLOTS, LoadPlan
from loadtest.report import FORMAT, WRITERS
from loadtest.verdict import method_rows, milestone_checks, threshold_checks, verdict

PY = sys.executable
ROOT = str(Path(__file__).resolve().parent.parent)
#: Extra time a run may take beyond --duration (start, drain, flush) before it is stopped from outside.
GRACE_SEC = 60.0


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def choose_slots(config: RunConfig, now: float, seed: int) -> tuple[FeedSlot, ...]:
    """Bookable future slots of the feed (after --merchant/--service/--min-lead), in feed-key order."""
    slots = [
        s
        for s in config.feed or ()
        if s.spots_open > 0
        and s.start_sec >= now + config.min_lead_sec
        and (config.merchant is None or s.merchant_id == config.merchant)
        and (config.service is None or s.service_id == config.service)
    ]
    if not slots:
        raise UsageError("--feed has no bookable slot (open spots, starting after --min-lead) to load")
    if len(slots) > MAX_PLAN_SLOTS:
        slots = random.Random(seed).sample(slots, MAX_PLAN_SLOTS)
    return tuple(sorted(slots, key=lambda s: s.key))


async def preflight(config: RunConfig) -> None:
    target = make_target(config.target)
    try:
        await target.preflight()
    finally:
        await target.close()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def spawn(args: Sequence[str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([PY, *args], cwd=ROOT, env=child_env(), start_new_session=True, text=True, **kw)


@contextlib.contextmanager
def forwarding(child: subprocess.Popen[str], seen: dict[str, int]) -> Iterator[None]:
    """SIGINT/SIGTERM to this process go to ``child`` (once), and are remembered for the exit code."""
    codes = {signal.SIGINT: 130, signal.SIGTERM: 143}

    def handler(sig: int, _frame: Any) -> None:
        seen.setdefault("code", codes[signal.Signals(sig)])
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(sig)

    old = {s: signal.signal(s, handler) for s in codes}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def stop_all(procs: Sequence[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_worker(master_host: str, master_port: int) -> int:
    """``--worker``: one Locust worker process until its master ends the run."""
    seen: dict[str, int] = {}
    w = spawn(["-m", "loadtest.worker", "--master-host", master_host, "--master-port", str(master_port)])
    with forwarding(w, seen):
        code = w.wait()
    return seen.get("code", code)


def run_locust(plan: LoadPlan, local_workers: int, stream: TextIO) -> dict[str, Any]:
    """Master (+ local workers) until the run ends; returns the master's raw results."""
    seen: dict[str, int] = {}
    master = spawn(["-m", "loadtest.master"], stdin=subprocess.PIPE)
    assert master.stdin is not None
    master.stdin.write(json.dumps(plan.to_json()))
    master.stdin.close()
    port = str(plan.master_bind_port)
    workers = [
        spawn(["-m", "loadtest.worker", "--master-host", "127.0.0.1", "--master-port", port])
        for _ in range(local_workers)
    ]
    bound = plan.duration + plan.expect_workers_timeout + plan.timeout + GRACE_SEC
    try:
        with forwarding(master, seen):
            try:
                master.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                print(
                    f"bookcheck load: the Locust master did not end within {bound:.0f} s; stopping it",
                    file=stream,
                )
                master.send_signal(signal.SIGTERM)
                master.wait(timeout=30)
    finally:
        stop_all([master, *workers])
    try:
        results: dict[str, Any] = json.loads(Path(plan.results_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise TargetUnreachable("the Locust master ended without results (see its messages above)") from None
    if "code" in seen:
        results["exit"] = seen["code"]
    return results


async def audit_and_cleanup(
    plan: LoadPlan, config: RunConfig, records: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    target = make_target(config.target)
    try:
        a = Audit(plan, target, records)
        audit = await a.run()
        if config.keep_bookings:
            return audit, {"cancelled": 0, "cancelled_during_run": 0, "failed": [], "kept": True}
        return audit, await cleanup(target, a.ledger)
    finally:
        await target.close()


def build_report(
    plan: LoadPlan, config: RunConfig, results: dict[str, Any], audit: dict[str, Any], cleaned: dict[str, Any]
) -> dict[str, Any]:
    rows = method_rows(results.get("stats", {}))
    milestones, m_checks = milestone_checks(results.get("events", {}))
    checks = threshold_checks(rows) + m_checks
    v, reasons = verdict(rows, checks, audit["deviations"])
    if results.get("error"):
        v, reasons = "NOT READY", [results["error"], *reasons]
    interrupted = int(results.get("exit", 0)) in (130, 143)
    if interrupted:
        reasons.insert(0, "interrupted: the figures cover only the part that ran")
    code = int(results["exit"]) if interrupted else (0 if v == "READY" else 1)
    if results.get("error") and not interrupted:
        code = int(ExitCode.UNREACHABLE)  # the run could not take place (no workers)
    started = results.get("started") or time.time()
    return {
        "format": FORMAT,
        "tool_version": config.tool_version,
        "target": config.target.url,
        "transport": "grpc" if config.target.url.startswith("grpc") else "rest",
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "duration_sec": float(results.get("duration", 0.0)),
        "interrupted": interrupted,
        "config": {
            "users": plan.users,
            "spawn_rate": plan.spawn_rate,
            "rps": plan.rps,
            "workers": plan.workers,
            "duration": plan.duration,
            "mix": plan.mix,
            "profile": plan.profile,
            "slots": len(plan.slots),
        },
        "verdict": v,
        "exit_code": code,
        "reasons": reasons,
        "methods": rows,
        "milestones": milestones,
        "checks": checks,
        "audit": audit,
        "cleanup": cleaned,
        "timeline": results.get("timeline", []),
        "notes": {k: int(n) for k, n in results.get("notes", {}).items()},
        "workers": results.get("per_worker", []),
    }


def print_summary(report: dict[str, Any], stream: TextIO) -> None:
    print(
        f"\n{'method':26} {'requests':>8} {'errors':>7} {'rate':>7} {'p50':>7} {'p95':>7} {'p99':>7}",
        file=stream,
    )
    for r in report["methods"]:
        print(
            f"{r['method']:26} {r['requests']:8d} {r['errors']:7d} {100 * r['error_rate']:6.2f}% "
            f"{r['p50']:6.0f}ms {r['p95']:6.0f}ms {r['p99']:6.0f}ms",
            file=stream,
        )
    a, c = report["audit"], report["cleanup"]
    print(
        f"audit: {a['bookings_made']} bookings, {a['resent_tokens']} resent tokens, {a['rushes']} rushes, "
        f"{len(a['deviations'])} deviation(s)",
        file=stream,
    )
    for d in a["deviations"]:
        print(f"  FAIL {d['rule_id']} [{d['spec']}]: {d['message']}", file=stream)
    kept = " (kept: --keep-bookings)" if c["kept"] else ""
    print(f"cleanup: {c['cancelled']} cancelled, {len(c['failed'])} failed{kept}", file=stream)
    print(f"{report['verdict']}", file=stream)
    for r in report["reasons"]:
        print(f"  - {r}", file=stream)


def execute(
    plan_values: dict[str, Any],
    config: RunConfig,
    *,
    local_workers: int,
    reports: Sequence[tuple[str, str]],
    stream: TextIO,
) -> int:
    """The whole ``load`` run after flag parsing: preflight, Locust, verdict, audit, cleanup, reports."""
    asyncio.run(preflight(config))
    opts = config.target
    creds = opts.credentials
    with tempfile.TemporaryDirectory(prefix="bookcheck-load-") as tmp:
        plan = LoadPlan(
            target=opts.url,
            user=creds.user if creds else None,
            password=creds.password if creds else None,
            timeout=opts.timeout,
            trailing_slash=opts.trailing_slash,
            insecure=opts.insecure,
            ca_file=opts.ca_file,
            profile=config.profile.as_dict(),
            slots=choose_slots(config, time.time(), config.seed),
            nonce=config.nonce or secrets.token_hex(3),
            seed=config.seed,
            results_path=str(Path(tmp) / "results.json"),
            **plan_values,
        )
        if not plan.master_bind_port:
            plan = LoadPlan(**{**plan.__dict__, "master_bind_port": free_port()})
        results = run_locust(plan, local_workers, stream)
    if results.get("error") and not results.get("stats"):
        print(f"bookcheck load: {results['error']}", file=sys.stderr)
    audit, cleaned = asyncio.run(audit_and_cleanup(plan, config, results.get("records", {})))
    report = build_report(plan, config, results, audit, cleaned)
    print_summary(report, stream)
    for fmt, path in reports:
        WRITERS[fmt](report, path)
        print(f"wrote {fmt} report: {path}", file=stream)
    return int(report["exit_code"]) if report["exit_code"] else int(ExitCode.OK)
